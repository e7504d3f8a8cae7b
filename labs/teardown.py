"""Data transfer and the TCP close (FIN, ACK, TIME_WAIT), by hand.

A lab file has four parts an instructor can edit: the instructions, the
student's part (here `send_and_close`, whose body below is the reference
solution), the procedure that sets the stage and calls it, and the
expectations checked on the captured frames and on what web's kernel reported.
"""

from __future__ import annotations

from scapy.layers.inet import IP, TCP

from protolab.errors import LabError
from protolab.expect import Check, Expectation, F, Fact, Flags, Never, SentBy, Step, V
from protolab.expect.records import FrameTime
from protolab.kernel.guard import RstGuard
from protolab.kernel.rto import RtoMin
from protolab.kernel.sockstate import GONE, SockProbe
from protolab.kernel.tcpwatch import WatchedHost
from protolab.lab import Lab, LabContext
from protolab.lab.api import OneOf, Range
from protolab.live.endpoint import ConnectError, Endpoint
from protolab.servers.listener import TcpListener
from protolab.servers.tcpapp import ConnectionApp

CLOSERS = ("client", "server")
MAX_DATA = 1000  # bytes: one segment, well below the MSS
RTO_MIN_MS = 2500  # web's minimum retransmission timeout towards the client: slack for a student's pauses

INSTRUCTIONS = """\
TCP numbers every byte it carries. After the handshake each side keeps two
counters: seq, the number of the next byte it sends, and ack, the number of
the next byte it expects from the other side. Data moves seq on by its length.
A FIN ("I have nothing more to send") carries no data but uses up one number,
exactly like the SYN did, so the answer to a FIN with seq = f is ack = f + 1.

The lab opens a connection from the client to the real kernel listener on
`web` port 80 by hand, then hands it to you. You send a few bytes and close.
Closing takes four segments, because each direction is closed on its own:

  closer=client (the default): you close first
    you  → web   FIN  seq = x           web's socket: ESTABLISHED → CLOSE_WAIT
    web  → you   ACK  ack = x + 1       (web's application now reads end-of-file
                                         and closes its socket)
    web  → you   FIN  seq = y           web's socket: LAST_ACK (waits for your ACK)
    you  → web   ACK  seq = x + 1, ack = y + 1   web's socket is gone

  closer=server (--set closer=server): web's application closes as soon as it
  has read your bytes
    web  → you   FIN  seq = y           web's socket: FIN_WAIT1
    you  → web   ACK  ack = y + 1       web's socket: FIN_WAIT2
    you  → web   FIN  seq = x           (still your own next number)
    web  → you   ACK  ack = x + 1       web's socket: TIME_WAIT

The side that closes first ends in TIME_WAIT: its kernel keeps the
connection's numbers for 2 MSL (twice the Maximum Segment Lifetime; Linux uses
60 s) so that it can repeat the last ACK if that ACK is lost, and so that a
late duplicate of an old segment cannot be taken for data of a new connection
with the same addresses and ports. The lab shows the timer; it does not wait.

Your task: write `send_and_close(client, conn, data, closer)`. It returns
nothing (None): the lab reads the capture and web's kernel.

  - `client`: the client machine's packet I/O (below). `conn` holds the
    numbers the handshake left you: conn.seq (your next sequence number),
    conn.ack (the next number you expect from web), and conn.src, conn.sport,
    conn.dst, conn.dport. `data`: the bytes to send (--set data=...).
    `closer`: "client" (you close first) or "server" (web does).
  - Send `data` in one segment with flags "PA" (PSH-ACK), wait until web
    acknowledges it (an ACK with ack = your seq + len(data)), and only then
    close as the four-segment exchange above says for `closer`. Acknowledge
    web's FIN with a pure ACK (flags "A"), as its own segment.
  - Craft the segments with scapy:
        from scapy.layers.inet import IP, TCP
        IP(dst=conn.dst) / TCP(sport=conn.sport, dport=conn.dport, flags="PA",
                               seq=..., ack=...) / data
    and keep your own seq and ack up to date. Sequence numbers are 32 bits
    and wrap around: after 4294967295 comes 0, so always write (n + k) % 2**32
    (conn.seq may be close to the top).
  - client.send(pkt) sends an IP packet; client.recv(match, timeout=1.0)
    returns the next received Ethernet frame for which match(frame) is true
    (or None after `timeout` s), e.g. a match that checks
    frame[TCP].sport == conn.dport and "F" in str(frame[TCP].flags).
    What recv keeps: nothing from before your function was called; from then
    on every frame that arrives and that no recv() has taken yet, oldest
    first, also the ones your match turned down. A segment that came while
    you slept or printed is not lost: the next recv() finds it at once.
  - What web may send (all legal TCP, so be ready for each):
      closer=client: web's ACK of your FIN and its own FIN come as two
        segments (flags A, then FA), or as one (flags FA, ack = your FIN
        seq + 1): look for the F flag in the ACK you waited for.
      closer=server: web's ACK of your data comes alone (flags A), or rides
        on its FIN (one segment with flags FA and ack = your seq + len(data)).
      An ACK may come up to ~40 ms late (delayed ACK).
  - Time: each call may take 10 s in all. While web waits for an ACK of its
    FIN, its kernel sends the FIN again once its retransmission timeout (RTO)
    runs out; Linux's floor is 200 ms, so for this lab the lab sets web's
    minimum RTO to 2.5 s for the route to the client (restored after the
    run). A sleep or some prints of up to about 2 s between two of your
    segments are fine; longer, and web sends its FIN again (a failed check).
  - The client's own kernel has no socket for this connection and would answer
    web's segments with RSTs; the lab drops those RSTs for your connection.
  - Send through `client.send`: the lab watches web's socket state before
    each of your segments leaves (states such as LAST_ACK last only until
    your next segment). scapy's own send() works too (your code runs inside
    the client), but then the lab cannot read web's states on the way.
  - (protolab.live.endpoint.Endpoint does all this bookkeeping for you; the lab uses
    it for the handshake. Here, do the arithmetic yourself.)

Hand in a Python file defining `send_and_close` and run:
    protolab run teardown --solution my_teardown.py [--set closer=server]

Checked on the capture: your data's seq and payload, web's ACK of it
(ack = seq + length), your FIN's seq (right after your data; with
closer=client, sent only after web's ACK of the data), web's ACK of
your FIN (FIN seq + 1), web's FIN and your ACK of it (its seq + 1), no RST and
no segment that web had to send again. Checked in web's kernel and application:
the bytes the application read, and the states of web's socket on the way.
"""


def send_and_close(client, conn, data: bytes, closer: str) -> None:
    """Send `data`, then close the connection; `closer` says who sends the first FIN."""
    seq, ack = conn.seq, conn.ack

    def segment(flags: str, payload: bytes = b""):
        tcp = TCP(sport=conn.sport, dport=conn.dport, flags=flags, seq=seq, ack=ack)
        return IP(dst=conn.dst) / tcp / payload if payload else IP(dst=conn.dst) / tcp

    def wait(flags: str, what: str, acking: int | None = None):
        def match(frame):
            if TCP not in frame or frame[IP].src != conn.dst or frame[TCP].dport != conn.sport:
                return False
            tcp = frame[TCP]
            return set(flags) <= set(str(tcp.flags)) and (acking is None or tcp.ack == acking)

        frame = client.recv(match, timeout=1.0)
        if frame is None:
            raise RuntimeError(f"web did not send {what}")
        return frame[TCP]

    client.send(segment("PA", data))
    seq = (seq + len(data)) % 2**32  # data uses one number per byte

    if closer == "client":
        wait("A", "an ACK of the data", acking=seq)
        client.send(segment("FA"))
        seq = (seq + 1) % 2**32  # the FIN uses one number
        reply = wait("A", "an ACK of the FIN", acking=seq)
        fin = reply if "F" in str(reply.flags) else wait("F", "its FIN")
        ack = (fin.seq + 1) % 2**32  # acknowledge web's FIN: its number + 1
        client.send(segment("A"))
    else:
        reply = wait("A", "an ACK of the data", acking=seq)  # it may ride on web's FIN
        fin = reply if "F" in str(reply.flags) else wait("F", "its FIN")
        ack = (fin.seq + 1) % 2**32
        client.send(segment("A"))
        client.send(segment("FA"))
        seq = (seq + 1) % 2**32
        wait("A", "an ACK of the FIN", acking=seq)


def check_params(params) -> None:
    if params["closer"] not in CLOSERS:
        raise LabError(f"parameter closer={params['closer']!r}: expected client or server")
    if not 0 < len(params["data"].encode()) <= MAX_DATA:
        raise LabError(f"parameter data: give 1 to {MAX_DATA} bytes to send")


def procedure(ctx: LabContext) -> None:
    check_params(ctx.params)
    closer, data = ctx.params["closer"], ctx.params["data"].encode()
    web, port, web_ip = ctx.node("web"), ctx.params["port"], ctx.ip("web")
    listener = ctx.use(TcpListener(web, port))
    ctx.say(f"web: a kernel TCP listener waits in accept() on {web_ip}:{port}")
    client = WatchedHost(ctx.node("client"), web)
    ctx.stack.callback(client.close)
    probe = ctx.use(SockProbe(web))
    client_port = ctx.params["client_port"] or probe.free_port((web_ip, port), client.ip)
    ctx.use(RstGuard(ctx.node("client"), client.ip, client_port, web_ip, port))
    ctx.say(f"client: nftables drops the kernel's RSTs for {client.ip}:{client_port} → {web_ip}:{port}, the close included")
    ctx.use(RtoMin(web, client.ip, RTO_MIN_MS))  # before the connection opens: its sockets take the route's rto_min
    ctx.say(f"web: its kernel waits at least {RTO_MIN_MS / 1000:g} s before sending a segment to {client.ip} again "
            "(rto_min on its route to the client; Linux's default is 0.2 s)")

    endpoint = Endpoint(client, web_ip, port, client_port)
    try:
        conn = endpoint.connect()
    except ConnectError as exc:
        ctx.problems.append(f"the lab could not open the connection: {exc}")
        return
    accepted = listener.wait_accept(timeout=0.5)
    if accepted is None or accepted.peer != (client.ip, client_port):
        ctx.problems.append("the lab opened the connection but web's listener did not accept it")
        return
    ctx.say(f"lab: handshake done by hand; your numbers: seq = {conn.seq}, ack = {conn.ack}")

    # web's application reads your bytes; it closes once it has them all (closer=server) or at
    # end-of-file (your FIN), noting its socket's state then
    app = ctx.use(ConnectionApp(accepted.conn, close_after=len(data) if closer == "server" else None,
                                on_eof=lambda: probe.state((web_ip, port), (client.ip, client_port))))
    client.watch(client_port, (web_ip, port))
    who = "you close first" if closer == "client" else "web closes first"
    ctx.say(f"client: your send_and_close() sends {len(data)} bytes ({data!r}), then closes: {who}")
    ctx.call_student(client, conn, data, closer)
    app.finish(grace=0.05)

    notes = client.notes()  # first: what the student's process noted tells how many segments web must take in
    end = client.settled()
    _narrate_app(ctx, closer, app)
    if end is not None and end.timer == "retransmit":
        ctx.say(f"web: its socket is in {end.state} and nothing acknowledged its FIN; its kernel sends it again "
                f"when its retransmission timeout (RTO, now {end.rto_ms} ms) runs out: the lab waits for that")
        end = client.wait_for_retransmission(end, limit=RTO_MIN_MS / 1000 + 0.5)
    facts = _facts(closer, app, notes, end)
    ctx.facts.update(facts)
    _narrate_states(ctx, closer, facts, end)


# what a state left at the end of the lab means, for the narration
STATE_MEANING = {
    "ESTABLISHED": "web never took a FIN from you",
    "CLOSE_WAIT": "web took your FIN but its application has not closed",
    "LAST_ACK": "web still waits for the ACK of its FIN",
    "FIN_WAIT1": "web's FIN is still unacknowledged",
    "FIN_WAIT2": "web's FIN was acknowledged, but web never took a FIN from you",
    "CLOSING": "your FIN arrived while web's own FIN was still unacknowledged",
    "TIME_WAIT": "both FINs were acknowledged; web closed first, so it keeps the connection's numbers for 2 MSL",
    GONE: "the connection is over and forgotten",
}


def _facts(closer: str, app: ConnectionApp, notes, end) -> dict:
    end_state = end.state if end else GONE
    # fin_at is taken before web's FIN leaves and a note's time before web's state is read: every segment
    # sent in answer to web's FIN has a note later than fin_at, and a note earlier than it saw web before its FIN
    after_close = [n for n in notes if app.fin_at is not None and n.time > app.fin_at]
    if app.fin_at is None:
        after_its_fin = "none: web's application never closed (it sent no FIN)"
    else:
        after_its_fin = after_close[0].peer_state if after_close else end_state
    facts = {"web.read": bytes(app.read), "web.state_after_its_fin": after_its_fin, "web.state_at_end": end_state}
    if closer == "client":
        facts["web.state_after_your_fin"] = app.eof_note or (
            f"{end_state} (web's application never read end-of-file: web did not take your FIN)"
        )
    else:
        fins = [n for n in notes if "F" in n.flags]
        facts["web.state_when_your_fin_left"] = fins[0].peer_state if fins else "none: you sent no FIN"
        facts["web.time_wait_left_s"] = round(end.expires_ms / 1000, 1) if end and end.state == "TIME_WAIT" else 0
    return facts


def _narrate_app(ctx: LabContext, closer: str, app: ConnectionApp) -> None:
    ctx.say(f"web: the application read {len(app.read)} bytes: {bytes(app.read)!r}")
    if closer == "client" and app.eof_note:
        ctx.say(f"web: the application read end-of-file (your FIN) with its socket in {app.eof_note}, and closed → web's FIN")
    elif closer == "client":
        ctx.say("web: the application never read end-of-file (web did not take a FIN from you), so it never closed")
    elif app.fin_at is not None:
        ctx.say("web: the application closed its socket right after reading → web's FIN")
    else:
        ctx.say("web: the application waited for your bytes in vain and never closed")


def _narrate_states(ctx: LabContext, closer: str, facts: dict, end) -> None:
    order = ("web.state_after_your_fin", "web.state_after_its_fin", "web.state_when_your_fin_left", "web.state_at_end")
    states = [facts[key] for key in order if key in facts and facts[key] in STATE_MEANING]
    path = [state for i, state in enumerate(states) if i == 0 or state != states[i - 1]]
    final = facts["web.state_at_end"]
    ctx.say(f"web: its socket went {' → '.join(path)}: {STATE_MEANING.get(final, final)}")
    if end is not None and end.state == "TIME_WAIT":
        ctx.say(f"web: the kernel's TIME_WAIT timer has {end.expires_ms / 1000:.1f} s left of 2 MSL (60 s on Linux); "
                "the lab does not wait it out")


def expectation(topology, params) -> Expectation:
    check_params(params)
    closer, data = params["closer"], params["data"].encode()
    client, web, port = str(topology.node("client").ip), str(topology.node("web").ip), params["port"]
    # each segment is matched where its sender put it on the wire (the router forwards a copy)
    to_web = (SentBy("client"), F("ip.src") == client, F("ip.dst") == web, F("tcp.dport") == port)
    mine = (*to_web, F("tcp.sport") == V("cport"))
    from_web = (SentBy("web"), F("ip.src") == web, F("ip.dst") == client, F("tcp.sport") == port, F("tcp.dport") == V("cport"))
    opening = (
        Step("SYN (the lab opens the connection)", match=(*to_web, Flags("S")), bind={"isn": "tcp.seq", "cport": "tcp.sport"},
             hint="The lab's own handshake did not start: see the notes below."),
        Step("SYN-ACK from web", match=(*from_web, Flags("SA")), bind={"server_isn": "tcp.seq"}),
        Step("ACK (the connection is open)", match=(*mine, Flags("A")),
             checks=(Check(F("tcp.seq") == V("isn") + 1, "the handshake ends at ISN + 1"),)),
        Step(
            "your data",
            match=(*mine, F("tcp.len") > 0),
            checks=(
                Check(Flags("PA"), "data goes out with flags PSH-ACK"),
                Check(F("tcp.seq") == V("isn") + 1, "your data starts where the handshake left you: seq = ISN + 1 (the SYN used one number)"),
                Check(F("tcp.ack") == V("server_isn") + 1, "it acknowledges web's SYN and nothing more: ack = web's ISN + 1 "
                      "(web's kernel drops a segment that acknowledges bytes web never sent, data included)"),
                Check(F("tcp.payload") == data, "it carries exactly the lab's bytes"),
            ),
            bind={"data_seq": "tcp.seq", "data_len": "tcp.len"},
            hint=f"Send the {len(data)} bytes of `data` in one segment with flags PA, seq = conn.seq and ack = conn.ack.",
        ),
        Step(
            "web ACKs your data",
            # a real kernel may delay this ACK and send it with web's FIN (web closes first), or
            # acknowledge your FIN with it too (you close first): all three are legal TCP
            match=(*from_web, Flags("A") | Flags("FA")),
            checks=(Check((F("tcp.ack") == V("data_seq") + V("data_len")) | (F("tcp.ack") == V("data_seq") + V("data_len") + 1),
                          "web acknowledges every byte: ack = data seq + length (+ 1 if it takes your FIN too)"),),
            bind={"data_acked_at": FrameTime()},
            hint="web takes data only if it starts at the number web expects next and acknowledges nothing web has not sent.",
        ),
    )
    if closer == "client":
        steps, facts = _client_closes_first(mine, from_web), _client_first_facts(data)
    else:
        steps, facts = _web_closes_first(mine, from_web), _web_first_facts(data)
    return Expectation(
        name=f"TCP data and close ({'you close' if closer == 'client' else 'web closes'} first)",
        steps=opening + steps,
        never=(
            Never(
                "no RST from the client",
                match=(SentBy("client"), F("ip.src") == client, F("tcp.sport") == V("cport"), Flags("R", exact=False)),
                why="The client's kernel has no socket for this hand-made connection and reset it. "
                "The lab's guard drops exactly these RSTs: did a segment use another port?",
            ),
            Never(
                "no RST from web",
                match=(F("ip.src") == web, F("tcp.dport") == V("cport"), Flags("R", exact=False)),
                why="web's kernel rejected a segment of this connection, e.g. data after its application had closed the socket.",
            ),
            Never(
                "no segment sent again by web",
                match=(F("ip.src") == web, F("tcp.dport") == V("cport"), F("tcp.retransmission").is_(True)),
                why="web sent this segment a second time: nothing acknowledged it within its retransmission timeout "
                f"(RTO, {RTO_MIN_MS / 1000:g} s in this lab). A FIN sent again means web's socket is still waiting for the ACK of its FIN.",
            ),
        ),
        facts=facts,
    )


# checks and hints both variants share
FIN_SEQ = Check(
    F("tcp.seq") == V("data_seq") + V("data_len"),
    "your FIN must take the number right after your data: seq = data seq + length. web's kernel ignores "
    "a FIN with any other number: it lies outside the window of numbers web accepts",
)
FIN_HINT = "A FIN is a segment with flags FA (FIN-ACK) and no data; your data moved your seq on by its length."
FIN_ACKED = Check(F("tcp.ack") == V("fin_seq") + 1, "web acknowledges your FIN: ack = FIN seq + 1 (a FIN uses one sequence number)")
WEB_FIN_SEQ = Check(F("tcp.seq") == V("server_isn") + 1, "web's FIN takes its next number: web's ISN + 1 (web sent no data)")
WEB_FIN_ACKED = Check(F("tcp.ack") == V("web_fin") + 1, "it acknowledges web's FIN: ack = web's FIN seq + 1 (a FIN uses one number)")
ACK_HINT = ("Answer web's FIN with a segment of its own, flags A only. Until its FIN is acknowledged web keeps "
            "its socket waiting and sends the FIN again when its retransmission timeout runs out.")


def _client_closes_first(mine, from_web) -> tuple[Step, ...]:
    return (
        # matched after your data, so that a FIN sent too early is named as such (not "missing")
        Step("your FIN", match=(*mine, Flags("F", exact=False)), bind={"fin_seq": "tcp.seq"}, hint=FIN_HINT,
             after="your data", checks=(
            FIN_SEQ, Check(F("tcp.ack") == V("server_isn") + 1, "it acknowledges everything web sent: ack = web's ISN + 1"),
            Check(FrameTime() > V("data_acked_at"), "your FIN leaves only after web acknowledged your data "
                  "(wait for its ACK: ack = data seq + length)"),
        )),
        Step("web ACKs your FIN", match=(*from_web, Flags("A") | Flags("FA")), checks=(FIN_ACKED,),
             hint="If web's ACK repeats an older number, web's kernel ignored your FIN: its sequence number was not "
             "the next one web expected, so the FIN lay outside web's receive window; web dropped it and repeated "
             "its last ACK (a duplicate ACK), and its socket stayed ESTABLISHED."),
        Step("FIN from web", match=(*from_web, Flags("F", exact=False)), checks=(WEB_FIN_SEQ,), bind={"web_fin": "tcp.seq"},
             may_share=True, hint="web's application closes when it reads end-of-file, i.e. once web's kernel took your FIN."),
        Step("your ACK of web's FIN", match=(*mine, Flags("A")), hint=ACK_HINT, checks=(
            Check(F("tcp.seq") == V("fin_seq") + 1, "after your FIN your seq is FIN seq + 1 (the FIN used one number)"),
            WEB_FIN_ACKED,
        )),
    )


def _web_closes_first(mine, from_web) -> tuple[Step, ...]:
    return (
        Step("FIN from web", match=(*from_web, Flags("F", exact=False)), checks=(WEB_FIN_SEQ,), bind={"web_fin": "tcp.seq"},
             may_share=True, hint="web's application closes right after it has read all your bytes."),
        # your FIN may carry the ACK of web's FIN (one FIN+ACK): legal, and what a kernel does when it closes at once
        Step("your ACK of web's FIN", match=(*mine, Flags("A") | Flags("FA")), hint=ACK_HINT, checks=(
            Check(F("tcp.seq") == V("data_seq") + V("data_len"), "an ACK uses no number: seq = data seq + length"),
            WEB_FIN_ACKED,
        )),
        Step("your FIN", match=(*mine, Flags("F", exact=False)), bind={"fin_seq": "tcp.seq"}, hint=FIN_HINT, may_share=True, checks=(
            FIN_SEQ, Check(F("tcp.ack") == V("web_fin") + 1, "it still acknowledges web's FIN: ack = web's FIN seq + 1"),
        )),
        Step("web ACKs your FIN", match=(*from_web, Flags("A")), checks=(
            FIN_ACKED, Check(F("tcp.seq") == V("web_fin") + 1, "its seq comes after its own FIN: web's FIN seq + 1"),
        )),
    )


def _client_first_facts(data: bytes) -> tuple[Check, ...]:
    return (
        Check(Fact("web.read") == data, "web's application read exactly the bytes you sent"),
        Check(Fact("web.state_after_your_fin") == "CLOSE_WAIT", "your FIN put web's socket in CLOSE_WAIT (its application read end-of-file)"),
        Check(Fact("web.state_after_its_fin") == "LAST_ACK", "web's socket waited in LAST_ACK after sending its FIN"),
        Check(Fact("web.state_at_end") == GONE, "web's socket is gone once your last ACK arrived"),
    )


def _web_first_facts(data: bytes) -> tuple[Check, ...]:
    return (
        Check(Fact("web.read") == data, "web's application read exactly the bytes you sent"),
        Check(Fact("web.state_after_its_fin") == "FIN_WAIT1", "web's socket was in FIN_WAIT1 after sending its FIN"),
        Check(Fact("web.state_when_your_fin_left") == "FIN_WAIT2", "web's socket was in FIN_WAIT2 when your FIN left (your ACK had arrived)"),
        Check(Fact("web.state_at_end") == "TIME_WAIT", "web's socket ends in TIME_WAIT (web closed first)"),
        Check(Fact("web.time_wait_left_s") > 0, "web's kernel runs the TIME_WAIT timer (2 MSL)"),
    )


LAB = Lab(
    name="teardown",
    title="TCP data and the four-way close by hand",
    summary="Send data on a hand-made TCP connection, then close it with FIN/ACK; watch CLOSE_WAIT, LAST_ACK, TIME_WAIT",
    instructions=INSTRUCTIONS,
    student=send_and_close,
    procedure=procedure,
    expectation=expectation,
    columns=("client", "router", "web"),
    params={"port": 80, "client_port": 0, "closer": "client", "data": "hello, web"},
    limits={"port": Range(1, 65535), "client_port": Range(0, 65535, note="0 picks a free one"),
            "closer": OneOf("client", "server")},
    param_help={
        "port": "web's listening port (conn.dport)",
        "client_port": "the client's port of the connection (conn.sport)",
        "closer": "who sends the first FIN: client (you) or server (web's application)",
        "data": f"the text sent as `data`, as UTF-8 bytes (1 to {MAX_DATA} bytes)",
    },
    timeout=10.0,
    facts={
        "web.read": ("the bytes web's application read from the connection", bytes),
        "web.state_after_your_fin": "web's socket state once your FIN arrived (client closes first)",
        "web.state_after_its_fin": "web's socket state after web sent its FIN",
        "web.state_when_your_fin_left": "web's socket state when your FIN left (web closes first)",
        "web.state_at_end": "web's socket state at the end ('gone': no socket)",
        "web.time_wait_left_s": "seconds left on web's TIME_WAIT timer at the end (0: none)",
    },
)
