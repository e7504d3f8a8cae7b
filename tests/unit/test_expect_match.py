"""Matching whole traces against expectations: a TCP three-way handshake.

Topology of the synthetic traces: client (10.0.1.10) -- lan1 -- r1 -- lan2 -- web (10.0.2.80).
Every IP packet is seen twice: on lan1 (sent by client or r1) and 50 µs later
on lan2 (forwarded by r1 or sent by web). The expectation looks at lan1.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from protolab.expect import (
    Check,
    Expectation,
    F,
    Fact,
    Flags,
    Frame,
    Never,
    OnLink,
    SentBy,
    Status,
    Step,
    V,
    check,
    make_trace,
)

CLIENT_IP = "10.0.1.10"
WEB_IP = "10.0.2.80"
R1_LAN1_IP = "10.0.1.1"
CPORT = 40000
ISN = 1000
SISN = 5000
HOP = 50e-6  # forwarding delay of r1
MAC = {"client": "02:00:00:00:01:0a", "r1": "02:00:00:00:01:01", "web": "02:00:00:00:02:50"}


def us(n: float) -> float:
    """Microseconds → seconds."""
    return n * 1e-6


# --- builders -------------------------------------------------------------------------------


def tcp_frame(
    t: float,
    link: str,
    sender: str | None,
    receiver: str | None,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: str,
    length: int = 0,
    ttl: int = 64,
) -> Frame:
    """One decoded TCP segment on one link (index is set by make_trace)."""
    return Frame(
        index=-1,
        time=t,
        link=link,
        sender=sender,
        receiver=receiver,
        layers={
            "eth": {"src": MAC.get(sender or "", "02:00:00:00:00:99"), "dst": MAC.get(receiver or "", "ff:ff:ff:ff:ff:ff"), "type": 0x0800},
            "ip": {"src": src, "dst": dst, "ttl": ttl, "proto": 6, "id": 1, "len": 40 + length, "flags": "DF"},
            "tcp": {
                "sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags,
                "window": 64240, "len": length, "payload": b"x" * length,
            },
        },
        summary=f"{src}:{sport} → {dst}:{dport} [{flags}] seq={seq} ack={ack} len={length}",
    )


def arp_frame(t: float, link: str, sender: str, psrc: str, pdst: str, op: int = 1, receiver: str | None = None) -> Frame:
    """An ARP request (broadcast) or reply."""
    return Frame(
        index=-1,
        time=t,
        link=link,
        sender=sender,
        receiver=receiver,
        layers={
            "eth": {"src": MAC[sender], "dst": "ff:ff:ff:ff:ff:ff" if receiver is None else MAC[receiver], "type": 0x0806},
            "arp": {"op": op, "hwsrc": MAC[sender], "psrc": psrc, "hwdst": "00:00:00:00:00:00", "pdst": pdst},
        },
        summary=f"ARP {'who has' if op == 1 else 'reply'} {pdst} tell {psrc}",
    )


def udp_frame(t: float, link: str, sender: str, receiver: str | None, src: str, dst: str, sport: int, dport: int) -> Frame:
    return Frame(
        index=-1, time=t, link=link, sender=sender, receiver=receiver,
        layers={"ip": {"src": src, "dst": dst, "ttl": 64, "proto": 17}, "udp": {"sport": sport, "dport": dport, "len": 8, "payload": b""}},
        summary=f"{src}:{sport} → {dst}:{dport} UDP",
    )


def client_to_web(t: float, seq: int, ack: int, flags: str, length: int = 0, sport: int = CPORT, dport: int = 80) -> list[Frame]:
    """A segment from the client, on lan1 and then forwarded on lan2."""
    return [
        tcp_frame(t, "lan1", "client", "r1", CLIENT_IP, WEB_IP, sport, dport, seq, ack, flags, length),
        tcp_frame(t + HOP, "lan2", "r1", "web", CLIENT_IP, WEB_IP, sport, dport, seq, ack, flags, length, ttl=63),
    ]


def web_to_client(t: float, seq: int, ack: int, flags: str, length: int = 0, sport: int = 80, dport: int = CPORT) -> list[Frame]:
    """A segment from web, on lan2 and then forwarded on lan1."""
    return [
        tcp_frame(t, "lan2", "web", "r1", WEB_IP, CLIENT_IP, sport, dport, seq, ack, flags, length),
        tcp_frame(t + HOP, "lan1", "r1", "client", WEB_IP, CLIENT_IP, sport, dport, seq, ack, flags, length, ttl=63),
    ]


def handshake_frames(isn: int = ISN, sisn: int = SISN, synack_ack: int | None = None, synack_flags: str = "SA",
                     synack_sport: int = 80, final_ack: bool = True) -> list[Frame]:
    """ARP, then SYN (t=100 µs), SYN-ACK (300 µs on lan2, 350 µs on lan1), ACK (400 µs)."""
    frames = [
        arp_frame(us(10), "lan1", "client", CLIENT_IP, R1_LAN1_IP),
        arp_frame(us(20), "lan1", "r1", R1_LAN1_IP, CLIENT_IP, op=2, receiver="client"),
        *client_to_web(us(100), isn, 0, "S"),
        *web_to_client(us(300), sisn, (isn + 1) % 2**32 if synack_ack is None else synack_ack, synack_flags, sport=synack_sport),
    ]
    if final_ack:
        frames += client_to_web(us(400), (isn + 1) % 2**32, (sisn + 1) % 2**32, "A")
    return frames


def handshake_expectation(synack_within: float | None = None, with_hints: bool = False) -> Expectation:
    return Expectation(
        name="tcp handshake",
        steps=(
            Step(
                "SYN",
                match=(OnLink("lan1"), SentBy("client"), Flags("S"), F("ip.dst") == WEB_IP, F("tcp.dport") == 80),
                checks=(Check(F("ip.src") == CLIENT_IP, "the client sends from its own address"),),
                bind={"isn": "tcp.seq", "cport": "tcp.sport"},
            ),
            Step(
                "SYN-ACK",
                match=(OnLink("lan1"), F("ip.src") == WEB_IP, F("tcp.sport") == 80, F("tcp.dport") == V("cport"), Flags("SA")),
                checks=(Check(F("tcp.ack") == V("isn") + 1, "the SYN-ACK acknowledges the client's ISN + 1"),),
                bind={"sisn": "tcp.seq"},
                within=synack_within,
                hint="is the web server listening on port 80?" if with_hints else "",
            ),
            Step(
                "ACK",
                match=(OnLink("lan1"), SentBy("client"), Flags("A"), F("tcp.sport") == V("cport"), F("tcp.dport") == 80),
                checks=(
                    Check(F("tcp.seq") == V("isn") + 1, "the ACK's sequence number follows the SYN"),
                    Check(F("tcp.ack") == V("sisn") + 1, "the ACK acknowledges the server's ISN + 1"),
                ),
            ),
        ),
        never=(
            Never(
                "no RST from client",
                match=(SentBy("client"), Flags("R", exact=False)),
                why="the client's kernel reset the connection it did not expect",
            ),
        ),
        facts=(Check(Fact("web.accepted") == True, "the web server accepted the connection"),),  # noqa: E712
    )


ACCEPTED = {"web.accepted": True}


def index_of(trace, link: str, flags: str, sender: str | None = None) -> int:
    """Index of the first TCP frame on `link` with exactly `flags` (and sender)."""
    return next(
        f.index for f in trace
        if f.link == link and f.has("tcp") and f.get("tcp.flags") == flags and (sender is None or f.sender == sender)
    )


def item(verdict, name: str):
    (found,) = [i for i in verdict.items if i.name == name]
    return found


# --- 1. a correct handshake ------------------------------------------------------------------


def test_correct_handshake_passes_with_bindings_and_marks():
    trace = make_trace(handshake_frames(), links=("lan1", "lan2"))
    verdict = check(handshake_expectation(), trace, ACCEPTED)

    assert verdict.status is Status.PASS
    assert verdict.passed
    assert verdict.expectation == "tcp handshake"
    assert verdict.bindings == {"isn": ISN, "cport": CPORT, "sisn": SISN}
    assert verdict.failures() == ()
    assert verdict.explanations() == []
    assert verdict.notes == ()
    assert [(i.kind, i.name, i.status) for i in verdict.items] == [
        ("step", "SYN", Status.PASS),
        ("step", "SYN-ACK", Status.PASS),
        ("step", "ACK", Status.PASS),
        ("never", "no RST from client", Status.PASS),
        ("fact", "the web server accepted the connection", Status.PASS),
    ]

    syn, synack, ack = index_of(trace, "lan1", "S"), index_of(trace, "lan1", "SA"), index_of(trace, "lan1", "A")
    assert (syn, synack, ack) == (3, 6, 7)  # 2 ARP, SYN lan1, SYN lan2, SYN-ACK lan2, SYN-ACK lan1, ACK lan1
    marks = verdict.marks()
    assert set(marks) == {syn, synack, ack}
    assert [i.name for i in marks[syn]] == ["SYN"]
    assert [i.name for i in marks[synack]] == ["SYN-ACK"]
    assert [i.name for i in marks[ack]] == ["ACK"]
    # the marked frames really are the lan1 copies
    assert all(trace[i].link == "lan1" for i in marks)


def test_missing_fact_fails_only_the_fact_item():
    trace = make_trace(handshake_frames())
    verdict = check(handshake_expectation(), trace, facts={})
    assert verdict.status is Status.FAIL
    (failed,) = verdict.failures()
    assert failed.kind == "fact"
    assert failed.messages == ("the lab did not report web.accepted",)


def test_false_fact_is_explained():
    verdict = check(handshake_expectation(), make_trace(handshake_frames()), {"web.accepted": False})
    assert verdict.status is Status.FAIL
    fact = item(verdict, "the web server accepted the connection")
    assert fact.status is Status.FAIL
    assert fact.messages == ("web.accepted is False, expected True",)
    assert "the web server accepted the connection: web.accepted is False, expected True" in verdict.explanations()


# --- 2. wrong acknowledgment number -------------------------------------------------------


def test_synack_acknowledging_isn_instead_of_isn_plus_one_fails():
    trace = make_trace(handshake_frames(synack_ack=ISN))
    verdict = check(handshake_expectation(), trace, ACCEPTED)

    assert verdict.status is Status.FAIL
    synack = item(verdict, "SYN-ACK")
    assert synack.status is Status.FAIL
    assert synack.frames == (index_of(trace, "lan1", "SA"),)
    (message,) = synack.messages
    assert "1000" in message and "1001" in message
    assert "the SYN-ACK acknowledges the client's ISN + 1" in message
    assert "tcp.ack is 1000, expected isn + 1 = 1001" in message
    assert message.startswith(f"frame #{synack.frames[0]} (")
    # the step still matched and bound, so the rest is judged normally
    assert item(verdict, "ACK").status is Status.PASS
    assert verdict.bindings["sisn"] == SISN
    assert [i.name for i in verdict.failures()] == ["SYN-ACK"]
    assert verdict.explanations() == [f"SYN-ACK: {message}"]


def test_failed_check_appends_the_step_hint():
    trace = make_trace(handshake_frames(synack_ack=ISN))
    verdict = check(handshake_expectation(with_hints=True), trace, ACCEPTED)
    messages = item(verdict, "SYN-ACK").messages
    assert len(messages) == 2
    assert messages[-1].endswith("is the web server listening on port 80?")


# --- 3. the final ACK is missing ------------------------------------------------------------


def test_missing_final_ack_with_nothing_after_names_previous_step():
    trace = make_trace(handshake_frames(final_ack=False))
    synack_index = index_of(trace, "lan1", "SA")
    assert synack_index == len(trace)  # the lan1 SYN-ACK is the last frame (numbers start at 1)
    verdict = check(handshake_expectation(), trace, ACCEPTED)

    assert verdict.status is Status.FAIL
    ack = item(verdict, "ACK")
    assert ack.status is Status.FAIL
    assert ack.frames == ()
    assert ack.messages == (f"expected it, but nothing was captured after SYN-ACK (frame #{synack_index})",)


def test_missing_final_ack_with_unrelated_frames_after():
    frames = handshake_frames(final_ack=False) + [
        arp_frame(us(900), "lan1", "client", CLIENT_IP, "10.0.1.77"),
        udp_frame(us(950), "lan1", "client", "r1", CLIENT_IP, "10.0.2.53", 5353, 53),
    ]
    trace = make_trace(frames)
    synack_index = index_of(trace, "lan1", "SA")
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    (message,) = item(verdict, "ACK").messages
    assert message == f"no frame after SYN-ACK (frame #{synack_index}) looks like it (2 frames checked)"


def test_missing_final_ack_reports_the_nearest_miss():
    # the client answers with a data segment (PA) instead of a pure ACK
    frames = handshake_frames(final_ack=False) + client_to_web(us(400), ISN + 1, SISN + 1, "PA", length=10)
    trace = make_trace(frames)
    synack_index = index_of(trace, "lan1", "SA")
    data_index = index_of(trace, "lan1", "PA")
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    (message,) = item(verdict, "ACK").messages
    assert message.startswith(f"no frame after SYN-ACK (frame #{synack_index}) matches; the closest is frame #{data_index} (")
    assert message.endswith("flags are PA, expected exactly A")
    assert trace[data_index].summary in message


def test_missing_step_hint_is_appended_to_not_seen_message():
    trace = make_trace(handshake_frames()[:4])  # ARP + SYN on both links, no answer
    verdict = check(handshake_expectation(with_hints=True), trace, ACCEPTED)
    (message,) = item(verdict, "SYN-ACK").messages
    assert "after SYN (frame #3)" in message
    assert message.endswith(". is the web server listening on port 80?")


def test_first_step_missing_says_whole_capture():
    trace = make_trace([arp_frame(us(10), "lan1", "client", CLIENT_IP, R1_LAN1_IP)])
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    (message,) = item(verdict, "SYN").messages
    assert message == "no frame in the whole capture looks like it (1 frame checked)"


def test_empty_trace_fails_every_step():
    verdict = check(handshake_expectation(), make_trace([]), ACCEPTED)
    assert verdict.status is Status.FAIL
    assert item(verdict, "SYN").messages == ("expected it, but nothing was captured in the whole capture",)
    # the steps after a missing one are not reached: one miss reads as one miss
    for name in ("SYN-ACK", "ACK"):
        assert item(verdict, name).status is Status.SKIPPED
        assert item(verdict, name).messages == ("not reached: it comes after 'SYN', which did not happen",)
    assert item(verdict, "no RST from client").status is Status.PASS


# --- 4. a kernel RST from the client ------------------------------------------------------


def test_kernel_rst_from_client_breaks_the_never_rule_with_timing():
    frames = handshake_frames(final_ack=False) + [
        # an unrelated lan2 frame between the lan1 SYN-ACK (350 µs) and the RST (373 µs)
        arp_frame(us(360), "lan2", "web", WEB_IP, "10.0.2.1"),
        *client_to_web(us(373), ISN + 1, 0, "R"),
    ]
    trace = make_trace(frames)
    synack_index = index_of(trace, "lan1", "SA")
    rst_index = index_of(trace, "lan1", "R", sender="client")
    forwarded_rst = index_of(trace, "lan2", "R")
    verdict = check(handshake_expectation(), trace, ACCEPTED)

    assert verdict.status is Status.FAIL
    rule = item(verdict, "no RST from client")
    assert rule.kind == "never"
    assert rule.status is Status.FAIL
    assert rule.frames == (rst_index,)  # the copy forwarded by r1 on lan2 is not "from client"
    assert forwarded_rst not in rule.frames
    (message,) = rule.messages
    assert message.startswith(f"frame #{rst_index}: {trace[rst_index].summary} sent by client")
    assert f"23 µs after frame #{synack_index} ({trace[synack_index].summary})" in message
    assert "13 µs" not in message  # not timed against the lan2 ARP, which is on another link
    assert message.endswith("the client's kernel reset the connection it did not expect")
    assert rule in verdict.marks()[rst_index]


def test_rst_with_ack_flag_also_counts_and_every_hit_is_listed():
    frames = handshake_frames() + client_to_web(us(500), ISN + 1, SISN + 1, "RA") + client_to_web(us(700), ISN + 1, 0, "R")
    trace = make_trace(frames)
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    rule = item(verdict, "no RST from client")
    assert rule.status is Status.FAIL
    assert rule.frames == (index_of(trace, "lan1", "RA"), index_of(trace, "lan1", "R", sender="client"))
    assert len(rule.messages) == 2
    assert "200 µs after" in rule.messages[1]  # 500 → 700 µs on lan1 (lan2 copies are skipped)
    # the steps themselves all passed
    assert [i.name for i in verdict.failures()] == ["no RST from client"]


def test_never_hit_as_first_frame_on_its_link_has_no_timing():
    trace = make_trace(client_to_web(us(5), 1, 0, "R"))
    rule = Never("no RST", (SentBy("client"), Flags("R", exact=False)))
    verdict = check(Expectation("x", (), never=(rule,)), trace)
    (message,) = item(verdict, "no RST").messages
    assert message == f"frame #1: {trace[1].summary} sent by client."
    assert verdict.status is Status.FAIL


# --- 5. order and unrelated traffic -----------------------------------------------------------


def noisy_handshake() -> list[Frame]:
    noise = [
        # another flow from the client to web, interleaved with ours
        *client_to_web(us(150), 777, 0, "S", sport=40001),
        *web_to_client(us(250), 9000, 778, "SA", dport=40001),
        *client_to_web(us(330), 778, 9001, "A", sport=40001),
        # a stale SYN-ACK to our port before our SYN (wrong ack): must not be picked
        *web_to_client(us(30), 123, 456, "SA"),
        udp_frame(us(120), "lan1", "client", "r1", CLIENT_IP, "10.0.2.53", 5353, 53),
        arp_frame(us(310), "lan2", "web", WEB_IP, "10.0.2.1"),
        arp_frame(us(320), "lan1", "r1", R1_LAN1_IP, "10.0.1.99"),
        # a duplicate ACK later: the first matching frame is the one chosen
        *client_to_web(us(800), ISN + 1, SISN + 1, "A"),
    ]
    return handshake_frames() + noise


def test_interleaved_unrelated_frames_still_pass_and_pick_first_match():
    frames = noisy_handshake()
    random.Random(7).shuffle(frames)
    trace = make_trace(frames)
    assert [f.time for f in trace] == sorted(f.time for f in trace)
    verdict = check(handshake_expectation(), trace, ACCEPTED)

    assert verdict.status is Status.PASS, verdict.explanations()
    assert verdict.bindings == {"isn": ISN, "cport": CPORT, "sisn": SISN}
    synack = trace[item(verdict, "SYN-ACK").frames[0]]
    assert synack.time == pytest.approx(us(350))  # not the stale one at 80 µs, not the lan2 copy
    assert synack.get("tcp.ack") == ISN + 1
    ack = trace[item(verdict, "ACK").frames[0]]
    assert ack.time == pytest.approx(us(400))  # not the duplicate at 800 µs
    assert ack.get("tcp.sport") == CPORT  # not the other flow's ACK at 330 µs
    syn = trace[item(verdict, "SYN").frames[0]]
    assert syn.time == pytest.approx(us(100))
    assert syn.get("tcp.sport") == CPORT  # not the other flow's SYN at 150 µs


def test_first_syn_in_time_is_taken_even_from_another_flow():
    # Steps bind from the first matching frame: a SYN of another flow before ours is taken.
    frames = handshake_frames() + client_to_web(us(50), 777, 0, "S", sport=40001)
    trace = make_trace(frames)
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    assert verdict.bindings["cport"] == 40001
    assert verdict.bindings["isn"] == 777
    assert verdict.status is Status.FAIL  # no SYN-ACK for port 40001
    assert item(verdict, "SYN-ACK").status is Status.FAIL


def test_ack_before_synack_in_time_does_not_count():
    frames = [
        *client_to_web(us(100), ISN, 0, "S"),
        *client_to_web(us(200), ISN + 1, SISN + 1, "A"),  # too early
        *web_to_client(us(300), SISN, ISN + 1, "SA"),
    ]
    trace = make_trace(frames)
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    assert item(verdict, "SYN-ACK").status is Status.PASS
    ack = item(verdict, "ACK")
    assert ack.status is Status.FAIL
    synack_index = index_of(trace, "lan1", "SA")
    assert ack.messages == (f"expected it, but nothing was captured after SYN-ACK (frame #{synack_index})",)


# --- 6. dropped frames ------------------------------------------------------------------------


@pytest.mark.parametrize("frames", [handshake_frames(), handshake_frames(synack_ack=ISN), handshake_frames(final_ack=False)])
def test_drops_make_the_verdict_inconclusive_never_fail(frames):
    trace = make_trace(frames, drops=3)
    assert trace.drops == 3
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    assert verdict.status is Status.INCONCLUSIVE
    assert not verdict.passed
    (note,) = verdict.notes
    assert "dropped 3 frame(s)" in note and "run the lab again" in note
    assert verdict.explanations()[0] == note


def test_drops_keep_the_item_details():
    verdict = check(handshake_expectation(), make_trace(handshake_frames(synack_ack=ISN), drops=1), ACCEPTED)
    assert verdict.status is Status.INCONCLUSIVE
    assert item(verdict, "SYN-ACK").status is Status.FAIL
    assert any("SYN-ACK: " in line and "1001" in line for line in verdict.explanations())


# --- 7. bindings that were never made -------------------------------------------------------


def test_steps_needing_a_binding_from_a_missing_step_are_skipped():
    # the SYN is missing on lan1 (only the lan2 copy was captured), so isn and cport are never bound
    frames = [f for f in handshake_frames() if not (f.link == "lan1" and f.has("tcp") and f.get("tcp.flags") == "S")]
    trace = make_trace(frames)
    verdict = check(handshake_expectation(), trace, ACCEPTED)

    assert verdict.status is Status.FAIL
    assert not verdict.passed
    assert item(verdict, "SYN").status is Status.FAIL
    for name in ("SYN-ACK", "ACK"):
        skipped = item(verdict, name)
        assert skipped.status is Status.SKIPPED
        assert skipped.frames == ()
        assert skipped.messages == ("not reached: it comes after 'SYN', which did not happen",)
    assert verdict.bindings == {}
    assert {i.name for i in verdict.failures()} == {"SYN", "SYN-ACK", "ACK"}


def test_unbound_variable_in_match_is_skipped_even_if_no_frame_reaches_it():
    # Flags("SA") fails on every frame, so the variable is only reached by the nearest-miss search
    step = Step("SYN-ACK", match=(Flags("SA"), F("tcp.dport") == V("cport")))
    trace = make_trace(client_to_web(us(1), ISN, 0, "S"))
    verdict = check(Expectation("x", (step,)), trace)
    (result,) = verdict.items
    assert result.status is Status.SKIPPED
    assert "'cport'" in result.messages[0]
    assert verdict.status is Status.FAIL


def test_a_lone_skipped_item_is_enough_to_not_pass():
    step = Step("needs x", match=(F("tcp.seq") == V("x"),))
    verdict = check(Expectation("x", (step,)), make_trace(client_to_web(us(1), ISN, 0, "S")))
    assert [i.status for i in verdict.items] == [Status.SKIPPED]
    assert verdict.status is Status.FAIL
    assert verdict.explanations() == ["needs x: not checked: it needs 'x', which an earlier step did not bind"]


def test_unbound_variable_in_check_fails_the_step_with_a_message():
    step = Step("SYN", match=(Flags("S"),), checks=(Check(F("tcp.ack") == V("sisn") + 1, "acks the server"),))
    trace = make_trace(client_to_web(us(1), ISN, 0, "S"))
    (result,) = check(Expectation("x", (step,)), trace).items
    assert result.status is Status.FAIL
    assert result.frames == (1,)
    assert result.messages == (f"frame #1 ({trace[1].summary}): acks the server — cannot check, 'sisn' was never bound",)


def test_unbound_variables_in_never_and_fact_are_skipped():
    exp = Expectation(
        "x",
        steps=(),
        never=(Never("no RST on the client port", (Flags("R", exact=False), F("tcp.sport") == V("cport"))),),
        facts=(Check(Fact("web.isn") == V("sisn"), "web reports the ISN it sent"),),
    )
    verdict = check(exp, make_trace(client_to_web(us(1), 1, 0, "R")), {"web.isn": 5})
    assert [i.status for i in verdict.items] == [Status.SKIPPED, Status.SKIPPED]
    assert [i.kind for i in verdict.items] == ["never", "fact"]
    assert verdict.status is Status.FAIL


def test_binding_a_missing_field_fails_the_step():
    step = Step("SYN", match=(Flags("S"),), bind={"mss": "tcp.mss"})
    verdict = check(Expectation("x", (step,)), make_trace(client_to_web(us(1), ISN, 0, "S")))
    (result,) = verdict.items
    assert result.status is Status.FAIL
    assert result.messages[0].endswith("could not take 'mss' from tcp.mss")
    assert "mss" not in verdict.bindings


def test_bindings_can_be_expressions():
    step = Step("SYN", match=(Flags("S"),), bind={"next": F("tcp.seq") + 1, "port": "tcp.sport"})
    verdict = check(Expectation("x", (step,)), make_trace(client_to_web(us(1), 2**32 - 1, 0, "S")))
    assert verdict.bindings == {"next": 0, "port": CPORT}


# --- 8. sequence numbers wrap around ------------------------------------------------------


def test_isn_at_the_top_of_sequence_space_wraps_to_zero():
    trace = make_trace(handshake_frames(isn=2**32 - 1, sisn=2**32 - 1))
    assert trace[index_of(trace, "lan1", "SA")].get("tcp.ack") == 0
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    assert verdict.status is Status.PASS, verdict.explanations()
    assert verdict.bindings["isn"] == 2**32 - 1


def test_unwrapped_ack_is_wrong():
    trace = make_trace(handshake_frames(isn=2**32 - 1, synack_ack=2**32))
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    (message,) = item(verdict, "SYN-ACK").messages
    assert f"tcp.ack is {2**32}, expected isn + 1 = 0" in message


# --- 9. the nearest miss -------------------------------------------------------------------


def test_synack_from_wrong_port_names_the_closest_frame():
    trace = make_trace(handshake_frames(synack_sport=8080, final_ack=False))
    wrong = index_of(trace, "lan1", "SA")
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    synack = item(verdict, "SYN-ACK")
    assert synack.status is Status.FAIL
    (message,) = synack.messages
    # the lan1 copy meets 4 of 5 conditions, the earlier lan2 copy only 3
    assert f"the closest is frame #{wrong} ({trace[wrong].summary}): tcp.sport is 8080, expected 80" in message
    assert "after SYN (frame #3)" in message
    assert "lan2" not in message.split("):", 1)[1]


def test_synack_with_wrong_flags_names_the_closest_frame():
    trace = make_trace(handshake_frames(synack_flags="A", final_ack=False))
    wrong = index_of(trace, "lan1", "A", sender="r1")
    verdict = check(handshake_expectation(), trace, ACCEPTED)
    (message,) = item(verdict, "SYN-ACK").messages
    assert f"the closest is frame #{wrong}" in message
    assert message.endswith("flags are A, expected exactly SA")
    # the SYN-ACK did not happen, so the ACK that answers it is not reached
    ack = item(verdict, "ACK")
    assert ack.status is Status.SKIPPED
    assert ack.messages == ("not reached: it comes after 'SYN-ACK', which did not happen",)


def test_nearest_miss_lists_every_difference():
    trace = make_trace(web_to_client(us(300), SISN, ISN, "A", sport=8080))
    step = Step("SYN-ACK", match=(OnLink("lan1"), F("ip.src") == WEB_IP, F("tcp.sport") == 80, Flags("SA")))
    (result,) = check(Expectation("x", (step,)), trace).items
    (message,) = result.messages
    assert message.endswith("): tcp.sport is 8080, expected 80; flags are A, expected exactly SA")
    assert "the closest is frame #2 " in message  # lan1 copy: 2 of 4; lan2 copy (#1): 1 of 4


def test_no_nearest_miss_when_less_than_half_the_conditions_hold():
    trace = make_trace([udp_frame(us(1), "lan1", "client", "r1", CLIENT_IP, "10.0.2.53", 5353, 53)])
    step = Step("SYN", match=(SentBy("client"), Flags("S"), F("tcp.dport") == 80, F("ip.dst") == WEB_IP))
    (result,) = check(Expectation("x", (step,)), trace).items
    assert result.messages == ("no frame in the whole capture looks like it (1 frame checked)",)


# --- 10. retransmissions ----------------------------------------------------------------------


def test_second_identical_syn_on_a_link_is_a_retransmission():
    frames = client_to_web(us(100), ISN, 0, "S") + client_to_web(us(1_000_100), ISN, 0, "S")
    trace = make_trace(frames)
    by_link = {link: [f.get("tcp.retransmission") for f in trace if f.link == link] for link in ("lan1", "lan2")}
    assert by_link == {"lan1": [False, True], "lan2": [False, True]}


def test_same_segment_on_another_link_is_not_a_retransmission():
    trace = make_trace(client_to_web(us(100), ISN, 0, "S"))
    assert [f.link for f in trace] == ["lan1", "lan2"]
    assert [f.get("tcp.retransmission") for f in trace] == [False, False]


def test_pure_acks_are_never_retransmissions():
    frames = client_to_web(us(100), ISN + 1, SISN + 1, "A") + client_to_web(us(200), ISN + 1, SISN + 1, "A")
    trace = make_trace(frames)
    assert [f.get("tcp.retransmission") for f in trace] == [False] * 4


def test_data_and_fin_repeats_are_retransmissions_but_different_ones_are_not():
    frames = [
        tcp_frame(us(1), "lan1", "client", "r1", CLIENT_IP, WEB_IP, CPORT, 80, 1001, 5001, "PA", 10),
        tcp_frame(us(2), "lan1", "client", "r1", CLIENT_IP, WEB_IP, CPORT, 80, 1011, 5001, "PA", 10),  # next segment
        tcp_frame(us(3), "lan1", "client", "r1", CLIENT_IP, WEB_IP, CPORT, 80, 1001, 5001, "PA", 10),  # repeat
        tcp_frame(us(4), "lan1", "client", "r1", CLIENT_IP, WEB_IP, CPORT + 1, 80, 1001, 5001, "PA", 10),  # other flow
        tcp_frame(us(5), "lan1", "client", "r1", CLIENT_IP, WEB_IP, CPORT, 80, 1021, 5001, "FA"),
        tcp_frame(us(6), "lan1", "client", "r1", CLIENT_IP, WEB_IP, CPORT, 80, 1021, 5001, "FA"),  # repeat
    ]
    trace = make_trace(frames)
    assert [f.get("tcp.retransmission") for f in trace] == [False, False, True, False, False, True]


def test_non_tcp_frames_are_left_alone():
    arp = arp_frame(us(1), "lan1", "client", CLIENT_IP, R1_LAN1_IP)
    udp = udp_frame(us(2), "lan1", "client", "r1", CLIENT_IP, "10.0.2.53", 5353, 53)
    trace = make_trace([arp, udp])
    assert trace[1].layers == arp.layers
    assert trace[2].layers == udp.layers
    assert "retransmission" not in trace[2].get("udp")


def test_never_rule_on_retransmission_fires_on_the_repeat_only():
    frames = handshake_frames(final_ack=False)
    frames += client_to_web(us(1_000_100), ISN, 0, "S")  # the client gave up waiting and sent the SYN again
    trace = make_trace(frames)
    rule = Never("no retransmitted SYN", (OnLink("lan1"), Flags("S"), F("tcp.retransmission") == True),  # noqa: E712
                 why="the SYN-ACK did not reach the client in time")
    verdict = check(Expectation("x", (), never=(rule,)), trace)
    result = item(verdict, "no retransmitted SYN")
    assert result.status is Status.FAIL
    (hit,) = result.frames
    assert trace[hit].time == pytest.approx(us(1_000_100))
    assert trace[hit].link == "lan1"
    (message,) = result.messages
    synack = index_of(trace, "lan1", "SA")  # the last lan1 frame before the repeat, 999.75 ms earlier
    assert f"999.8 ms after frame #{synack} (" in message
    assert message.endswith("the SYN-ACK did not reach the client in time")


def test_never_rule_on_retransmission_passes_without_repeats():
    rule = Never("no retransmission", (F("tcp.retransmission") == True,))  # noqa: E712
    verdict = check(Expectation("x", (), never=(rule,)), make_trace(noisy_handshake()))
    assert verdict.status is Status.PASS


# --- 11. timing limits --------------------------------------------------------------------------


def late_synack_frames(delay: float) -> list[Frame]:
    frames = handshake_frames()
    return [replace(f, time=f.time + delay) if f.has("tcp") and f.get("tcp.flags") in ("SA", "A") else f for f in frames]


def test_step_later_than_allowed_fails_with_durations():
    trace = make_trace(late_synack_frames(1.5))
    verdict = check(handshake_expectation(synack_within=0.001), trace, ACCEPTED)
    synack = item(verdict, "SYN-ACK")
    assert synack.status is Status.FAIL
    assert synack.frames == (index_of(trace, "lan1", "SA"),)
    (message,) = synack.messages
    # SYN on lan1 at 100 µs, SYN-ACK on lan1 at 1.5 s + 350 µs
    assert "it came 1.50 s after the previous step, later than the allowed 1.0 ms" in message
    assert item(verdict, "ACK").status is Status.PASS
    assert verdict.status is Status.FAIL


def test_step_within_the_limit_passes():
    verdict = check(handshake_expectation(synack_within=0.001), make_trace(handshake_frames()), ACCEPTED)
    assert verdict.status is Status.PASS


@pytest.mark.parametrize(
    ("within", "text"),
    [(100e-6, "it came 250 µs after the previous step, later than the allowed 100 µs"),
     (20e-6, "it came 250 µs after the previous step, later than the allowed 20 µs")],
)
def test_microsecond_timing_limits(within, text):
    verdict = check(handshake_expectation(synack_within=within), make_trace(handshake_frames()), ACCEPTED)
    assert text in item(verdict, "SYN-ACK").messages[0]


def test_within_on_the_first_step_is_ignored():
    step = Step("SYN", match=(Flags("S"),), within=1e-9)
    verdict = check(Expectation("x", (step,)), make_trace(client_to_web(5.0, ISN, 0, "S")))
    assert verdict.status is Status.PASS


def test_within_and_check_problems_are_both_reported():
    trace = make_trace([f if not (f.has("tcp") and f.get("tcp.flags") == "SA") else replace(f, time=f.time + 0.02)
                        for f in handshake_frames(synack_ack=ISN)])
    verdict = check(handshake_expectation(synack_within=0.001), trace, ACCEPTED)
    messages = item(verdict, "SYN-ACK").messages
    assert len(messages) == 2
    assert "20.2 ms after the previous step" in messages[0]
    assert "expected isn + 1 = 1001" in messages[1]
