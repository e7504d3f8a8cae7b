"""Asks for the gateway's MAC from 0.0.0.0 (an ARP probe), so the router never learns the client."""

import random

import dns.message
import dns.rdatatype
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

BROADCAST, NOBODY, EVERYONE = "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255"
SEQ = 2**32


def journey(client, url: str, xid: int, known, given):
    """Fetch `url` from nothing (known None) or with what the first fetch kept; the page and what to keep."""
    name, port, path = split_url(url)
    if known is None:
        lease = dora(client, xid)
        router_mac = resolve_mac(client, "0.0.0.0", lease["router"])
    else:
        lease, router_mac = known["lease"], known["router_mac"]
    me = lease["address"]
    server = lookup(client, me, router_mac, lease["dns"][0], name)  # the resolver caches; my stub does not
    status, body = get(client, me, router_mac, server, port, name, path)
    return {"status": status, "body": body, "known": {"lease": lease, "router_mac": router_mac}}


def split_url(url: str):
    """"http://name[:port]/path" → (name, port, path)."""
    rest = url.split("://", 1)[1]
    where, _, path = rest.partition("/")
    name, _, port = where.partition(":")
    return name, int(port or 80), "/" + path


def dora(client, xid: int) -> dict:
    """DHCP by hand (the dhcp lab): the leased address, the router and the DNS servers."""
    mac = bytes.fromhex(client.mac.replace(":", ""))

    def exchange(options):
        client.send(Ether(dst=BROADCAST) / IP(src=NOBODY, dst=EVERYONE) / UDP(sport=68, dport=67)
                    / BOOTP(op=1, xid=xid, flags=0x8000, chaddr=mac) / DHCP(options=[*options, "end"]))
        reply = client.recv(lambda f: BOOTP in f and f[BOOTP].op == 2 and f[BOOTP].xid == xid, timeout=1.0)
        if reply is None:
            raise RuntimeError("no answer from a DHCP server")
        return reply, dict(o[:2] for o in reply[DHCP].options if isinstance(o, tuple))

    offer, offered = exchange([("message-type", "discover")])
    ack, options = exchange([("message-type", "request"), ("requested_addr", offer[BOOTP].yiaddr),
                             ("server_id", offered["server_id"])])
    if options.get("message-type") != 5:
        raise RuntimeError("the DHCP server refused the request")
    return {"address": ack[BOOTP].yiaddr, "router": options["router"], "dns": [options["name_server"]]}


def resolve_mac(client, me: str, ip: str) -> str:
    """ARP by hand (the arp lab), asking from my leased address."""
    answer = client.sr1(Ether(dst=BROADCAST) / ARP(op=1, hwsrc=client.mac, psrc=me, hwdst="00:00:00:00:00:00", pdst=ip))
    if answer is None:
        raise RuntimeError(f"nobody answered who-has {ip}")
    return answer[ARP].hwsrc


def lookup(client, me: str, router_mac: str, resolver: str, name: str) -> str:
    """One question to the resolver, RD=1: it walks the hierarchy, I wait for its answer."""
    query = dns.message.make_query(name, "A")
    sport = random.randrange(40000, 61000)
    client.send(Ether(dst=router_mac) / IP(src=me, dst=resolver) / UDP(sport=sport, dport=53) / Raw(query.to_wire()))
    frame = client.recv(lambda f: UDP in f and f[UDP].sport == 53 and f[UDP].dport == sport, timeout=1.0)
    if frame is None:
        raise RuntimeError(f"the resolver {resolver} did not answer")
    reply = dns.message.from_wire(bytes(frame[UDP].payload))
    return next(r.address for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A for r in rrset)


def get(client, me: str, router_mac: str, server: str, port: int, name: str, path: str):
    """TCP by hand, one GET on it, the response whole, and the close; (status, body)."""
    sport, isn = random.randrange(40000, 61000), random.randrange(SEQ)
    seq, ack = isn, 0

    def send(flags, data=b""):
        nonlocal seq
        options = [("MSS", 1460)] if "S" in flags else []
        client.send(Ether(dst=router_mac) / IP(src=me, dst=server)
                    / TCP(sport=sport, dport=port, flags=flags, seq=seq, ack=ack, options=options) / Raw(data))
        seq = (seq + len(data) + ("S" in flags) + ("F" in flags)) % SEQ

    def receive():
        frame = client.recv(lambda f: TCP in f and f[IP].src == server and f[TCP].dport == sport, timeout=1.0)
        if frame is None or "R" in str(frame[TCP].flags):
            raise RuntimeError("web went silent" if frame is None else "web reset the connection")
        return frame[TCP], frame[IP].len - frame[IP].ihl * 4 - frame[TCP].dataofs * 4

    send("S")
    synack, _ = receive()
    ack = (synack.seq + 1) % SEQ
    send("A")  # the handshake is complete: only now the request
    send("PA", f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
    data, closed = b"", False
    while not closed:  # web sends the response, then its FIN (Connection: close)
        tcp, length = receive()
        if tcp.seq != ack or (length == 0 and not tcp.flags.F):
            continue  # a bare ACK of my request, or a segment seen before
        data += bytes(tcp.payload)[:length]
        closed = bool(tcp.flags.F)
        ack = (ack + length + closed) % SEQ
        send("A")
    send("FA")
    while receive()[0].ack != seq:  # web acknowledges my FIN: the connection is closed both ways
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body
