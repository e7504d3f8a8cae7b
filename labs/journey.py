"""What happens when you type a URL: every layer in one ladder, from a machine that has nothing.

The client starts with no address and an empty ARP cache. The student's
`journey` rents an address (DHCP), asks for the gateway's MAC (ARP), asks the
lab's resolver for the name (DNS, while Unbound walks from the root on a cold
cache, on the server LAN), opens a TCP connection by hand, sends the GET,
reads the page and closes; then fetches again with what it kept, when no
DHCP, ARP or DNS walk is needed. The expectation is one Phase per stage, each
with its own pass/fail; the SYN is compared on both links (new MACs, the same
IP header). Steps an instructor gives (`--set given=dhcp,arp`) are offered by
protolab.live.given.
"""

from __future__ import annotations

import random
import re

import dns.message
import dns.rdatatype
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from protolab.errors import LabError
from protolab.expect import (Check, Either, Expectation, F, Fact, Flags, Header, Layer, Never, OnLink, Phase,
                             Request, Response, SentBy, Step, V)
from protolab.kernel.addresses import unconfigured
from protolab.kernel.neighbours import emptied_caches, neighbour
from protolab.lab import Lab, LabContext
from protolab.lab.api import Range
from protolab.live.bare import BareHost
from protolab.live.given import STEPS
from protolab.models.dnsplan import PlanError, plan_walk
from protolab.models.zones import DnsData
from protolab.servers import webroot
from protolab.servers.dnsmasq import DhcpConfig, DnsmasqServer
from protolab.servers.hierarchy import DnsServers
from protolab.servers.nginx import NginxConfig, NginxServer
from protolab.topology import load

INSTRUCTIONS = """\
You type http://www.example.lab/ and press Enter. Before the page appears,
every layer of the network has its turn, and in this lab you play all of them
by hand, from a machine that has nothing yet: no address (the lab took it
off; client.ip is "0.0.0.0") and nothing in its ARP cache.

  0. The URL.   "http" is the protocol (port 80 unless the URL says another),
     "www.example.lab" the server's name, "/" the file asked for. The browser
     turns that into an HTTP request, but a request needs a connection, a
     connection needs the server's address, and sending anything needs an
     address of your own.
  1. DHCP.      Rent an address: DISCOVER, OFFER, REQUEST, ACK, broadcast from
     0.0.0.0 (the dhcp lab). The ACK also tells you the router (option 3) and
     the DNS server (option 6, the lab's resolver 10.0.2.53).
  2. ARP.       The resolver and web live on the other LAN, so every frame you
     send goes to the router: ask who-has 10.0.1.1, from your new address (the
     arp lab). The router learns your MAC from that very question; your own
     kernel has no address and would answer nobody's ARP, so without it no
     answer could ever come back to you.
  3. DNS.       Ask the resolver, with RD=1 ("recursion desired": do the work for
     me), for the A record of the name. Your machine asks one question; the
     resolver, its cache cold, walks the hierarchy on the server LAN as you
     did in the dns lab (root, then lab., then example.lab., RD=0 each time)
     and answers you with RA=1. Do not ask the root yourself: it only refers.
  4. TCP.       The socket library hands the request to the protocol stack: a
     three-way handshake with web port 80 from a port you pick (the
     handshake lab), each segment in an IP packet (protocol 6) from your
     address to web's, in an Ethernet frame to the router's MAC. The router
     takes the frame off, looks the destination up in its routing table and
     sends the same IP packet on in a new frame: from its own MAC on the
     server LAN to web's. The MACs change at every hop; the IP header does
     not, but for the TTL, one less. The lab compares your SYN on both links.
  5. HTTP.      Only once the handshake is complete, the request in a segment:
       GET / HTTP/1.1\\r\\nHost: www.example.lab\\r\\n\\r\\n
     (Host names the site: nginx refuses an HTTP/1.1 request without it with
     400). Read the response: the status line, the headers and exactly
     Content-Length bytes of body, possibly over several segments. ACK what
     you receive, or web sends it again.
  6. Close.     A FIN each way, each acknowledged (the teardown lab). You may
     ask web to close first (a "Connection: close" header), or close first
     yourself once the body is whole: both are fine.

Then the lab calls your function a second time, handing back what the first
call kept. A real machine keeps its lease (it runs for 120 s here) and its ARP
cache, so the second fetch sends no DHCP and no ARP; and the resolver keeps
its answer, so if you ask it again it answers at once, without walking from
the root (or keep the address yourself, as a browser does). The ladder shows
the difference.

Your task: write `journey(client, url, xid, known, given)`.
  - `url`: what was typed ("http://www.example.lab/"); `xid`: the DHCP
    transaction id to use; `known`: None on the first call, and on the second
    whatever your first call returned under "known" (a dict of plain values:
    your lease, the router's MAC, ...). Nothing else survives between calls.
  - Return {"status": 200, "body": b"<!DOCTYPE html>...", "known": {...}}: the
    response's status code, its body exactly as sent, and what to keep.
  - Everything is a hand-made Ethernet frame, client.send(Ether(dst=...) / ...)
    with every address set yourself (client.mac; the leased address as
    IP(src=...): the client has no other), read with client.recv(match,
    timeout=1.0). client.sr1() pairs an ARP answer with its question; use
    recv with your own match for the rest (DHCP replies by xid, DNS by port
    and id, TCP by ports). Earlier labs' functions of yours fit, once they
    take the leased address and the router's MAC: paste them into this file.
  - scapy for the frames (scapy.layers.l2: Ether, ARP; scapy.layers.inet: IP,
    UDP, TCP; scapy.layers.dhcp: BOOTP, DHCP); dnspython for DNS if you like
    (dns.message.make_query(name, "A") has RD=1 and no EDNS; send its
    to_wire() as the UDP payload, read the answer with dns.message.from_wire).
  - Nothing of your client's kernel takes part: it has no address, so it
    neither resets your hand-made TCP nor answers anything.
  - `given`: the steps your instructor does for you (--set given=dhcp,arp,dns,
    tcp; none by default). Use them as
        from protolab.live.given import Given
        steps = Given(client, given)
        lease = steps.dhcp(xid); mac = steps.arp(lease["address"], lease["router"])
        ip = steps.dns(lease["address"], mac, lease["dns"][0], name)
        conn = steps.tcp(lease["address"], mac, ip, 80)   # conn.send(), .receive(), .close()
    A step that was not given raises NotGiven.
  - Time: each call may take 5 s; everything answers in a millisecond or two.

    protolab run journey --solution my_journey.py

Checked, phase by phase, each with its own result: DHCP (one transaction,
your MAC), ARP (from the leased address, for the gateway), DNS (to the
resolver with RD=1, the resolver's walk on the server LAN, its answer), TCP
(the handshake; the SYN on both links: new MACs, the same IP header, TTL one
less; no data before it is complete), HTTP (GET with Host, 200 and the page),
close (both FINs acknowledged), and the second fetch (handshake, request,
response, close; no DHCP, no ARP from you, no walk from the resolver). And
what you returned: the status and the body of both fetches.
"""

BROADCAST, NOBODY, EVERYONE = "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255"
POOL = (100, 149)
LEASE = 120
SEQ = 2**32


# -- the reference solution ------------------------------------------------------------


def journey(client, url: str, xid: int, known, given):
    """Fetch `url` from nothing (known None) or with what the first fetch kept; the page and what to keep."""
    name, port, path = split_url(url)
    if known is None:
        lease = dora(client, xid)
        router_mac = resolve_mac(client, lease["address"], lease["router"])
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


# -- the lab ---------------------------------------------------------------------------


def procedure(ctx: LabContext) -> None:
    p, topo = ctx.params, ctx.topology
    node, iface = ctx.node("client"), topo.node("client").interfaces[0].name
    dhcp = ctx.use(DnsmasqServer(ctx.node("dhcp"), DhcpConfig.for_node(topo, "dhcp", POOL, lease_time=LEASE)))
    ctx.use(DnsServers(ctx.deployment))  # Unbound starts with an empty cache every run
    nginx = ctx.use(NginxServer(ctx.node("web"), NginxConfig(keepalive_timeout=1.0, client_header_timeout=1.0)))
    ctx.use(unconfigured(node, iface))  # back as the topology says at the end, also after an error
    ctx.use(emptied_caches([ctx.node(n.name) for n in topo.nodes]))
    client = BareHost(node)
    ctx.stack.callback(client.close)
    given = [s for s in p["given"].split(",") if s]
    ctx.say("client: no address, empty ARP caches everywhere; dhcp: dnsmasq; resolver: Unbound, cold cache; web: nginx"
            + (f"; given: {', '.join(given)}" if given else ""))
    first = ctx.call_student(client, p["url"], p["xid"], None, given)
    _report(ctx, "first", first)
    lease = dhcp.lease_of(client.mac)
    ctx.fact("lease", lease.ip if lease else None)
    learned = neighbour(ctx.node("router"), lease.ip) if lease else None
    ctx.fact("router.learned", learned.mac if learned and learned.mac else None)
    kept = first.get("known") if isinstance(first, dict) else None
    ctx.say("client: the second fetch, with what the first one kept" + ("" if kept is not None else " (it kept nothing)"))
    second = ctx.call_student(client, p["url"], p["xid"], kept, given)
    _report(ctx, "second", second)
    log = nginx.wait_log(2, timeout=0.2)
    ctx.fact("web.log", [f"{e.request} → {e.status}" for e in log])


def _report(ctx: LabContext, which: str, got) -> None:
    status = got.get("status") if isinstance(got, dict) else None
    body = got.get("body") if isinstance(got, dict) else None
    ctx.fact(f"{which}.status", status)
    ctx.fact(f"{which}.body", body if isinstance(body, (bytes, str)) else None)
    ctx.say(f"client: your journey() ({which} fetch) returned status {status!r}"
            + (f" and {len(body)} bytes of body" if isinstance(body, (bytes, str)) else ""))


# -- the expectation ---------------------------------------------------------------------


def target(params) -> tuple[str, int, str]:
    """The URL's name, port and path; LabError if it is not http://NAME[:PORT]/PATH."""
    m = re.fullmatch(r"http://([a-z0-9.-]+)(?::(\d{1,5}))?(/[^\s?#]*)", params["url"])
    if not m:
        raise LabError(f"journey: url={params['url']!r} is not http://NAME/PATH")
    return m.group(1).rstrip("."), int(m.group(2) or 80), m.group(3)


def expectation(topology, params) -> Expectation:
    name, port, path = target(params)
    page = webroot.files().get(webroot.INDEX if path == "/" else path)
    client, router, web = topology.node("client"), topology.node("router"), topology.node("web")
    data = DnsData.from_topology(topology)
    walk = name_walk(data, name, str(web.ip))
    gateway, resolver, web_ip = str(client.gateway), data.resolver_address, str(web.ip)
    lan1, lan2 = client.interfaces[0].lan, web.interfaces[0].lan
    router1 = next(i for i in router.interfaces if i.lan == lan1)
    router2 = next(i for i in router.interfaces if i.lan == lan2)
    config = DhcpConfig.for_node(topology, "dhcp", POOL, lease_time=LEASE)
    qname = walk.qname
    mine = F("bootp.chaddr") == client.mac
    phases = [
        Phase("1 DHCP: an address", (
            Step("DHCP DISCOVER", match=(SentBy("client"), F("dhcp.type") == "DISCOVER"),
                 checks=(Check(F("eth.dst") == BROADCAST, "a machine without an address broadcasts"),
                         Check(F("ip.src") == NOBODY, "from 0.0.0.0: it has no address yet"),
                         Check(F("bootp.xid") == params["xid"], f"with the transaction id the lab gave, {params['xid']}"),
                         Check(mine, "chaddr is the client's own MAC")),
                 hint="Start with a DHCP DISCOVER from 0.0.0.0:68 to 255.255.255.255:67 (the dhcp lab)."),
            Step("DHCP OFFER", match=(SentBy("dhcp"), F("dhcp.type") == "OFFER", mine),
                 bind={"offered": "bootp.yiaddr", "server id": "dhcp.server_id"}),
            Step("DHCP REQUEST", match=(SentBy("client"), F("dhcp.type") == "REQUEST"),
                 checks=(Check(F("bootp.xid") == params["xid"], "the same xid: one transaction"),
                         Check(F("dhcp.requested") == V("offered"), "option 50 asks for the offered address"),
                         Check(F("dhcp.server_id") == V("server id"), "option 54 names the offering server"))),
            Step("DHCP ACK", match=(SentBy("dhcp"), F("dhcp.type").isin(("ACK", "NAK")), mine),
                 checks=(Check(F("dhcp.type") == "ACK", "the server leases the address"),
                         Check(F("dhcp.router") == (gateway,), f"option 3 names the router {gateway}"),
                         Check(F("dhcp.dns") == tuple(config.dns), f"option 6 names the resolver {resolver}")),
                 bind={"leased": "bootp.yiaddr"}),
        )),
        Phase("2 ARP: the gateway's MAC", (
            Step("who-has the gateway", match=(SentBy("client"), Layer("arp"), F("arp.op") == 1),
                 checks=(Check(F("arp.pdst") == gateway, f"the client asks for its gateway {gateway}: the resolver and "
                               "web are on another LAN, every frame to them goes to the router"),
                         Check(F("eth.dst") == BROADCAST, "the question is broadcast: nobody's MAC is known yet"),
                         Check(F("arp.psrc") == V("leased"), "it asks from the leased address: the router learns the "
                               "client's MAC from the question, and the client's kernel (no address) answers no ARP")),
                 hint="Before the DNS query, ask who-has the router (option 3 of the ACK) and use the MAC it answers: "
                      "no frame reaches the router unless it is addressed to the router's MAC."),
            Step("the gateway is-at", match=(SentBy("router"), Layer("arp"), F("arp.op") == 2),
                 checks=(Check(F("arp.hwsrc") == router1.mac, f"the router answers with its MAC {router1.mac}"),),
                 bind={"router mac": "arp.hwsrc"}),
        )),
        Phase("3 DNS: the name's address", after="1 DHCP: an address", entries=(
            Step("query to the resolver", match=(SentBy("client"), OnLink(lan1), F("udp.dport") == 53, F("dns.qr") == False),  # noqa: E712
                 checks=(Check(F("ip.dst") == resolver, f"the client asks the resolver the DHCP ACK named ({resolver}), "
                               "not a server of the hierarchy: the root only refers, it never answers for www"),
                         Check(F("dns.rd").is_(True), "with RD=1: the resolver does the walk for the client"),
                         Check(F("dns.qname") == qname, f"for the name of the URL, {qname}"),
                         Check(F("dns.qtype") == "A", "type A: an IPv4 address"),
                         Check(F("ip.src") == V("leased"), "from the leased address"),
                         Check(F("eth.dst") == router1.mac, f"in a frame to the router's MAC {router1.mac} (learned by ARP)")),
                 bind={"dns id": "dns.id", "dns port": "udp.sport"}),
            *_walk_steps(walk, resolver),
            Step("the resolver's answer", match=(OnLink(lan1), F("dns.qr") == True, F("udp.dport") == V("dns port"),  # noqa: E712
                                                  F("ip.dst") == V("leased")),
                 checks=(Check(F("dns.id") == V("dns id"), "it carries the query's id"),
                         Check(F("dns.ra").is_(True), "RA=1: the resolver did the recursion"),
                         Check(F("dns.answers") == tuple(walk.answer()), f"{qname} is {web_ip}")),
                 hint="The router forwards the answer to the client's MAC only if it knows it: it learned it from "
                      "the client's who-has, asked from the leased address."),
        )),
        Phase("4 TCP: the handshake", _handshake(web_ip, port, client.mac, router1.mac, router2.mac, web.mac, lan1, lan2, ""),
              never=(_no_early_data(),)),
        Phase("5 HTTP: GET and the page", _http(name, path, page, "")),
        Phase("6 close", _close("")),
        Phase("7 the second fetch: from the caches", (
            *_handshake(web_ip, port, client.mac, router1.mac, router2.mac, web.mac, lan1, lan2, "2nd "),
            *_http(name, path, page, "2nd "),
            *_close("2nd ")),
            never=(Never("no DHCP the second time", match=(Layer("bootp"),),
                         why="The lease runs 120 s: the second fetch keeps the address of the first (return it under "
                             "\"known\" and use it)."),
                   Never("no ARP from the client the second time", match=(SentBy("client"), Layer("arp")),
                         why="The router's MAC is known from the first fetch: a machine keeps it in its ARP cache "
                             "(return it under \"known\")."),
                   Never("no walk from the resolver the second time",
                         match=(SentBy("resolver"), F("udp.dport") == 53, F("dns.qr") == False),  # noqa: E712
                         why="The resolver has the answer in its cache: asked again, it answers at once, without "
                             "asking the root."))),
    ]
    facts = [
        Check(Fact("first.status") == 200, "your journey() returns the status of the first fetch, 200"),
        Check(Fact("first.body") == page, f"and the page's body, exactly its {len(page or b'')} bytes"),
        Check(Fact("second.status") == 200, "the second fetch returns 200 as well"),
        Check(Fact("second.body") == page, "and the same body"),
        Check(Fact("lease") == V("leased"), "dnsmasq's lease file holds the client's address"),
        Check(Fact("router.learned") == client.mac, "the router learned the client's MAC (from its ARP question)"),
        Check(Fact("web.log") == [f"GET {path} HTTP/1.1 → 200"] * 2, "nginx served the page twice"),
    ]
    never = (Never("no reset", match=(Flags("R", exact=False), ~SentBy("router"),
                                      (F("tcp.sport") == port) | (F("tcp.dport") == port)),
                   why="A RST ends the connection at once: web resets a segment that does not fit the connection "
                       "(data or an ACK before the handshake is complete, a wrong acknowledgement number)."),)
    return Expectation("What happens when you type a URL", steps=tuple(phases), never=never, facts=tuple(facts))


def name_walk(data: DnsData, name: str, web_ip: str):
    """The resolver's walk for `name`; LabError unless it leads straight to web's address."""
    try:
        walk = plan_walk(data, name, "A")
    except PlanError as exc:
        raise LabError(f"journey: {name} cannot be resolved from the lab's zones: {exc}") from None
    if (walk.qname, "A", web_ip) not in walk.answer() or any(e.purpose != "question" for e in walk.exchanges):
        raise LabError(f"journey: {name} must be an A record of web ({web_ip}) in the lab's zones, "
                       f"reached without a CNAME or a glueless referral")
    return walk


def _walk_steps(walk, resolver: str) -> list[Step]:
    """The resolver's own walk from the root, on the server LAN: one question and one reply per server."""
    steps = []
    for n, exchange in enumerate(walk.exchanges, start=1):
        reply = exchange.reply
        said = f"{exchange.node} answers with AA=1" if reply.aa else f"{exchange.node} refers to {reply.referral}"
        steps.append(Step(f"resolver asks {exchange.node}", match=(
            SentBy("resolver"), F("ip.dst") == exchange.server, F("dns.qr") == False, F("dns.qname") == exchange.qname),  # noqa: E712
            checks=(Check(F("dns.rd").is_(False), "the resolver asks with RD=0: it does the walk itself"),),
            bind={f"walk id {n}": "dns.id"}))
        steps.append(Step(said, match=(SentBy(exchange.node), F("dns.qr") == True, F("dns.id") == V(f"walk id {n}")),  # noqa: E712
                          checks=(Check(F("dns.aa").is_(reply.aa), said),)))
    return steps


def _handshake(web_ip, port, client_mac, router1, router2, web_mac, lan1, lan2, tag: str) -> tuple[Step, ...]:
    mac_rewrite = () if tag else (
        Step("the SYN on the server LAN: new MACs, the same IP header",
             match=(OnLink(lan2), SentBy("router"), Flags("S"), F("tcp.seq") == V("isn")),
             checks=(Check(F("eth.src") == router2, f"the router sends it from its own MAC on {lan2}, {router2}"),
                     Check(F("eth.dst") == web_mac, f"to web's MAC {web_mac}"),
                     Check(F("ip.src") == V("leased"), "the IP source is still the client's address"),
                     Check(F("ip.dst") == web_ip, "the IP destination is still web's"),
                     Check(F("ip.id") == V("syn id"), "the same packet: its IP id is unchanged"),
                     Check(F("ip.ttl") == V("syn ttl") - 1, "its TTL is one less: one router passed"))),)
    return (
        Step(f"{tag}SYN", match=(SentBy("client"), OnLink(lan1), Flags("S"), F("tcp.dport") == port),
             checks=(Check(F("ip.dst") == web_ip, f"to web's address, {web_ip}, as DNS answered"),
                     Check(F("ip.src") == V("leased"), "from the leased address"),
                     Check(F("eth.src") == client_mac, f"on {lan1} the frame is from the client's MAC"),
                     Check(F("eth.dst") == router1, f"and to the router's MAC {router1}: web is on another LAN")),
             bind={f"{tag}isn": "tcp.seq", f"{tag}sport": "tcp.sport", "syn id" if not tag else f"{tag}syn id": "ip.id",
                   "syn ttl" if not tag else f"{tag}syn ttl": "ip.ttl"},
             hint="Open the connection with a SYN to web port 80, in a frame to the router's MAC."),
        *mac_rewrite,
        Step(f"{tag}SYN-ACK", match=(SentBy("web"), Flags("SA"), F("tcp.dport") == V(f"{tag}sport")),
             checks=(Check(F("tcp.ack") == V(f"{tag}isn") + 1, "web acknowledges the client's ISN + 1"),),
             bind={f"{tag}web isn": "tcp.seq"}),
        Step(f"{tag}ACK of the SYN-ACK", match=(SentBy("client"), Flags("A"), F("tcp.sport") == V(f"{tag}sport")),
             checks=(Check(F("tcp.seq") == V(f"{tag}isn") + 1, "seq = ISN + 1"),
                     Check(F("tcp.ack") == V(f"{tag}web isn") + 1, "ack = web's ISN + 1"),
                     Check(F("tcp.len") == 0, "the third segment of the handshake carries no data")),
             hint="Complete the handshake: ACK the SYN-ACK before anything else."),
    )


def _no_early_data() -> Never:
    return Never("no data before the handshake is complete", match=(SentBy("client"), F("tcp.len") > 0),
                 why="The request left before the handshake was complete: web takes data only on a connection it "
                     "has accepted. Wait for the SYN-ACK, send the ACK, then the request.")


def _http(name: str, path: str, page: bytes | None, tag: str) -> tuple[Step, ...]:
    request = f"{tag}GET {path}"
    checks = [Check(F("http.method") == "GET", "the page is fetched with GET"),
              Check(F("http.target") == path, f"the target is the URL's path, {path}"),
              Check(F("http.version") == "1.1", "HTTP/1.1"),
              Check(Header("host") == name, f"Host: {name} names the site (nginx answers 400 without it)")]
    response = [Check(F("http.status") == 200, "web has the page: 200 OK")]
    if page is not None:
        response.append(Check(F("http.content_length") == len(page), f"Content-Length: {len(page)}"))
    return (Request(request, number=1, match=(SentBy("client"),), checks=tuple(checks)),
            Response(f"{tag}200 OK", to=request, match=(SentBy("web"),), checks=tuple(response)))


def _close(tag: str) -> tuple[Either, ...]:
    sport = F("tcp.sport") == V(f"{tag}sport")
    dport = F("tcp.dport") == V(f"{tag}sport")
    web_first = (
        Step(f"{tag}web's FIN", match=(SentBy("web"), Flags("F", exact=False), dport),
             bind={f"{tag}web fin": F("tcp.seq") + F("tcp.len")}, may_share=True),  # it may ride on the last data
        Step(f"{tag}the client's FIN", match=(SentBy("client"), Flags("F", exact=False), sport),
             checks=(Check(F("tcp.ack") == V(f"{tag}web fin") + 1, "it acknowledges web's FIN"),),
             bind={f"{tag}client fin": F("tcp.seq") + F("tcp.len")}),
        Step(f"{tag}web ACKs the FIN", match=(SentBy("web"), Flags("A"), dport, F("tcp.ack") == V(f"{tag}client fin") + 1)),
    )
    client_first = (
        Step(f"{tag}FIN from the client", match=(SentBy("client"), Flags("F", exact=False), sport),
             bind={f"{tag}client fin": F("tcp.seq") + F("tcp.len")}),
        Step(f"{tag}FIN from web", match=(SentBy("web"), Flags("F", exact=False), dport),
             checks=(Check(F("tcp.ack") == V(f"{tag}client fin") + 1, "it acknowledges the client's FIN"),),
             bind={f"{tag}web fin": F("tcp.seq") + F("tcp.len")}),
        Step(f"{tag}the client ACKs the FIN", match=(SentBy("client"), Flags("A"), sport,
                                                     F("tcp.ack") == V(f"{tag}web fin") + 1)),
    )
    return (Either(f"{tag}both FINs acknowledged", web_first, client_first),)


def _check_params(p) -> str | None:
    try:
        name, _port, path = target(p)
    except LabError as exc:
        return str(exc).removeprefix("journey: ")
    pages = sorted(set(webroot.files()) - {webroot.FORBIDDEN})  # nginx forbids that one: 403
    if path != "/" and path not in pages:
        return f"web has no page {path}: choose / or one of {', '.join(pages)}"
    topology = load()  # the packaged network: the lab names no other
    try:
        name_walk(DnsData.from_topology(topology), name, str(topology.node("web").ip))
    except LabError as exc:
        return str(exc).removeprefix("journey: ")
    unknown = [s for s in p["given"].split(",") if s and s not in STEPS]
    if unknown:
        return f"given={p['given']!r}: {', '.join(unknown)} is not a step that can be given ({', '.join(STEPS)})"
    return None


LAB = Lab(
    name="journey",
    title="What happens when you type a URL",
    summary="From no address to the page by hand: DHCP, ARP, DNS through the resolver, TCP, HTTP, close, then again from the caches",
    instructions=INSTRUCTIONS,
    student=journey,
    procedure=procedure,
    expectation=expectation,
    columns=("client", "dhcp", "router", "resolver", "root", "tld", "auth", "web"),
    params={"url": "http://www.example.lab/", "xid": 0x1A2B3C4D, "given": ""},
    limits={"xid": Range(1, 0xFFFFFFFF)},
    param_help={"url": "what was typed: http://NAME/PATH; the name must resolve to web, the path be one of web's files",
                "xid": "the DHCP transaction id your journey() must use",
                "given": "steps the lab does for you, comma separated (dhcp, arp, dns, tcp); empty: none"},
    check_params=_check_params,
    variants={"xid": Range(1, 0xFFFFFFFF)},
    timeout=5.0,
    facts={
        "first.status": "the status your journey() returned the first time",
        "first.body": "the body your journey() returned the first time",
        "second.status": "the status your journey() returned the second time",
        "second.body": "the body your journey() returned the second time",
        "lease": "the address dnsmasq's lease file holds for the client (None: none)",
        "router.learned": "the MAC the router's ARP cache holds for the client's leased address (None: none)",
        "web.log": ("nginx's access log: each request line and its status", list),
    },
)
