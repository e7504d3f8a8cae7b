"""UDP by hand: three datagrams to a real echo service, and what a closed port says."""

from __future__ import annotations

import random

from scapy.layers.inet import IP, UDP

from protolab.expect import START, Check, Expectation, F, Fact, Layer, Never, SentBy, Step, V
from protolab.kernel.sysctl import changed_sysctls
from protolab.kernel.udpguard import PortUnreachableGuard
from protolab.lab.api import Lab, LabContext, Range
from protolab.servers.udp import UdpService

MESSAGES = (b"one", b"two", b"three")

INSTRUCTIONS = """\
UDP sends datagrams: each one travels alone, with a source and a destination
port, and nothing connects them. An echo service sends every datagram back to
the address and port it came from; a port where nothing listens makes the
receiver's kernel answer with ICMP "destination unreachable, port unreachable".

Your task: write `echo(client, server_ip, port, closed_port, client_port, messages)`:
  1. for each of the three messages, one at a time: send it in a datagram of
     its own from `client_port` to server_ip:port, and wait for its echo;
  2. send one datagram to server_ip:closed_port, where nothing listens;
  3. return the payloads of the three echoes, in order, as a list of bytes.
Build datagrams with scapy (`from scapy.layers.inet import IP, UDP`):
IP(dst=server_ip) / UDP(sport=client_port, dport=port) / message, and send them
with client.sr1(pkt, timeout=1.0), which returns the answer (or None). Your
client has no UDP socket on client_port: the lab keeps its kernel from
answering the echoes with a port unreachable of its own (--set guard=false).

    protolab run udp_echo --solution my_echo.py
"""


def echo(client, server_ip: str, port: int, closed_port: int, client_port: int, messages):
    """Send each message and wait for its echo; then knock on the closed port; return the echoes."""
    echoes = []
    for message in messages:
        answer = client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=port) / message, timeout=1.0)
        echoes.append(bytes(answer[UDP].payload) if answer is not None and UDP in answer else None)
    client.sr1(IP(dst=server_ip) / UDP(sport=client_port, dport=closed_port) / b"anyone?", timeout=1.0)
    return echoes


def procedure(ctx: LabContext) -> None:
    p, web, client = ctx.params, ctx.ip("web"), ctx.host("client")
    service = ctx.use(UdpService(ctx.node("web"), p["port"], echo=True))
    ctx.use(changed_sysctls(ctx.node("web"), {"net.ipv4.icmp_ratelimit": 0}))  # its answer, even right after another run
    cport = p["client_port"] or random.randrange(40000, 61000)
    if p["guard"]:
        ctx.use(PortUnreachableGuard(ctx.node("client"), client.ip, cport, web, p["port"]))
    ctx.say(f"web: a UDP echo service on port {p['port']}; nothing listens on {p['closed_port']}")
    echoes = ctx.call_student(client, web, p["port"], p["closed_port"], cport, MESSAGES)
    ctx.fact("echoes", list(echoes) if isinstance(echoes, (list, tuple)) else echoes)
    ctx.fact("web.received", [d.payload for d in service.wait_for(len(MESSAGES), timeout=0.2)])


def expectation(topology, params) -> Expectation:
    client, web, port = str(topology.node("client").ip), str(topology.node("web").ip), params["port"]
    steps = []
    for n, message in enumerate(MESSAGES, 1):
        steps += [
            Step(f"datagram {n} to web's echo port",
                 match=(SentBy("client"), F("ip.dst") == web, F("udp.dport") == port),
                 checks=(Check(F("udp.payload") == message, f"datagram {n} carries message {n} alone"),),
                 bind={"cport": "udp.sport"} if n == 1 else {},
                 hint=f"Send each message in a datagram of its own to port {port}; wait for its echo before the next."),
            Step(f"web echoes datagram {n}",
                 match=(SentBy("web"), F("ip.dst") == client, F("udp.sport") == port, F("udp.dport") == V("cport")),
                 checks=(Check(F("udp.payload") == message, f"the echo carries message {n} back"),)),
        ]
    steps += [
        Step("a datagram to the closed port", after=START,
             match=(SentBy("client"), F("ip.dst") == web, F("udp.dport") == params["closed_port"]),
             hint=f"Send one datagram to port {params['closed_port']} of web, where nothing listens."),
        Step("web's kernel: port unreachable",
             match=(SentBy("web"), F("ip.dst") == client, F("icmp.type") == 3, F("icmp.inner_proto") == 17),
             checks=(Check(F("icmp.code") == 3, "code 3, port unreachable: no socket holds that port"),)),
    ]
    never = (Never("no TCP to the echo port", match=(Layer("tcp"), F("tcp.dport") == port), why="UDP needs no connection."),
             Never("no port unreachable from the client", match=(SentBy("client"), F("icmp.type") == 3),
                   why="The client's kernel had no socket on your port and refused web's echo (was --set guard=false?)."))
    facts = (Check(Fact("web.received") == list(MESSAGES), "web's echo service read the three messages, one datagram each"),
             Check(Fact("echoes") == list(MESSAGES), "your echo() returns the three echoes, in order"))
    return Expectation("UDP echo by hand", steps=tuple(steps), never=never, facts=facts)


LAB = Lab(
    name="udp_echo", title="UDP echo by hand", summary="Three hand-made datagrams to a real UDP echo service, and a closed port",
    instructions=INSTRUCTIONS, student=echo, procedure=procedure, expectation=expectation, columns=("client", "router", "web"),
    params={"port": 7, "closed_port": 9, "client_port": 0, "guard": True},
    limits={"port": Range(1, 65535), "closed_port": Range(1, 65535), "client_port": Range(0, 65535, note="0 picks one")},
    check_params=lambda p: "port and closed_port must differ" if p["port"] == p["closed_port"] else None,
    variants={"port": Range(7000, 7999)},  # with --student: an echo port of the student's own
    facts={"echoes": "what your echo() returned (a list of the echoes' payloads)",
           "web.received": ("the payloads web's echo service read, in order", list)},
)
