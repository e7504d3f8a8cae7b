"""The TCP three-way handshake, by hand.

A lab file has four parts an instructor can edit: the instructions, the
student's part (here `connect`, whose body below is the reference solution),
the procedure that sets the stage and calls it, and the expectations checked
on the captured frames.
"""

from __future__ import annotations

import random
import time

from scapy.layers.inet import IP, TCP

from protolab.expect import Check, Expectation, F, Fact, Flags, Never, SentBy, Step, V
from protolab.kernel.guard import RstGuard
from protolab.lab import Lab, LabContext
from protolab.lab.api import Range
from protolab.servers.listener import TcpListener
from protolab.kernel.sockstate import state_of

INSTRUCTIONS = """\
Before a single byte of data can travel over TCP, the two ends agree on where
their byte streams start. Each side picks an initial sequence number (ISN) and
the other side confirms it. Three segments do the job:

  1. client → server   SYN       seq = x                "I start counting at x"
  2. server → client   SYN-ACK   seq = y, ack = x + 1   "I start at y; I expect your byte x+1 next"
  3. client → server   ACK       seq = x + 1, ack = y + 1

A SYN carries no data but uses up one sequence number, which is why each side
acknowledges the other's ISN plus one. After segment 3 the server's kernel
moves the connection from SYN_RECV to ESTABLISHED and the waiting accept()
returns: only then does the server application see a connection.

Your task: write `connect(client, server_ip, server_port, client_port)` that
opens a TCP connection to the real kernel listener on `web` port 80 without
using the operating system's TCP: craft the three segments yourself.

  - The arguments: `client` (below); `server_ip`, web's address ("10.0.2.80");
    `server_port`, the port web listens on (80; --set port=... changes it);
    `client_port`, the source port your segments must use (always a real
    port: with --set client_port=0, the default, the lab picks one at random).
  - Return (your ISN, web's ISN) as two ints, as the reference does. The lab
    does not grade the return value; it grades what crossed the wire and what
    web's kernel did.
  - `client` sends and receives packets inside the client machine:
      client.sr1(pkt, timeout=1.0) sends an IP packet and returns the first
                                   packet that answers it (or None after
                                   `timeout` s), e.g. web's SYN-ACK to your SYN;
      client.send(pkt)             sends an IP packet without waiting;
      client.recv(match, timeout=1.0)  the next received frame for which
                                   match(frame) is true (or None);
      client.ip                    the client's address.
    Frames that arrive during your call and that no sr1()/recv() took are
    kept, oldest first, for the next one (nothing from before your call).
    Your code runs inside the client machine itself, so scapy's own
    sr1()/send() (`from scapy.all import sr1, send`) work too and act there;
    client.sr1 is quicker, because it keeps its sockets open between packets.
  - Build segments with scapy: `from scapy.layers.inet import IP, TCP`, then
    `IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="S", seq=...)`.
    Choose any ISN you like, 0 to 2**32 - 1. Use the `client_port` you are
    given: the lab protects exactly that connection.
  - Sequence numbers are 32 bits and wrap around: after 4294967295 comes 0.
    With ISN x your ACK carries seq = (x + 1) % 2**32, and it acknowledges
    (y + 1) % 2**32 for web's ISN y.
  - Time: each call may take 5 s. Before your SYN nothing waits, but once web
    has sent its SYN-ACK, its kernel sends it again if your ACK has not
    arrived 1 s later (the kernel's initial retransmission timeout, which the
    lab cannot lengthen), and a SYN-ACK sent twice fails the check "no
    retransmission". Keep what you do between the SYN-ACK and your ACK under
    half a second: a few prints are fine, time.sleep(1) is not.
  - The client's own kernel knows nothing about your connection, so when the
    SYN-ACK arrives it would normally answer with a RST ("who are you?").
    The lab installs a firewall rule that drops those RSTs for your
    connection. Run with `--set guard=false` to watch the kernel spoil it.

Hand in a Python file defining `connect` and run:
    protolab run handshake --solution my_handshake.py

The capture of both LANs is checked: your SYN, web's SYN-ACK acknowledging
your ISN + 1, your ACK with seq = ISN + 1 and ack = web's ISN + 1, no RST from
either side, and web's listener really accepting the connection.
"""


def connect(client, server_ip: str, server_port: int, client_port: int):
    """Open a TCP connection by hand; return (our ISN, the server's ISN)."""
    isn = random.randrange(2**32)
    syn = IP(dst=server_ip) / TCP(sport=client_port, dport=server_port, flags="S", seq=isn)
    synack = client.sr1(syn, timeout=2.0)
    if synack is None or TCP not in synack:
        raise RuntimeError("no answer to the SYN")
    server_isn = synack[TCP].seq
    ack = IP(dst=server_ip) / TCP(
        sport=client_port, dport=server_port, flags="A", seq=(isn + 1) % 2**32, ack=(server_isn + 1) % 2**32
    )
    client.send(ack)
    return isn, server_isn


def procedure(ctx: LabContext) -> None:
    web, port = ctx.node("web"), ctx.params["port"]
    listener = ctx.use(TcpListener(web, port))
    ctx.say(f"web: a kernel TCP listener waits in accept() on {ctx.ip('web')}:{port}")
    client = ctx.host("client")
    client_port = ctx.params["client_port"] or random.randrange(40000, 61000)
    if ctx.params["guard"]:
        ctx.use(RstGuard(ctx.node("client"), client.ip, client_port, ctx.ip("web"), port))
        ctx.say(f"client: nftables drops the kernel's RSTs for {client.ip}:{client_port} → {ctx.ip('web')}:{port}")
    else:
        ctx.say("client: guard OFF — the client kernel is free to reset the hand-made connection")
    ctx.say(f"client: your connect() runs from {client.ip}:{client_port}")
    ctx.call_student(client, ctx.ip("web"), port, client_port)
    accepted = _wait_accept(listener, web, port, (client.ip, client_port))
    ctx.fact("web.accepted", accepted is not None and accepted.peer == (client.ip, client_port))
    ctx.fact("web.state", state_of(web, port, (client.ip, client_port)) or "CLOSED (no socket)")
    if accepted:
        ctx.say(f"web: accept() returned a connection from {accepted.peer[0]}:{accepted.peer[1]}")


def _wait_accept(listener, web, port: int, peer: tuple[str, int], limit: float = 0.5, grace: float = 0.1):
    """web's accept() of the client's connection, once the student's code has returned.

    Nothing more comes from the client then, so after `grace` s (the last ACK's
    way through the router) only an ESTABLISHED connection is worth waiting for,
    up to `limit` s, while the listener's thread takes it from the queue; a
    handshake that never happened, was reset or stays half-open is not."""
    deadline = time.monotonic() + limit
    accepted = listener.wait_accept(timeout=grace)
    while accepted is None and time.monotonic() < deadline and state_of(web, port, peer) == "ESTABLISHED":
        accepted = listener.wait_accept(timeout=0.02)
    return accepted


def expectation(topology, params) -> Expectation:
    client, web, port = str(topology.node("client").ip), str(topology.node("web").ip), params["port"]
    to_web = (F("ip.src") == client, F("ip.dst") == web, F("tcp.dport") == port)
    from_web = (F("ip.src") == web, F("ip.dst") == client, F("tcp.sport") == port, F("tcp.dport") == V("cport"))
    return Expectation(
        name="TCP three-way handshake",
        steps=(
            Step(
                "SYN from client",
                match=(*to_web, Flags("S")),
                bind={"isn": "tcp.seq", "cport": "tcp.sport"},
                hint="Send a segment with only the SYN flag set to web's port.",
            ),
            Step(
                "SYN-ACK from web",
                match=(*from_web, Flags("SA")),
                checks=(Check(F("tcp.ack") == V("isn") + 1, "the SYN-ACK acknowledges the client's ISN + 1"),),
                bind={"server_isn": "tcp.seq"},
                hint="web answers a SYN only if it reached its port with the SYN flag alone.",
            ),
            Step(
                "ACK from client",
                match=(*to_web, F("tcp.sport") == V("cport"), Flags("A")),
                checks=(
                    Check(F("tcp.seq") == V("isn") + 1, "the ACK continues the client's numbering at ISN + 1 (the SYN used one number)"),
                    Check(F("tcp.ack") == V("server_isn") + 1, "the ACK acknowledges web's ISN + 1"),
                ),
                hint="The handshake ends with the client's ACK: flags A only, seq = ISN + 1, ack = web's ISN + 1.",
            ),
        ),
        never=(
            Never(
                "no RST from the client",
                match=(SentBy("client"), F("ip.src") == client, Flags("R", exact=False)),
                why="The client's kernel had no socket for this hand-made connection, so it reset it. "
                "The guard rule drops exactly these RSTs: was it off, or did the segments use another port?",
            ),
            Never(
                "no RST from web",
                match=(SentBy("web"), F("ip.src") == web, Flags("R", exact=False)),
                why="web's kernel rejected a segment of this connection (a wrong acknowledgement number, "
                "or a segment for a connection it had already dropped).",
            ),
            Never(
                "no retransmission",
                match=(F("tcp.retransmission").is_(True),),
                why="A segment was sent again because its answer did not come in time.",
            ),
        ),
        facts=(
            Check(Fact("web.accepted").is_(True), "web's listener accepted the connection (accept() returned)"),
            Check(Fact("web.state") == "ESTABLISHED", "web's kernel holds the connection as ESTABLISHED"),
        ),
    )


LAB = Lab(
    name="handshake",
    title="TCP three-way handshake by hand",
    summary="Open a TCP connection to a real kernel listener with hand-made SYN / ACK segments",
    instructions=INSTRUCTIONS,
    student=connect,
    procedure=procedure,
    expectation=expectation,
    columns=("client", "router", "web"),
    params={"port": 80, "client_port": 0, "guard": True},
    limits={"port": Range(1, 65535), "client_port": Range(0, 65535, note="0 picks one at random")},
    param_help={
        "port": "the port web's listener waits on (your server_port)",
        "client_port": "the source port of your segments (your client_port)",
        "guard": "drop the client kernel's RSTs for your connection (false: watch the kernel reset it)",
    },
    # with --student: web listens on a port of the student's own, and the client uses one of its own
    variants={"port": Range(8000, 8999), "client_port": Range(40000, 49999)},
    timeout=5.0,
    facts={
        "web.accepted": ("web's accept() returned the client's connection", bool),
        "web.state": "web's kernel state of the connection after your code returned",
    },
)
