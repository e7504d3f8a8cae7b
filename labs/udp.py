"""UDP beside TCP: datagrams keep their boundaries, a stream does not; closed ports; DNS in one datagram."""

from __future__ import annotations

import random

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP

from protolab.expect import START, Check, Expectation, F, Fact, Flags, Layer, Never, Phase, SentBy, Step, V
from protolab.kernel.sysctl import changed_sysctls
from protolab.kernel.udpguard import PortUnreachableGuard
from protolab.lab.api import Lab, LabContext, Range
from protolab.models.zones import DnsData
from protolab.servers.listener import TcpListener
from protolab.servers.nsd import nsd_program
from protolab.servers.tcpreads import accepted_from, queued_reads
from protolab.servers.udp import UdpService

MESSAGES = (b"one", b"two", b"three")
NAME, DNS_NODE = "www.example.lab.", "auth"

INSTRUCTIONS = """\
TCP and UDP both carry an application's data between ports, and do it very
differently. TCP first connects (a handshake), numbers every byte, has each one
acknowledged, and hands the receiver a stream of bytes: how the sender cut its
writes is lost. UDP sends each message at once, in a datagram of its own: no
connection, no acknowledgement, no retransmission, but a datagram arrives whole
or not at all, and each recvfrom() of the receiver returns exactly one. Its
header is 8 bytes: source port, destination port, length (header + payload)
and a checksum over the datagram (and the addresses). That is why DNS asks over
UDP: one datagram out, one back, where TCP would first spend a round trip on
its handshake.

Your task: write `compare(client, server_ip, port, closed_port, client_port, messages, dns_ip, name)`:
  1. Datagrams. Send the three `messages` to server_ip:port from `client_port`,
     each in a hand-made datagram of its own, one after the other WITHOUT
     waiting: IP(dst=server_ip) / UDP(sport=client_port, dport=port) / message,
     with client.send(pkt). web runs a UDP echo service there. Then collect
     the three echoes with client.recv(match, timeout=1.0) (a frame `f` with
     UDP in f and f[UDP].sport == port). From each echo, note the payload,
     the UDP length field (f[UDP].len) and the checksum field (f[UDP].chksum).
  2. A stream. Open a kernel TCP connection to the same port number on web
     (TCP port 7 is not UDP port 7: web has a TCP listener there too):
     sock = client.tcp_socket(server_ip, port). Send the three messages with
     three sock.send() calls, leave TCP_NODELAY off (the default), and
     sock.close(). web's application reads once you have returned.
  3. Closed ports. Send one hand-made datagram to server_ip:closed_port and
     one hand-made SYN (flags="S") to the same port number over TCP, each with
     client.sr1(pkt, timeout=1.0): nothing listens there, see what web's kernel
     says for each protocol.
  4. DNS. Ask dns_ip (an authoritative server) for the A record of `name` in
     one hand-made datagram from client_port to port 53:
     IP(dst=dns_ip) / UDP(sport=client_port, dport=53) / DNS(rd=0, qd=DNSQR(qname=name))
     (from scapy.layers.dns import DNS, DNSQR), with client.sr1(); the
     address is answer[DNS].an.rdata (a str).
Return a dict: {"echoes": [payloads, bytes], "lengths": [UDP length fields],
"checksums": [UDP checksum fields], "address": the address DNS answered}.

  - client.recv() keeps every frame no call took, oldest first, for the next
    recv() or sr1(): an echo that arrived while you were still sending is
    not lost. Frames from before your call are not there.
  - Your client has no UDP socket on client_port: the lab keeps its kernel
    from answering the echoes and the DNS answer with a port unreachable of
    its own (--set guard=false shows it).
  - Time: the call may take 5 s; nothing in it waits on you.

    protolab run udp --solution my_compare.py
"""


def compare(client, server_ip: str, port: int, closed_port: int, client_port: int, messages, dns_ip: str, name: str):
    """Datagrams and their echoes, the same messages over TCP, two closed ports, one DNS question."""
    for message in messages:  # no connection to open: each datagram leaves at once
        client.send(IP(dst=server_ip) / UDP(sport=client_port, dport=port) / message)
    echoes = []
    for _ in messages:
        frame = client.recv(lambda f: UDP in f and f[UDP].sport == port and f[UDP].dport == client_port, timeout=1.0)
        if frame is not None:
            echoes.append(frame[UDP])
    sock = client.tcp_socket(server_ip, port)
    for message in messages:
        sock.send(message)
    sock.close()
    client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=closed_port) / b"anyone?", timeout=1.0)
    client.sr1(IP(dst=server_ip) / TCP(sport=client_port, dport=closed_port, flags="S", seq=1000), timeout=1.0)
    query = IP(dst=dns_ip) / UDP(sport=client_port, dport=53) / DNS(rd=0, qd=DNSQR(qname=name))
    answer = client.sr1(query, timeout=1.0)
    address = answer[DNS].an.rdata if answer is not None and DNS in answer and answer[DNS].an else None
    return {"echoes": [bytes(u.payload) for u in echoes], "lengths": [u.len for u in echoes],
            "checksums": [u.chksum for u in echoes], "address": address}


def procedure(ctx: LabContext) -> None:
    p, web, client = ctx.params, ctx.ip("web"), ctx.host("client")
    dns_ip = ctx.ip(DNS_NODE)
    data = DnsData.from_topology(ctx.topology)
    ctx.use(nsd_program(ctx.node(DNS_NODE), data.served_by(DNS_NODE), ctx.deployment.workdir / "udp-nsd"))
    # web's kernel sends about one ICMP error per second to a host (after a burst): runs in a row on a
    # network kept up would see no port unreachable; lifted for the run, put back after it
    ctx.use(changed_sysctls(ctx.node("web"), {"net.ipv4.icmp_ratelimit": 0}))
    service = ctx.use(UdpService(ctx.node("web"), p["port"], echo=True))
    listener = ctx.use(TcpListener(ctx.node("web"), p["port"]))
    cport = p["client_port"] or random.randrange(40000, 61000)
    if p["guard"]:
        ctx.use(PortUnreachableGuard(ctx.node("client"), client.ip, cport, web, p["port"]))
        ctx.use(PortUnreachableGuard(ctx.node("client"), client.ip, cport, dns_ip, 53))
    ctx.say(f"web: a UDP echo service and a TCP listener, both on port {p['port']}; nothing on {p['closed_port']}")
    ctx.say(f"{DNS_NODE} ({dns_ip}): NSD, authoritative for example.lab.")
    returned = ctx.call_student(client, web, p["port"], p["closed_port"], cport, MESSAGES, dns_ip, NAME)
    got = returned if isinstance(returned, dict) else {}
    for key in ("echoes", "lengths", "checksums", "address"):
        ctx.fact(key, got.get(key))
    ctx.fact("web.received", [d.payload for d in service.wait_for(len(MESSAGES), timeout=0.1)])
    accepted = accepted_from(listener, None, timeout=0.2)
    reads = queued_reads(accepted.conn, sum(map(len, MESSAGES)), timeout=0.3) if accepted else []
    ctx.fact("web.reads", reads)
    ctx.say(f"web's TCP application: {len(reads)} recv() for {len(MESSAGES)} send()s: {reads}")


def wire_facts(trace, params, facts) -> dict:
    """The UDP checksum of each echo as the capture holds it (the first echo of each message)."""
    sums = []
    for message in MESSAGES:
        echo = next((f for f in trace if f.sender == "web" and f.get("udp.sport", None) == params["port"]
                     and f.get("udp.payload", None) == message), None)
        sums.append(echo.get("checksum.udp")[1] if echo is not None else None)
    return {"wire.checksums": sums}


def expectation(topology, params) -> Expectation:
    client, web, port, closed = str(topology.node("client").ip), str(topology.node("web").ip), params["port"], params["closed_port"]
    dns_ip = str(topology.node(DNS_NODE).ip)
    to_web, from_web = (SentBy("client"), F("ip.dst") == web), (SentBy("web"), F("ip.dst") == client)
    datagrams = []
    for n, message in enumerate(MESSAGES, 1):
        datagrams.append(Step(
            f"datagram {n} to web's echo port", match=(*to_web, F("udp.dport") == port),
            checks=(Check(F("udp.payload") == message, f"datagram {n} carries message {n} alone"),),
            bind={"cport": "udp.sport"} if n == 1 else {},
            hint=f"Send each message in a datagram of its own to UDP port {port}."))
    for n, message in enumerate(MESSAGES, 1):
        datagrams.append(Step(
            f"web echoes message {n} in a datagram of its own", after=f"datagram {n} to web's echo port",
            match=(*from_web, F("udp.sport") == port, F("udp.dport") == V("cport"), F("udp.payload") == message)))
    stream = (
        Step("a TCP connection begins with a handshake: SYN", match=(*to_web, F("tcp.dport") == port, Flags("S")),
             bind={"tport": "tcp.sport"}, hint=f"Open a kernel connection: client.tcp_socket(server_ip, {port})."),
        Step("SYN-ACK from web's TCP listener",
             match=(*from_web, F("tcp.sport") == port, F("tcp.dport") == V("tport"), Flags("SA"))),
        Step("the first data segment", match=(*to_web, F("tcp.sport") == V("tport"), F("tcp.len") > 0),
             checks=(Check(F("tcp.payload") == MESSAGES[0],
                           "your first send() of message 1 leaves at once, alone (nothing is unacknowledged yet)"),),
             hint="Send the three messages with three send() calls."),
    )
    closed_ports = (
        Step("a datagram to the closed UDP port", match=(*to_web, F("udp.dport") == closed),
             hint=f"Send one datagram to UDP port {closed} of web, where nothing listens."),
        Step("web's kernel: ICMP port unreachable", match=(*from_web, F("icmp.type") == 3, F("icmp.inner_proto") == 17),
             checks=(Check(F("icmp.code") == 3, "code 3, port unreachable: no UDP socket holds that port"),
                     Check(F("icmp.inner_dport") == closed, f"it quotes your datagram to port {closed}"))),
        Step("a SYN to the closed TCP port", match=(*to_web, F("tcp.dport") == closed, Flags("S")),
             hint=f"Send one SYN to TCP port {closed} of web."),
        Step("web's kernel: RST", match=(*from_web, F("tcp.sport") == closed, Flags("R", exact=False)),
             checks=(Check(Flags("RA"), "RST-ACK: no socket, so the SYN is refused (and acknowledged)"),)),
    )
    dns = (
        Step("the DNS question: one datagram", match=(SentBy("client"), F("ip.dst") == dns_ip, F("udp.dport") == 53),
             checks=(Check(F("dns.qr").is_(False), "a query (QR=0)"), Check(F("dns.qname") == NAME, f"it asks for {NAME}")),
             bind={"qport": "udp.sport"}, hint=f"Send a DNS query in one datagram to {dns_ip} port 53."),
        Step("the DNS answer: one datagram",
             match=(SentBy(DNS_NODE), F("ip.dst") == client, F("udp.sport") == 53, F("udp.dport") == V("qport")),
             checks=(Check(F("dns.qr").is_(True), "a response (QR=1)"),
                     Check(F("dns.answers") == ((NAME, "A", str(topology.node("web").ip)),), f"it answers {NAME} A")),
             hint="Ask with rd=0: the server is authoritative, it answers from its own zone."),
    )
    phases = (
        Phase("datagrams: no connection, boundaries kept", tuple(datagrams),
              never=(Never("no TCP among the datagrams", match=(Layer("tcp"),),
                           why="UDP needs no connection: the first datagram goes out at once, and nothing acknowledges it."),)),
        Phase("a stream: TCP", stream),
        Phase("closed ports", closed_ports, after=START),
        Phase("DNS over UDP", dns, after=START),
    )
    never = (
        Never("no port unreachable from the client", match=(SentBy("client"), F("icmp.type") == 3),
              why="The client's kernel had no socket on your port and refused a datagram to it (was --set guard=false?)."),
        Never("DNS in datagrams, not over TCP", match=(SentBy("client"), F("ip.dst") == dns_ip, Flags("S")),
              why="A DNS question and its answer fit in one datagram each; TCP would cost a handshake before the question."),
    )
    facts = (
        Check(Fact("web.received") == list(MESSAGES),
              "web's echo service made three recvfrom() calls, each returning one whole message"),
        Check(Fact("web.reads") == [b"".join(MESSAGES)],
              "web's TCP application got all three messages in ONE recv(): a stream keeps no boundaries"),
        Check(Fact("echoes") == list(MESSAGES), "compare() returns the three echoes, in order"),
        Check(Fact("lengths") == [8 + len(m) for m in MESSAGES],
              "the UDP length field counts the 8-byte header and the payload"),
        Check(Fact("checksums") == Fact("wire.checksums"), "the checksums you read are those of web's echoes on the wire"),
        Check(Fact("address") == str(topology.node("web").ip), f"compare() returns the address of {NAME}"),
    )
    return Expectation("UDP beside TCP", steps=phases, never=never, facts=facts)


LAB = Lab(
    name="udp", title="UDP beside TCP",
    summary="Datagrams keep their boundaries, a TCP stream does not; closed ports; DNS in one datagram each way",
    instructions=INSTRUCTIONS, student=compare, procedure=procedure, expectation=expectation, wire_facts=wire_facts,
    columns=("client", "router", "web", DNS_NODE),
    params={"port": 7, "closed_port": 9, "client_port": 0, "guard": True},
    limits={"port": Range(1, 65535), "closed_port": Range(1, 65535), "client_port": Range(0, 65535, note="0 picks one")},
    param_help={
        "port": "web's UDP echo port, and its TCP port for the stream (your port)",
        "closed_port": "a port where web has neither a UDP nor a TCP socket (your closed_port)",
        "client_port": "the source port of your hand-made datagrams (your client_port); 0: the lab picks one",
        "guard": "drop the client kernel's port unreachable for the echoes and the DNS answer",
    },
    check_params=lambda p: ("port and closed_port must differ" if p["port"] == p["closed_port"]
                            else "port 53 is the DNS server's" if 53 in (p["port"], p["closed_port"]) else None),
    variants={"port": Range(7000, 7999)},
    timeout=5.0,
    facts={
        "echoes": "the echoes' payloads compare() returned",
        "lengths": "the UDP length fields compare() read from the echoes",
        "checksums": "the UDP checksum fields compare() read from the echoes",
        "address": "the address compare() returned for the DNS question",
        "web.received": ("the payload of each recvfrom() of web's echo service, in order", list),
        "web.reads": ("the result of each recv() of web's TCP application, once the messages were queued", list),
        "wire.checksums": ("the UDP checksum of each echo in the capture", list),
    },
)
