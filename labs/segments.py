"""Segmentation: the MSS each side announces, segments no larger than it, and path MTU discovery."""

from __future__ import annotations

import math
import random

from scapy.layers.inet import ICMP, IP, TCP

from protolab.expect import START, Check, Expectation, F, Fact, Flags, Never, Phase, SentBy, Step, V
from protolab.kernel.guard import RstGuard
from protolab.kernel.pmtu import forget_pmtu, learned_pmtu
from protolab.kernel.sockstate import SockProbe
from protolab.lab.api import Lab, LabContext, Range
from protolab.servers.listener import TcpListener
from protolab.servers.tcpreads import SendOnAccept, accepted_from, queued_reads

REPLY = 2000  # bytes web writes on the hand-made connection
TIMESTAMPS = 12  # bytes the timestamp option takes in every segment (10, and two NOPs to align it)

INSTRUCTIONS = """\
IP carries at most one MTU per packet on each link (1500 bytes on Ethernet),
IP header included. TCP therefore cuts a write into segments whose payload is
at most the MSS, maximum segment size: the MTU minus 20 bytes of IP header and
20 of TCP header. Each side announces its own MSS in an option of its SYN (or
SYN-ACK), from the MTU of its own link, and each side sends segments no larger
than what the OTHER side announced. Options every segment carries come out of
that room too: when both SYNs hold the Timestamp option, each segment spends
12 bytes on it. A link further along may be narrower than both ends: TCP sets
DF (don't fragment) on its packets, a router that cannot forward one answers
with ICMP "destination unreachable, fragmentation needed" naming the next
hop's MTU, and the sender's kernel lowers its segment size for that path and
sends again (path MTU discovery).

Here web's own link (the server LAN) has an MTU of 1400; far sits behind it
on an ordinary 1500-byte LAN.

Your task: write `segments(client, server_ip, port, mtu, size, client_port, small_mss, far_ip)`:
  1. Open a kernel connection: sock = client.tcp_socket(server_ip, port).
     Your kernel's SYN announced MSS = mtu - 40 (mtu: your link's MTU).
     Read web's MSS from its SYN-ACK: client.recv(match) finds it (the frame
     f with TCP in f, f[TCP].dport == sock.getsockname()[1] and flags "SA");
     its options are a list of (name, value): dict(f[TCP].options)["MSS"].
     Predict how many segments a write of `size` bytes takes, and the payload
     of the largest; then sock.setblocking(True); sock.sendall(b"x" * size).
  2. By hand, from client_port: a SYN announcing MSS = small_mss
     (TCP(..., flags="S", options=[("MSS", small_mss)])), web's SYN-ACK
     (client.sr1), your ACK. web's application then writes 2000 bytes:
     receive its data segments with client.recv(match, timeout=1.0) until you
     have 2000 bytes, note each one's payload length, and ACK them (one ACK
     with ack = web's ISN + 1 + 2000 will do).
  3. Open a kernel connection to far_ip:port and sendall(b"x" * size) there
     (blocking, as in 1). Catch the router's ICMP error with client.recv (ICMP
     in f, type 3, code 4) and read the next-hop MTU it names:
     f[ICMP].nexthopmtu.
Return a dict: {"mss": [your SYN's MSS, web's SYN-ACK's MSS],
"segments": how many segments you predict for 1, "largest": the largest
payload you predict for 1, "small": [payload length of each segment web
sent in 2], "pmtu": the next-hop MTU of 3}.

  - client.recv() keeps every frame no call took, oldest first, for the next
    recv(): web's SYN-ACK to your kernel is there for you after tcp_socket().
  - The lab drops your client kernel's RSTs for the hand-made connection of 2
    (it knows nothing of it). Web sends its data again if your ACK takes more
    than ~0.2 s: ACK at once.
  - Time: the call may take 5 s.

    protolab run segments --solution my_segments.py
"""


def segments(client, server_ip: str, port: int, mtu: int, size: int, client_port: int, small_mss: int, far_ip: str):
    """Predict a write's segments from the two MSS; announce a small MSS by hand; meet a narrower path."""
    # 1. the MSS each side announces, and what a write of `size` bytes becomes
    sock = client.tcp_socket(server_ip, port)
    kport = sock.getsockname()[1]
    synack = client.recv(lambda f: TCP in f and f[TCP].dport == kport and f[TCP].flags == "SA", timeout=1.0)
    options = dict(synack[TCP].options)
    mine, theirs = mtu - 40, options["MSS"]
    room = min(mine, theirs) - (TIMESTAMPS if "Timestamp" in options else 0)
    sock.setblocking(True)
    sock.sendall(b"x" * size)
    # 2. a small MSS announced by hand: web's kernel keeps to it
    isn = random.randrange(2**32)
    answer = client.sr1(IP(dst=server_ip) / TCP(sport=client_port, dport=port, flags="S", seq=isn,
                                                options=[("MSS", small_mss)]), timeout=1.0)
    seq, ack = (isn + 1) % 2**32, (answer[TCP].seq + 1) % 2**32
    client.send(IP(dst=server_ip) / TCP(sport=client_port, dport=port, flags="A", seq=seq, ack=ack))
    small, got = [], 0
    while got < REPLY:
        frame = client.recv(lambda f: TCP in f and f[TCP].dport == client_port and len(f[TCP].payload) > 0
                            and f[IP].src == server_ip, timeout=1.0)
        if frame is None:
            break
        length = frame[IP].len - frame[IP].ihl * 4 - frame[TCP].dataofs * 4
        small.append(length)
        got += length
    client.send(IP(dst=server_ip) / TCP(sport=client_port, dport=port, flags="A", seq=seq, ack=(ack + got) % 2**32))
    # 3. a path narrower than both ends
    far = client.tcp_socket(far_ip, port)
    far.setblocking(True)
    far.sendall(b"x" * size)
    error = client.recv(lambda f: ICMP in f and f[ICMP].type == 3 and f[ICMP].code == 4, timeout=1.0)
    far.close()
    sock.close()
    return {"mss": [mine, theirs], "segments": math.ceil(size / room), "largest": min(room, size), "small": small,
            "pmtu": error[ICMP].nexthopmtu if error is not None else None}


def procedure(ctx: LabContext) -> None:
    p, web, far, client = ctx.params, ctx.ip("web"), ctx.ip("far"), ctx.host("client")
    forget_pmtu(ctx.node("client"))  # a network kept up remembers the path MTU of an earlier run
    at_web = ctx.use(TcpListener(ctx.node("web"), p["port"]))
    at_far = ctx.use(TcpListener(ctx.node("far"), p["port"]))
    with SockProbe(ctx.node("web")) as probe:
        hport = p["client_port"] or probe.free_port((web, p["port"]), client.ip)
    ctx.use(RstGuard(ctx.node("client"), client.ip, hport, web, p["port"]))
    ctx.use(SendOnAccept(at_web, (client.ip, hport), b"w" * REPLY))
    mtu = ctx.topology.lan(ctx.topology.node("client").interfaces[0].lan).mtu
    ctx.say(f"the server LAN's MTU is {ctx.topology.lan('lan2').mtu}; far ({far}) lies behind it")
    ctx.say(f"web and far: kernel listeners on port {p['port']}; web writes {REPLY} bytes to {client.ip}:{hport}")
    returned = ctx.call_student(client, web, p["port"], mtu, p["size"], hport, p["small_mss"], far)
    got = returned if isinstance(returned, dict) else {}
    mss = got.get("mss") if isinstance(got.get("mss"), (list, tuple)) and len(got.get("mss")) == 2 else [None, None]
    ctx.fact("mss.syn", mss[0])
    ctx.fact("mss.synack", mss[1])
    for key in ("segments", "largest", "small", "pmtu"):
        ctx.fact(key, got.get(key))
    for name, listener in (("web", at_web), ("far", at_far)):
        accepted = [a for a in listener.accepted if a.peer[1] != hport] or [accepted_from(listener, None, 0.3)]
        conn = accepted[0].conn if accepted[0] is not None else None
        ctx.fact(f"{name}.read", sum(map(len, queued_reads(conn, p["size"], timeout=0.5))) if conn else 0)
    ctx.fact("client.pmtu", learned_pmtu(ctx.node("client"), far))
    ctx.say(f"client's kernel: path MTU to far {ctx.facts['client.pmtu']}")


def wire_facts(trace, params, facts) -> dict:
    """From the capture: the data segments of the kernel connection to web on the client's link
    (each once), and the payload of each segment web sent on the hand-made one (on its own link)."""
    port, small_mss = params["port"], params["small_mss"]
    web = next((ip for ip, node in trace.addresses.items() if node == "web"), None)
    mine = [f for f in trace if f.has("tcp") and f.get("ip.dst") == web and f.get("tcp.dport") == port]
    syns = [f for f in mine if f.sender == "client" and f.get("tcp.flags") == "S"]
    kernel = next((f.get("tcp.sport") for f in syns if f.get("tcp.mss") != small_mss), None)
    hand = next((f.get("tcp.sport") for f in syns if f.get("tcp.sport") != kernel), None)
    data = [f for f in mine if f.sender == "client" and f.get("tcp.sport") == kernel and f.get("tcp.len") > 0
            and not f.get("tcp.retransmission")]
    replies = [f for f in trace if f.sender == "web" and f.has("tcp") and f.get("tcp.sport") == port
               and f.get("tcp.dport") == hand and f.get("tcp.len") > 0 and not f.get("tcp.retransmission")]
    return {"wire.segments": len(data) if data else None,
            "wire.largest": max(f.get("tcp.len") for f in data) if data else None,
            "wire.small": [f.get("tcp.len") for f in replies]}


def expectation(topology, params) -> Expectation:
    client, web, far = (str(topology.node(n).ip) for n in ("client", "web", "far"))
    port, small, narrow = params["port"], params["small_mss"], topology.lan("lan2").mtu
    to_web = (SentBy("client"), F("ip.dst") == web, F("tcp.dport") == port)
    from_web = (SentBy("web"), F("ip.dst") == client, F("tcp.sport") == port)
    announced = (
        Step("your kernel's SYN announces its MSS", match=(*to_web, Flags("S"), F("tcp.mss") != small),
             bind={"kport": "tcp.sport", "mss_syn": "tcp.mss"},
             hint=f"Open a kernel connection first: client.tcp_socket(server_ip, {port})."),
        Step("web's SYN-ACK announces its MSS", match=(*from_web, F("tcp.dport") == V("kport"), Flags("SA")),
             bind={"mss_web": "tcp.mss"}),
        Step("the write leaves in segments", match=(SentBy("client"), F("tcp.sport") == V("kport"), F("tcp.len") > 0),
             hint="Write `size` bytes on the kernel connection: sock.sendall(b'x' * size)."),
    )
    by_hand = (
        Step("your SYN announces a small MSS", match=(*to_web, Flags("S"), F("tcp.sport") != V("kport")),
             checks=(Check(F("tcp.mss") == small, f"your SYN carries the MSS option with {small}"),),
             bind={"hport": "tcp.sport", "isn": "tcp.seq"},
             hint="Send a SYN by hand from client_port, with options=[('MSS', small_mss)]."),
        Step("web's SYN-ACK to it", match=(*from_web, F("tcp.dport") == V("hport"), Flags("SA")), bind={"web_isn": "tcp.seq"}),
        Step("your ACK", match=(*to_web, F("tcp.sport") == V("hport"), Flags("A")),
             checks=(Check(F("tcp.seq") == V("isn") + 1, "seq = your ISN + 1"),
                     Check(F("tcp.ack") == V("web_isn") + 1, "ack = web's ISN + 1"))),
        Step("web's segments keep to your MSS", match=(*from_web, F("tcp.dport") == V("hport"), F("tcp.len") > 0),
             checks=(Check(F("tcp.len") <= small, f"web's kernel sends at most the {small} bytes you announced"),)),
    )
    discovery = (
        Step("a segment too big for the server LAN",
             match=(SentBy("client"), F("ip.dst") == far, F("tcp.len") > 0, F("ip.len") > narrow),
             checks=(Check(F("ip.flags") == "DF", "DF is set: no router may fragment it"),),
             bind={"big_seq": "tcp.seq"}, hint="Write `size` bytes on a kernel connection to far."),
        Step("the router: fragmentation needed", match=(SentBy("router"), F("ip.dst") == client, F("icmp.type") == 3,
                                                      F("icmp.code") == 4),
             checks=(Check(F("icmp.mtu") == narrow, f"it names the next hop's MTU, {narrow}"),
                     Check(F("icmp.inner_seq") == V("big_seq"), "it quotes your segment")),
             hint="The router answers a DF packet bigger than the next link's MTU."),
        Step("your kernel sends those bytes again, smaller", match=(SentBy("client"), F("ip.dst") == far,
                                                                  F("tcp.seq") == V("big_seq"), F("tcp.len") > 0),
             checks=(Check(F("ip.len") <= narrow, f"the packet fits the {narrow}-byte MTU: the kernel lowered its segment size"),)),
    )
    never = (
        Never("no RST from the client", match=(SentBy("client"), Flags("R", exact=False)),
              why="The client's kernel reset a connection: was the hand-made one from another port than client_port?"),
        Never("web sends nothing twice", match=(SentBy("web"), F("tcp.retransmission").is_(True)),
              why="web sent a segment again: its acknowledgement did not come in time (ACK web's data at once)."),
    )
    facts = (
        Check(Fact("mss.syn") == V("mss_syn"), "your SYN's MSS is what your kernel announced (your link's MTU − 40)"),
        Check(Fact("mss.synack") == V("mss_web"), "web's MSS is what its SYN-ACK announced"),
        Check(Fact("segments") == Fact("wire.segments"),
              f"your count of the segments of the {params['size']}-byte write: each carries at most the MSS "
              "the other side announced, less the options every segment carries"),
        Check(Fact("largest") == Fact("wire.largest"), "your largest segment payload (the same rule)"),
        Check(Fact("web.read") == params["size"], f"web's application read all {params['size']} bytes"),
        Check(Fact("small") == Fact("wire.small"), "the payload length of each segment web sent you by hand"),
        Check(Fact("pmtu") == narrow, f"the next-hop MTU the router named: {narrow}"),
        Check(Fact("client.pmtu") == narrow, f"your kernel learned the path MTU to far: {narrow}"),
        Check(Fact("far.read") == params["size"], f"far's application read all {params['size']} bytes"),
    )
    return Expectation("segments and the MSS", steps=(
        Phase("the MSS each side announces", announced),
        Phase("a small MSS, announced by hand", by_hand, after=START),
        Phase("path MTU discovery", discovery, after=START),
    ), never=never, facts=facts)


LAB = Lab(
    name="segments", title="Segments, the MSS and the path MTU",
    summary="The MSS in SYN and SYN-ACK, a write cut into segments, a small MSS by hand, ICMP fragmentation needed",
    instructions=INSTRUCTIONS, student=segments, procedure=procedure, expectation=expectation, wire_facts=wire_facts,
    columns=("client", "router", "web", "router2", "far"), topology="segments.toml",
    params={"port": 80, "size": 10000, "small_mss": 500, "client_port": 0},
    limits={"port": Range(1, 65535), "size": Range(2000, 12000, note="more than one segment, at most one window"),
            "small_mss": Range(200, 1000, note="web's 2000 bytes in at most ten segments: no ACK needed between"),
            "client_port": Range(0, 65535, note="0 picks one")},
    param_help={
        "port": "the TCP port of web's and far's listeners (your port)",
        "size": "the bytes of each write (your size)",
        "small_mss": "the MSS your hand-made SYN announces (your small_mss)",
        "client_port": "the source port of your hand-made connection (your client_port); 0: the lab picks one",
    },
    variants={"size": Range(6000, 12000), "small_mss": Range(300, 700)},
    timeout=5.0,
    facts={
        "mss.syn": "the MSS segments() says your kernel's SYN announced",
        "mss.synack": "the MSS segments() read from web's SYN-ACK",
        "segments": "how many segments segments() predicted for the write to web",
        "largest": "the largest payload segments() predicted for the write to web",
        "small": "the payload lengths segments() noted on the hand-made connection",
        "pmtu": "the next-hop MTU segments() read from the router's ICMP error",
        "web.read": ("the bytes web's application read on the kernel connection", int),
        "far.read": ("the bytes far's application read", int),
        "client.pmtu": "the path MTU to far the client's kernel learned (its route cache), or None",
        "wire.segments": "the data segments of the write to web in the capture (on the client's link)",
        "wire.largest": "the largest of their payloads",
        "wire.small": ("the payload length of each segment web sent on the hand-made connection", list),
    },
)
