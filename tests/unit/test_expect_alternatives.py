"""The expectation core on what a real capture holds: legal alternatives, frames
that share two steps, senders the capture cannot name, bad checksums, and
hints that point at the expected node's own traffic."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from protolab.errors import AuthorError
from protolab.expect import AnyOf, Check, Expectation, F, Flags, Never, SentBy, Status, Step, V, check, make_trace
from tests.unit.test_expect_match import (
    CLIENT_IP, CPORT, ISN, SISN, WEB_IP, client_to_web, handshake_frames, item, us, web_to_client,
)

WEB_ACKS = Check(F("tcp.ack") == V("fin") + 1, "web acknowledges the FIN")


def close_expectation() -> Expectation:
    """The client closes; web's ACK of the FIN and web's own FIN may be one segment."""
    mine = (SentBy("client"), F("ip.src") == CLIENT_IP)
    web = (SentBy("web"), F("ip.src") == WEB_IP)
    return Expectation("close", steps=(
        Step("client FIN", match=(*mine, Flags("FA")), bind={"fin": "tcp.seq"}),
        Step("web ACKs the FIN", match=(*web, Flags("A") | Flags("FA")), checks=(WEB_ACKS,)),
        Step("web FIN", match=(*web, Flags("FA")), may_share=True, bind={"wfin": "tcp.seq"}),
        Step("client ACKs web's FIN", match=(*mine, Flags("A")),
             checks=(Check(F("tcp.ack") == V("wfin") + 1, "the client acknowledges web's FIN"),)),
    ), never=(Never("no RST from web", match=(SentBy("web"), Flags("R", exact=False))),))


FIN = ISN + 10
WFIN = SISN + 1


def four_segments() -> list:
    return [*client_to_web(us(100), FIN, WFIN, "FA"), *web_to_client(us(200), WFIN, FIN + 1, "A"),
            *web_to_client(us(300), WFIN, FIN + 1, "FA"), *client_to_web(us(400), FIN + 1, WFIN + 1, "A")]


def three_segments() -> list:
    return [*client_to_web(us(100), FIN, WFIN, "FA"), *web_to_client(us(200), WFIN, FIN + 1, "FA"),
            *client_to_web(us(300), FIN + 1, WFIN + 1, "A")]


def test_a_separate_ack_then_fin_passes():
    verdict = check(close_expectation(), make_trace(four_segments()), {})
    assert verdict.status is Status.PASS, verdict.explanations()
    assert item(verdict, "web ACKs the FIN").frames != item(verdict, "web FIN").frames


def test_one_fin_ack_answers_both_steps_on_one_frame():
    trace = make_trace(three_segments())
    verdict = check(close_expectation(), trace, {})
    assert verdict.status is Status.PASS, verdict.explanations()
    (shared,) = item(verdict, "web ACKs the FIN").frames
    assert item(verdict, "web FIN").frames == (shared,)
    assert trace[shared].get("tcp.flags") == "FA" and trace[shared].sender == "web"


def test_neither_alternative_is_explained_with_both():
    frames = [*client_to_web(us(100), FIN, WFIN, "FA"), *web_to_client(us(200), WFIN, FIN + 1, "PA")]
    verdict = check(close_expectation(), make_trace(frames), {})
    (message,) = item(verdict, "web ACKs the FIN").messages
    assert "flags are PA, expected exactly A, nor flags are PA, expected exactly FA" in message


def test_may_share_does_not_reach_back_further_than_the_previous_frame():
    # web's FIN came before the client's FIN: it cannot be the FIN answering it
    frames = [*web_to_client(us(50), WFIN, ISN, "FA"), *client_to_web(us(100), FIN, WFIN, "FA"),
              *web_to_client(us(200), WFIN, FIN + 1, "A")]
    verdict = check(close_expectation(), make_trace(frames), {})
    assert item(verdict, "web FIN").status is Status.FAIL


def test_steps_after_a_missing_one_are_not_reached():
    frames = client_to_web(us(100), FIN, WFIN, "FA")
    verdict = check(close_expectation(), make_trace(frames), {})
    assert item(verdict, "web ACKs the FIN").status is Status.FAIL
    for name in ("web FIN", "client ACKs web's FIN"):
        assert item(verdict, name).status is Status.SKIPPED
        assert item(verdict, name).messages == ("not reached: it comes after 'web ACKs the FIN', which did not happen",)


def unknown_senders(frames: list) -> list:
    """The frames as a capture without link-layer senders (raw IP) has them."""
    return [replace(f, sender="?") for f in frames if f.link == "lan1"]


def test_a_rule_about_a_sender_is_not_passed_vacuously_when_senders_are_unknown():
    frames = unknown_senders([*three_segments(), *web_to_client(us(500), WFIN + 1, FIN + 1, "R")])
    verdict = check(close_expectation(), make_trace(frames), {})
    rst = item(verdict, "no RST from web")
    assert rst.status is Status.INCONCLUSIVE
    assert rst.messages[0].startswith("cannot check: frame #")
    assert "the capture cannot tell whether web sent frame #" in rst.messages[0]
    assert verdict.status is Status.INCONCLUSIVE


def test_steps_on_unknown_senders_are_inconclusive_not_passed():
    verdict = check(close_expectation(), make_trace(unknown_senders(three_segments())), {})
    steps = [i for i in verdict.items if i.kind == "step"]
    assert {i.status for i in steps} == {Status.INCONCLUSIVE}
    assert "fits, but the capture cannot tell whether client sent frame #1" in steps[0].messages[0]
    assert item(verdict, "no RST from web").status is Status.PASS  # no RST at all: that much is certain
    assert verdict.status is Status.INCONCLUSIVE


def test_a_known_failure_beats_an_unknown_sender():
    frames = unknown_senders([*client_to_web(us(100), FIN, WFIN, "FA"), *web_to_client(us(200), WFIN, FIN + 7, "FA")])
    verdict = check(close_expectation(), make_trace(frames), {})
    assert item(verdict, "web ACKs the FIN").status is Status.FAIL
    assert verdict.status is Status.FAIL


def with_checksum(frame, tcp_state):
    layers = dict(frame.layers)
    layers["checksum"] = MappingProxyType({"ip": ("ok", 1, 1), "tcp": tcp_state})
    return replace(frame, layers=MappingProxyType(layers))


def test_a_step_on_a_frame_with_a_bad_checksum_fails_and_says_why():
    frames = three_segments()
    frames[0] = with_checksum(frames[0], ("bad", 0x1234, 0xBEEF))
    verdict = check(close_expectation(), make_trace(frames), {})
    fin = item(verdict, "client FIN")
    assert fin.status is Status.FAIL
    assert "its TCP checksum is 0x1234, but its bytes sum to 0xbeef: a receiver drops it as corrupt" in fin.messages[0]
    bad = item(verdict, "every checksum is right")
    assert bad.status is Status.FAIL and bad.frames == (1,)
    assert "sent by client" in bad.messages[0]


def test_checksums_left_to_the_network_card_are_not_failures():
    frames = [with_checksum(f, ("partial", 0x1234, 0xBEEF)) for f in three_segments()]
    verdict = check(close_expectation(), make_trace(frames), {})
    assert verdict.status is Status.PASS, verdict.explanations()
    assert "every checksum is right" not in {i.name for i in verdict.items}


def test_the_closest_frame_is_the_expected_senders_own_not_the_routers_copy():
    # web answers from the wrong port; the hint must name web's own segment on lan2,
    # not r1's forwarded copy on lan1 (which comes first in a lan1-first capture)
    frames = [*client_to_web(us(100), ISN, 0, "S")]
    wrong = web_to_client(us(300), SISN, ISN + 1, "SA", sport=8080)
    wrong[0], wrong[1] = replace(wrong[0], time=us(360)), replace(wrong[1], time=us(310))  # lan1 copy first
    expectation = Expectation("syn", steps=(
        Step("SYN", match=(SentBy("client"), Flags("S")), bind={"isn": "tcp.seq"}),
        Step("SYN-ACK", match=(F("ip.src") == WEB_IP, F("tcp.sport") == 80, F("tcp.dport") == CPORT, Flags("SA"))),
    ))
    trace = make_trace([*frames, *wrong], addresses={WEB_IP: "web", CLIENT_IP: "client"})
    (message,) = item(check(expectation, trace, {}), "SYN-ACK").messages
    own = next(f for f in trace if f.sender == "web")
    assert f"the closest is frame #{own.index} " in message


def test_handshake_frames_still_pass_with_alternatives_in_the_core():
    expectation = Expectation("h", steps=(
        Step("SYN", match=(SentBy("client"), Flags("S"))),
        Step("SYN-ACK", match=(SentBy("web"), Flags("SA") | Flags("SAE"))),
    ), never=(Never("no RST", match=(Flags("R", exact=False),)),))
    assert check(expectation, make_trace(handshake_frames()), {}).status is Status.PASS
    assert AnyOf((Flags("A"), Flags("FA"))).text() == "tcp.flags == A or tcp.flags == FA"


def test_a_step_after_a_named_one_may_come_in_either_order_with_the_one_listed_before_it():
    data_end = ISN + 10
    expectation = Expectation("data then close", steps=(
        Step("data", match=(SentBy("client"), Flags("PA")), bind={"end": "tcp.seq"}),
        Step("web ACKs the data", match=(SentBy("web"), Flags("A"))),
        Step("client FIN", match=(SentBy("client"), Flags("FA")), after="data"),
    ))
    fin_first = [*client_to_web(us(100), ISN, WFIN, "PA", length=10), *client_to_web(us(150), data_end, WFIN, "FA"),
                 *web_to_client(us(200), WFIN, data_end + 1, "A")]
    verdict = check(expectation, make_trace(fin_first), {})
    assert verdict.status is Status.PASS, verdict.explanations()
    assert item(verdict, "client FIN").frames[0] < item(verdict, "web ACKs the data").frames[0]


def test_after_must_name_a_step_listed_before():
    import pytest

    with pytest.raises(AuthorError, match="comes after 'later', which is not a step listed before it"):
        Expectation("x", steps=(Step("first", match=(), after="later"), Step("later", match=())))


def test_a_step_after_start_is_looked_for_even_when_an_earlier_one_is_missing():
    from protolab.expect import START

    expectation = Expectation("arp then data", steps=(
        Step("ARP for the gateway", match=(SentBy("client"), F("arp.op") == 1)),
        Step("reply", match=(SentBy("r1"), F("arp.op") == 2)),
        Step("data to web", match=(SentBy("client"), Flags("PA")), after=START,
             checks=(Check(F("tcp.seq") == ISN, "the data starts at the ISN"),)),
        Step("web ACKs", match=(SentBy("web"), Flags("A"))),
    ))
    frames = [*client_to_web(us(100), ISN + 1, WFIN, "PA", length=10), *web_to_client(us(200), WFIN, ISN + 11, "A")]
    verdict = check(expectation, make_trace(frames), {})
    assert item(verdict, "ARP for the gateway").status is Status.FAIL
    assert item(verdict, "reply").messages == ("not reached: it comes after 'ARP for the gateway', which did not happen",)
    data = item(verdict, "data to web")
    assert data.status is Status.FAIL and "tcp.seq is 1001, expected 1000" in data.messages[0]
    assert item(verdict, "web ACKs").status is Status.PASS


def test_a_bad_checksum_with_no_right_value_is_explained_not_a_crash():
    frames = three_segments()
    frames[0] = with_checksum(frames[0], ("bad", 0x1234, None))  # a UDP length no receiver accepts, say
    fin = item(check(close_expectation(), make_trace(frames), {}), "client FIN")
    assert fin.status is Status.FAIL
    assert "its TCP checksum is 0x1234, but its lengths do not fit its bytes: a receiver drops it" in fin.messages[0]
