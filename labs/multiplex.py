"""Demultiplexing: two connections to one server port, told apart by the 4-tuple; a segment for no
connection; two UDP ports, each with its own datagrams."""

from __future__ import annotations

import random

from scapy.layers.inet import IP, TCP, UDP

from protolab.expect import START, Check, Expectation, F, Fact, Flags, Never, Phase, SentBy, Step, V
from protolab.kernel.guard import RstGuard
from protolab.kernel.sockdump import tcp_sockets
from protolab.kernel.sockstate import SockProbe
from protolab.lab.api import Lab, LabContext, Range
from protolab.servers.listener import TcpListener
from protolab.servers.tcpreads import accepted_from, queued_reads
from protolab.servers.udp import UdpService

MESSAGES = ((b"apple", b"apricot"), (b"banana", b"blueberry"))  # connection A's two, connection B's two
NAMES = ("A", "B")

INSTRUCTIONS = """\
Many connections may end at the same server port: every browser tab talking
to web:80 does. The transport layer tells them apart by the 4-tuple (source
address, source port, destination address, destination port): web's kernel
keeps one socket per 4-tuple, accept() hands each one to the application, and
each arriving segment is delivered to the socket of its own 4-tuple
(demultiplexing). Two connections from the same client to the same server
port differ in the client's port only, and that is enough. A segment whose
4-tuple has no socket (and is not a SYN to a listening port) is answered with
a RST. UDP demultiplexes by the destination port alone: a datagram goes to
the socket bound to its port, and to no other.

Your task: write `multiplex(client, server_ip, port, client_ports, messages, stray_port, udp_ports)`,
everything by hand with scapy (from scapy.layers.inet import IP, TCP, UDP):
  1. Open two TCP connections to server_ip:port, connection A from
     client_ports[0] and connection B from client_ports[1]: a handshake each
     (SYN, web's SYN-ACK, your ACK), as in the handshake lab. client.sr1(syn)
     returns web's SYN-ACK.
  2. Send the four data segments interleaved: A's messages[0][0], then B's
     messages[1][0], then A's messages[0][1], then B's messages[1][1], each
     with flags "PA". Each connection has its own numbers: its seq starts at
     its own ISN + 1 and grows by the bytes it sent; its ack is web's ISN + 1
     of that connection (web sends no data). Numbers wrap at 2**32.
  3. Send one data segment (flags "PA", any seq and ack) from stray_port,
     where you opened no connection, to server_ip:port, and see what web's
     kernel answers (client.sr1).
  4. Send one datagram to each of the two udp_ports of web: to port p the
     payload b"for port p" (b"for port 5001" for 5001), with client.send().
     web has a UDP socket on each; they send nothing back.
The lab grades the wire and what web's kernel and applications saw; your
function's return value is not used.

  - Keep the client's ports as given: the lab drops the client kernel's RSTs
    for exactly connections A and B (it knows nothing of them). A SYN-ACK
    web waits on for more than 1 s is sent again: do the handshakes quickly.
  - client.recv(match, timeout=1.0) returns the next incoming frame for
    which match(frame) is true; frames no call took are kept for the next.
  - Time: the call may take 5 s.

    protolab run multiplex --solution my_multiplex.py
"""


def multiplex(client, server_ip: str, port: int, client_ports, messages, stray_port: int, udp_ports):
    """Two interleaved hand-made connections to one port, a segment for no connection, two UDP ports."""
    conns = []
    for sport in client_ports:
        isn = random.randrange(2**32)
        synack = client.sr1(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="S", seq=isn), timeout=1.0)
        if synack is None or TCP not in synack:
            raise RuntimeError(f"no SYN-ACK for the connection from port {sport}")
        seq, ack = (isn + 1) % 2**32, (synack[TCP].seq + 1) % 2**32
        client.send(IP(dst=server_ip) / TCP(sport=sport, dport=port, flags="A", seq=seq, ack=ack))
        conns.append({"sport": sport, "seq": seq, "ack": ack})
    for turn in range(2):  # A's first, B's first, A's second, B's second
        for conn, theirs in zip(conns, messages):
            data = theirs[turn]
            client.send(IP(dst=server_ip) / TCP(sport=conn["sport"], dport=port, flags="PA",
                                                seq=conn["seq"], ack=conn["ack"]) / data)
            conn["seq"] = (conn["seq"] + len(data)) % 2**32
    client.sr1(IP(dst=server_ip) / TCP(sport=stray_port, dport=port, flags="PA", seq=1, ack=1) / b"anyone?", timeout=1.0)
    for udp_port in udp_ports:
        client.send(IP(dst=server_ip) / UDP(sport=stray_port, dport=udp_port) / f"for port {udp_port}".encode())


def procedure(ctx: LabContext) -> None:
    p, web, client = ctx.params, ctx.ip("web"), ctx.host("client")
    listener = ctx.use(TcpListener(ctx.node("web"), p["port"]))
    udp = [ctx.use(UdpService(ctx.node("web"), u)) for u in (p["udp_port"], p["udp_port"] + 1)]
    with SockProbe(ctx.node("web")) as probe:  # ports for which web holds no socket of an earlier run
        ports: list[int] = []
        while len(ports) < 3:
            candidate = probe.free_port((web, p["port"]), client.ip)
            if candidate not in ports:
                ports.append(candidate)
    names = dict(zip(ports, (*NAMES, "stray")))
    for cport in ports[:2]:
        ctx.use(RstGuard(ctx.node("client"), client.ip, cport, web, p["port"]))
    ctx.say(f"web: one TCP listener on port {p['port']}, UDP sockets on ports {p['udp_port']} and {p['udp_port'] + 1}")
    ctx.say(f"client: connection A from port {ports[0]}, B from {ports[1]}; nothing from {ports[2]}")
    ctx.call_student(client, web, p["port"], tuple(ports[:2]), MESSAGES, ports[2], (p["udp_port"], p["udp_port"] + 1))
    read = {}
    for name, cport, theirs in zip(NAMES, ports, MESSAGES):
        accepted = accepted_from(listener, (client.ip, cport), timeout=0.2)
        read[name] = b"".join(queued_reads(accepted.conn, len(b"".join(theirs)), timeout=0.2)) if accepted else None
    ctx.fact("web.accepted", sorted(names.get(a.peer[1], str(a.peer[1])) for a in listener.accepted if a.peer[0] == client.ip))
    sockets = [s for s in tcp_sockets(ctx.node("web"), port=p["port"], states={"ESTABLISHED", "CLOSE_WAIT"})
               if s.peer[0] == client.ip]
    ctx.fact("web.sockets", sorted(names.get(s.peer[1], str(s.peer[1])) for s in sockets))
    ctx.say("web's kernel: " + ", ".join(f"{s.local[0]}:{s.local[1]} ↔ {s.peer[0]}:{s.peer[1]} {s.state}" for s in sockets))
    ctx.fact("web.read", read)
    for service in udp:
        ctx.fact(f"web.udp({service.port})", [d.payload for d in service.wait_for(1, timeout=0.1)])


def expectation(topology, params) -> Expectation:
    client, web, port = str(topology.node("client").ip), str(topology.node("web").ip), params["port"]
    to_web = (SentBy("client"), F("ip.dst") == web, F("tcp.dport") == port)
    entries = []
    for n, name in enumerate(NAMES):
        me = f"c{name}"
        entries += [
            Step(f"{name}: SYN", after=START, match=(*to_web, Flags("S")) + ((F("tcp.sport") != V("cA"),) if n else ()),
                 bind={me: "tcp.sport", f"isn{name}": "tcp.seq"},
                 hint=f"Open connection {name} from client_ports[{n}]: a SYN of its own."),
            Step(f"{name}: SYN-ACK from web",
                 match=(SentBy("web"), F("tcp.sport") == port, F("tcp.dport") == V(me), Flags("SA")),
                 bind={f"web{name}": "tcp.seq"}),
            Step(f"{name}: ACK", match=(*to_web, F("tcp.sport") == V(me), Flags("A")),
                 checks=(Check(F("tcp.seq") == V(f"isn{name}") + 1, f"{name}'s ACK has seq = {name}'s ISN + 1"),
                         Check(F("tcp.ack") == V(f"web{name}") + 1, f"it acknowledges web's ISN + 1 of connection {name}"))),
        ]
    previous = "A: ACK"
    for turn in range(2):
        for n, name in enumerate(NAMES):
            sent_before = sum(len(m) for m in MESSAGES[n][:turn])
            step = f"{name}: data segment {turn + 1}"
            entries.append(Step(
                step, after=previous, match=(*to_web, F("tcp.sport") == V(f"c{name}"), F("tcp.len") > 0),
                checks=(Check(F("tcp.payload") == MESSAGES[n][turn], f"it carries {name}'s message {turn + 1}"),
                        Check(F("tcp.seq") == V(f"isn{name}") + 1 + sent_before,
                              f"{name}'s own numbering: seq = {name}'s ISN + 1" + (f" + {sent_before} bytes sent" if turn else "")),
                        Check(F("tcp.ack") == V(f"web{name}") + 1, f"ack = web's ISN + 1 of connection {name}")),
                hint="Interleave the connections (A's first, B's first, A's second, B's second), "
                     "each segment with its own connection's numbers."))
            previous = step
    everything = tuple(m for theirs in MESSAGES for m in theirs)
    stray = (
        Step("a segment for no connection",
             match=(*to_web, ~Flags("S", exact=False), F("tcp.len") > 0, ~F("tcp.payload").isin(everything),
                    F("tcp.sport") != V("cA"), F("tcp.sport") != V("cB")),
             bind={"stray": "tcp.sport"},
             hint="Send one segment with flags PA from stray_port, where you opened no connection: a segment "
                  "from A's or B's port belongs to that connection."),
        Step("web's kernel: RST", match=(SentBy("web"), F("tcp.sport") == port, F("tcp.dport") == V("stray"),
                                         Flags("R", exact=False)),
             hint="web answers with a RST only a segment whose 4-tuple has no socket."),
    )
    udp_ports = (params["udp_port"], params["udp_port"] + 1)
    datagrams = tuple(
        Step(f"a datagram to UDP port {u}", after=START, match=(SentBy("client"), F("ip.dst") == web, F("ip.proto") == 17, F("udp.dport") == u),
             checks=(Check(F("udp.payload") == f"for port {u}".encode(), f"it carries b'for port {u}'"),),
             hint=f"Send b'for port {u}' to UDP port {u} of web.")
        for u in udp_ports)
    never = (
        Never("no RST from web on A or B", match=(SentBy("web"), F("tcp.sport") == port,
                                                  (F("tcp.dport") == V("cA")) | (F("tcp.dport") == V("cB")),
                                                  Flags("R", exact=False)),
              why="web's kernel reset one of the two connections: a segment of it did not fit the connection's numbers."),
        Never("no RST from the client", match=(SentBy("client"), F("ip.src") == client, Flags("R", exact=False)),
              why="The client's kernel reset a hand-made connection: did it use other ports than client_ports?"),
    )
    facts = (
        Check(Fact("web.accepted") == ["A", "B"], "web's application accepted two connections, A and B (two accept()s)"),
        Check(Fact("web.sockets") == ["A", "B"],
              "web's kernel holds two sockets on its one port, one per 4-tuple (sock_diag)"),
        Check(Fact("web.read") == {name: b"".join(m) for name, m in zip(NAMES, MESSAGES)},
              "each connection's application read its own bytes only, in order"),
        *(Check(Fact(f"web.udp({u})") == [f"for port {u}".encode()], f"web's socket on UDP port {u} received its datagram only")
          for u in udp_ports),
    )
    return Expectation("demultiplexing by the 4-tuple", steps=(
        Phase("two connections to one port", tuple(entries)),
        Phase("a segment for no connection", stray, after=START),
        Phase("two UDP ports", datagrams, after=START),
    ), never=never, facts=facts)


LAB = Lab(
    name="multiplex", title="Demultiplexing by the 4-tuple",
    summary="Two interleaved connections to one server port, a RST for no connection, two UDP ports",
    instructions=INSTRUCTIONS, student=multiplex, procedure=procedure, expectation=expectation,
    columns=("client", "router", "web"),
    params={"port": 80, "udp_port": 5001},
    limits={"port": Range(1, 65535), "udp_port": Range(1, 65534)},
    param_help={"port": "web's TCP port for both connections (your port)",
                "udp_port": "web's first UDP port; the second is the next one (your udp_ports)"},
    variants={"port": Range(8000, 8999), "udp_port": Range(6000, 6998)},
    timeout=5.0,
    facts={
        "web.accepted": ("the connections web's accept() returned (A, B, or another client port), sorted", list),
        "web.sockets": ("web's established sockets on its port from the client, by connection (sock_diag)", list),
        "web.read": ("what web's application read on each connection, A and B", dict),
        "web.udp(*)": ("the payloads web's socket on that UDP port received", list),
    },
)
