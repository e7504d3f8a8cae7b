"""The expression language, frames and verdicts of the expectation core, piece by piece."""

from __future__ import annotations

from dataclasses import replace

import pytest

from protolab.expect import (
    Context,
    F,
    Fact,
    Field,
    Flags,
    Frame,
    ItemResult,
    Layer,
    OnLink,
    SentBy,
    Status,
    Trace,
    V,
    Var,
    Verdict,
    make_trace,
)
from protolab.errors import AuthorError
from protolab.expect import Seq, SeqNumber
from protolab.expect.cond import Cmp
from protolab.expect.expr import Unbound, Unknowable
from protolab.expect.trace import MissingField


def tcp_frame(t: float = 0.0, link: str = "lan1", sender: str | None = "client", flags: str = "SA",
              seq: int = 5000, ack: int = 1000, sport: int = 80, dport: int = 40000, length: int = 0) -> Frame:
    return Frame(
        index=0, time=t, link=link, sender=sender, receiver=None,
        layers={
            "ip": {"src": "10.0.2.80", "dst": "10.0.1.10", "ttl": 64},
            "tcp": {"sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags, "len": length,
                    "payload": b"x" * length},
        },
        summary=f"[{flags}] seq={seq} ack={ack}",
    )


def arp_frame(t: float = 0.0, link: str = "lan1", sender: str | None = "client") -> Frame:
    return Frame(index=0, time=t, link=link, sender=sender, receiver=None,
                 layers={"arp": {"op": 1, "psrc": "10.0.1.10", "pdst": "10.0.1.1"}}, summary="ARP who has 10.0.1.1")


def ctx(frame: Frame | None = None, **bindings) -> Context:
    return Context(frame=frame, bindings=bindings)


# --- comparisons and arithmetic ------------------------------------------------------------


def test_relative_ack_text_and_explanation():
    cond = F("tcp.ack") == V("isn") + 1
    assert cond.text() == "tcp.ack == isn + 1"
    frame = tcp_frame(ack=1000)
    assert cond.test(ctx(frame, isn=1000)) is False
    assert cond.explain(ctx(frame, isn=1000)) == "tcp.ack is 1000, expected isn + 1 = 1001"
    assert cond.test(ctx(frame, isn=999)) is True


def test_literal_right_side_is_shown_without_its_text():
    cond = F("tcp.dport") == 80
    assert cond.text() == "tcp.dport == 80"
    assert cond.explain(ctx(tcp_frame(dport=8080))) == "tcp.dport is 8080, expected 80"
    assert (F("ip.src") == "10.0.2.80").text() == "ip.src == '10.0.2.80'"


@pytest.mark.parametrize(
    ("cond", "words"),
    [
        (F("ip.ttl") != 64, "ip.ttl is 64, expected anything but 64"),
        (F("ip.ttl") < 10, "ip.ttl is 64, expected below 10"),
        (F("ip.ttl") <= 10, "ip.ttl is 64, expected at most 10"),
        (F("ip.ttl") > 64, "ip.ttl is 64, expected above 64"),
        (F("ip.ttl") >= 65, "ip.ttl is 64, expected at least 65"),
    ],
)
def test_comparison_words(cond, words):
    frame = tcp_frame()
    assert cond.test(ctx(frame)) is False
    assert cond.explain(ctx(frame)) == words


def test_reflected_comparisons_keep_the_field_on_the_left():
    cond = 80 == F("tcp.sport")  # noqa: SIM300
    assert cond.text() == "tcp.sport == 80"
    assert (100 < F("tcp.sport")).text() == "tcp.sport > 100"


def test_isin():
    cond = F("tcp.dport").isin([80, 443])
    assert cond.text() == "tcp.dport in (80, 443)"
    assert cond.test(ctx(tcp_frame(dport=443))) is True
    assert cond.test(ctx(tcp_frame(dport=22))) is False
    assert cond.explain(ctx(tcp_frame(dport=22))) == "tcp.dport is 22, expected one of (80, 443)"


def test_in_a_bound_collection():
    cond = Cmp("in", F("tcp.sport"), V("ports"))  # isin() takes literal values; a binding needs Cmp
    c = ctx(tcp_frame(sport=22), ports=(80, 443))
    assert cond.test(c) is False
    assert cond.explain(c) == "tcp.sport is 22, expected one of ports = (80, 443)"


def test_arithmetic_on_a_sequence_number_wraps_modulo_2_32():
    c = ctx(None, top=SeqNumber(2**32 - 1), zero=SeqNumber(0))
    assert (V("top") + 1).eval(c) == 0
    assert (V("top") + 2).eval(c) == 1
    assert (V("zero") - 1).eval(c) == 2**32 - 1
    assert (1 + V("top")).eval(c) == 0
    assert (10 - V("zero")).eval(c) == 10
    assert isinstance((V("top") + 1).eval(c), SeqNumber)  # a sum on a sequence number is one too
    assert (F("tcp.ack") == V("top") + 1).test(ctx(tcp_frame(ack=0), top=SeqNumber(2**32 - 1))) is True
    assert (F("tcp.ack") == V("top") + 1).test(ctx(tcp_frame(ack=2**32), top=SeqNumber(2**32 - 1))) is False


def test_plain_integers_do_ordinary_arithmetic():
    c = ctx(None, ttl=64, top=2**32 - 1)
    assert (V("ttl") - 65).eval(c) == -1
    assert (V("top") + 1).eval(c) == 2**32
    assert (F("ip.ttl") - 65).eval(ctx(tcp_frame())) == -1
    assert type((V("ttl") - 65).eval(c)) is int


def test_a_field_marked_as_a_sequence_number_reads_as_one_and_its_binding_keeps_it():
    frame = tcp_frame(seq=2**32 - 1, ack=7)
    isn = F("tcp.seq").eval(ctx(frame))
    assert isinstance(isn, SeqNumber) and isn == 2**32 - 1
    assert isinstance(F("tcp.ack").eval(ctx(frame)), SeqNumber)
    assert not isinstance(F("tcp.sport").eval(ctx(frame)), SeqNumber)
    assert (V("isn") + 1).eval(ctx(None, isn=isn)) == 0  # an ISN of 2**32 - 1, plus 1
    assert (F("tcp.seq") + 1).eval(ctx(frame)) == 0
    assert (F("tcp.seq") - F("tcp.ack")).eval(ctx(tcp_frame(seq=3, ack=5))) == 2**32 - 2


def test_seq_makes_a_sequence_number_of_a_fact():
    c = Context(facts={"web.isn": 2**32 - 1})
    assert (Fact("web.isn") + 1).eval(c) == 2**32  # a fact is a plain int
    assert (Seq(Fact("web.isn")) + 1).eval(c) == 0
    assert (Seq(Fact("web.isn")) + 1).text() == "Seq(web.isn) + 1"
    assert (F("tcp.ack") == Seq(Fact("web.isn")) + 1).test(Context(tcp_frame(ack=0), facts=c.facts)) is True
    with pytest.raises(AuthorError, match=r"Seq\(web.isn\) makes a sequence number of an int, not of str"):
        (F("tcp.ack") == Seq(Fact("web.isn")) + 1).test(Context(tcp_frame(), facts={"web.isn": "1000"}))


def test_a_seq_number_wraps_in_python_too():
    assert SeqNumber(2**32 - 1) + 1 == 0 and SeqNumber(0) - 1 == 2**32 - 1 and 5 - SeqNumber(6) == 2**32 - 1
    assert SeqNumber(2**32 + 5) == 5 and repr(SeqNumber(5)) == "5" and str(SeqNumber(5)) == "5"


def test_arithmetic_text_keeps_grouping():
    assert (V("a") + 1 - 2).text() == "a + 1 - 2"
    assert (V("a") - (V("b") + 1)).text() == "a - (b + 1)"
    assert (5 - V("b")).text() == "5 - b"
    c = ctx(None, a=10, b=3)
    assert (V("a") - (V("b") + 1)).eval(c) == 6
    assert (F("tcp.seq") == V("a") - (V("b") + 1)).explain(ctx(tcp_frame(seq=7), a=10, b=3)) == (
        "tcp.seq is 7, expected a - (b + 1) = 6"
    )


def test_non_integer_arithmetic_is_not_wrapped():
    assert (V("t") + 0.5).eval(ctx(None, t=1.0)) == 1.5
    assert (V("s") + "x").eval(ctx(None, s="a")) == "ax"


def test_bytes_are_shown_short():
    cond = F("tcp.payload") == b"GET /"
    assert cond.explain(ctx(tcp_frame(length=3))) == "tcp.payload is b'xxx', expected b'GET /'"
    assert cond.explain(ctx(tcp_frame(length=100))) == "tcp.payload is 100 bytes starting b'xxxxxxxxxxxxxxxx', expected b'GET /'"


# --- missing things --------------------------------------------------------------------------


def test_missing_layer_is_false_and_explained_not_raised():
    cond = F("tcp.ack") == V("isn") + 1
    c = ctx(arp_frame(), isn=1000)
    assert cond.test(c) is False
    assert cond.explain(c) == "the frame has no tcp.ack"


def test_missing_field_in_a_present_layer():
    cond = F("tcp.mss") == 1460
    assert cond.test(ctx(tcp_frame())) is False
    assert cond.explain(ctx(tcp_frame())) == "the frame has no tcp.mss"


def test_missing_field_on_the_right_side_is_explained_not_raised():
    cond = V("isn") + 1 == F("tcp.ack")
    c = ctx(arp_frame(), isn=1000)
    assert cond.test(c) is False
    assert cond.explain(c) == "the frame has no tcp.ack"


def test_a_type_error_in_a_condition_is_the_authors_not_a_quiet_false():
    cond = F("tcp.payload") + 1 == 5
    with pytest.raises(AuthorError) as info:
        cond.test(ctx(tcp_frame(length=1)))
    assert str(info.value) == ("the condition tcp.payload + 1 == 5 cannot be tested: tcp.payload + 1 adds bytes and int "
                               "(the lab file is wrong, not the student's code)")
    with pytest.raises(AuthorError, match=r"the condition tcp.ack < x cannot be tested: it compares int 1000 with str '5'"):
        (F("tcp.ack") < V("x")).test(ctx(tcp_frame(), x="5"))
    with pytest.raises(AuthorError, match=r"tcp.payload \+ 1 adds bytes and int"):
        cond.explain(ctx(tcp_frame(length=1)))  # explaining it does not hide it either


def test_a_missing_or_empty_value_stays_a_plain_no():
    # ordering against None (a field the frame leaves empty, like tcp.mss without the option) is false, not an error
    assert (F("tcp.ack") < V("x")).test(ctx(tcp_frame(), x=None)) is False
    assert (F("tcp.mss") >= 536).test(ctx(tcp_frame())) is False  # no mss field at all
    frame = replace(tcp_frame(), layers={**tcp_frame().layers, "tcp": {**tcp_frame().layers["tcp"], "mss": None}})
    assert (F("tcp.mss") >= 536).test(ctx(frame)) is False
    assert (F("tcp.mss") >= 536).explain(ctx(frame)) == "tcp.mss is None, expected at least 536"
    assert (F("tcp.mss") + 1 == 537).test(ctx(frame)) is False
    assert (F("tcp.mss") + 1 == 537).explain(ctx(frame)) == "the frame has no tcp.mss"


def test_field_without_a_frame_is_missing():
    with pytest.raises(MissingField):
        Field("tcp.seq").eval(Context())
    assert (F("tcp.seq") == 1).test(Context()) is False
    assert (F("tcp.seq") == 1).explain(Context()) == "the frame has no tcp.seq"


def test_unbound_variable_raises_from_test():
    with pytest.raises(Unbound) as info:
        (F("tcp.ack") == V("isn") + 1).test(ctx(tcp_frame()))
    assert info.value.args == ("isn",)
    assert Var("isn").text() == "isn"


def test_facts():
    cond = Fact("web.accepted").is_(True)
    assert cond.text() == "web.accepted is True"
    assert cond.test(Context(facts={"web.accepted": True})) is True
    assert cond.test(Context(facts={"web.accepted": False})) is False
    assert cond.explain(Context(facts={"web.accepted": False})) == "web.accepted is False, expected True"
    assert cond.test(Context(facts={})) is False
    assert cond.explain(Context(facts={})) == "the lab did not report web.accepted"


def test_fact_compared_with_a_binding():
    cond = V("sisn") == Fact("web.isn")
    assert cond.test(Context(bindings={"sisn": 5}, facts={"web.isn": 5})) is True
    assert cond.explain(Context(bindings={"sisn": 5}, facts={"web.isn": 6})) == "sisn is 5, expected web.isn = 6"
    assert cond.explain(Context(bindings={"sisn": 5}, facts={})) == "the lab did not report web.isn"


# --- flags, layers, senders, links -------------------------------------------------------------


def test_flags_exact():
    cond = Flags("SA")
    assert cond.text() == "tcp.flags == SA"
    assert cond.test(ctx(tcp_frame(flags="SA"))) is True
    assert cond.test(ctx(tcp_frame(flags="AS"))) is True  # order does not matter
    assert cond.test(ctx(tcp_frame(flags="S"))) is False
    assert cond.test(ctx(tcp_frame(flags="SAE"))) is False
    assert cond.explain(ctx(tcp_frame(flags="S"))) == "flags are S, expected exactly SA"


def test_flags_at_least():
    cond = Flags("R", exact=False)
    assert cond.text() == "tcp.flags has R"
    assert cond.test(ctx(tcp_frame(flags="R"))) is True
    assert cond.test(ctx(tcp_frame(flags="RA"))) is True
    assert cond.test(ctx(tcp_frame(flags="A"))) is False
    assert cond.explain(ctx(tcp_frame(flags="A"))) == "flags are A, expected at least R"


def test_flags_on_non_tcp_and_empty_flags():
    assert Flags("S").test(ctx(arp_frame())) is False
    assert Flags("S").explain(ctx(arp_frame())) == "it is not a TCP segment"
    assert Flags("S").test(Context()) is False
    assert Flags("S").explain(ctx(tcp_frame(flags=""))) == "flags are none, expected exactly S"
    assert Flags("").test(ctx(tcp_frame(flags=""))) is True


def test_layer():
    assert Layer("arp").test(ctx(arp_frame())) is True
    assert Layer("arp").test(ctx(tcp_frame())) is False
    assert Layer("arp").test(Context()) is False
    assert Layer("arp").text() == "has arp"
    assert Layer("arp").explain(ctx(tcp_frame())) == "it is not ARP"


def test_sent_by():
    assert SentBy("web").test(ctx(tcp_frame(sender="web"))) is True
    assert SentBy("web").test(ctx(tcp_frame(sender="r1"))) is False
    assert SentBy("web").text() == "sent by web"
    assert SentBy("web").explain(ctx(tcp_frame(sender="r1"))) == "it was sent by r1, not web"
    assert SentBy("web").explain(ctx(tcp_frame(sender=None))) == "the capture cannot tell whether web sent it"
    with pytest.raises(Unknowable, match="cannot tell whether web sent frame #"):
        SentBy("web").test(ctx(tcp_frame(sender="?")))


def test_on_link():
    assert OnLink("lan2").test(ctx(tcp_frame(link="lan2"))) is True
    assert OnLink("lan2").test(ctx(tcp_frame(link="lan1"))) is False
    assert OnLink("lan2").text() == "on lan2"
    assert OnLink("lan2").explain(ctx(tcp_frame(link="lan1"))) == "it was on lan1, not lan2"
    assert OnLink("lan2").test(Context()) is False


def test_and_explains_only_the_failing_parts():
    cond = SentBy("web") & Flags("SA") & (F("tcp.sport") == 80)
    assert cond.text() == "sent by web and tcp.flags == SA and tcp.sport == 80"
    frame = tcp_frame(sender="web", flags="A", sport=8080)
    assert cond.test(ctx(frame)) is False
    assert cond.explain(ctx(frame)) == "flags are A, expected exactly SA; tcp.sport is 8080, expected 80"
    assert cond.test(ctx(tcp_frame(sender="web", flags="SA", sport=80))) is True


def test_not():
    cond = ~Flags("R", exact=False)
    assert cond.text() == "not (tcp.flags has R)"
    assert cond.test(ctx(tcp_frame(flags="A"))) is True
    assert cond.test(ctx(tcp_frame(flags="RA"))) is False
    assert cond.explain(ctx(tcp_frame(flags="RA"))) == "tcp.flags has R holds, expected it not to"
    # a missing field makes the inner comparison false, so its negation true
    assert (~(F("tcp.sport") == 80)).test(ctx(arp_frame())) is True


# --- frames and traces ------------------------------------------------------------------------


def test_frame_get():
    frame = tcp_frame(seq=7)
    assert frame.get("tcp.seq") == 7
    assert frame.get("tcp")["seq"] == 7
    assert frame.has("ip") and not frame.has("udp")
    assert frame.get("udp.sport", None) is None
    with pytest.raises(MissingField) as info:
        frame.get("udp.sport")
    assert info.value.args == ("udp.sport",)
    with pytest.raises(LookupError):
        frame.get("tcp.nothing")


def test_make_trace_orders_numbers_and_keeps_links_and_drops():
    late, early, same_time = arp_frame(t=2.0), arp_frame(t=1.0, link="a"), arp_frame(t=1.0, link="b")
    trace = make_trace([late, early, same_time], links=["lan1", "lan2"], drops=2)
    assert isinstance(trace, Trace)
    assert [f.index for f in trace] == [1, 2, 3]
    assert [f.time for f in trace] == [1.0, 1.0, 2.0]
    assert [f.link for f in trace] == ["a", "b", "lan1"]  # equal times keep the given order
    assert len(trace) == 3 and trace[3].time == 2.0
    assert trace.links == ("lan1", "lan2")
    assert trace.drops == 2


def test_annotated_layers_are_read_only():
    (frame,) = make_trace([tcp_frame()])
    assert frame.get("tcp.retransmission") is False
    with pytest.raises(TypeError):
        frame.layers["tcp"]["seq"] = 1  # type: ignore[index]


# --- verdicts ---------------------------------------------------------------------------------


def verdict(status: Status, items=(), notes=()) -> Verdict:
    return Verdict("demo", status, tuple(items), {"isn": 1}, tuple(notes))


OK = ItemResult("step", "SYN", Status.PASS, (2,))
BAD = ItemResult("step", "SYN-ACK", Status.FAIL, (5,), ("frame #5: wrong ack", "is it listening?"))
SKIP = ItemResult("step", "ACK", Status.SKIPPED, (), ("not checked",))
RST = ItemResult("never", "no RST", Status.FAIL, (5, 7), ("frame #5: RST", "frame #7: RST"))


@pytest.mark.parametrize("status", [Status.PASS, Status.FAIL])
def test_with_error_forces_fail_and_adds_the_note(status):
    before = verdict(status, [OK], notes=["first"])
    after = before.with_error("the solution crashed: ZeroDivisionError")
    assert after.status is Status.FAIL
    assert not after.passed
    assert after.notes == ("first", "the solution crashed: ZeroDivisionError")
    assert after.items == before.items and after.bindings == before.bindings
    assert before.status is status and before.notes == ("first",)  # unchanged copy
    assert after.explanations()[:2] == ["first", "the solution crashed: ZeroDivisionError"]


def test_with_error_keeps_inconclusive():
    after = verdict(Status.INCONCLUSIVE, [OK], notes=["dropped"]).with_error("timeout")
    assert after.status is Status.INCONCLUSIVE
    assert after.notes == ("dropped", "timeout")


def test_failures_explanations_and_marks():
    v = verdict(Status.FAIL, [OK, BAD, SKIP, RST], notes=["a note"])
    assert not v.passed
    assert v.failures() == (BAD, SKIP, RST)
    assert v.explanations() == [
        "a note",
        "SYN-ACK: frame #5: wrong ack",
        "SYN-ACK: is it listening?",
        "ACK: not checked",
        "no RST: frame #5: RST",
        "no RST: frame #7: RST",
    ]
    assert v.marks() == {2: [OK], 5: [BAD, RST], 7: [RST]}


def test_passed_only_for_pass():
    assert verdict(Status.PASS).passed
    assert not verdict(Status.INCONCLUSIVE).passed
    assert verdict(Status.PASS).explanations() == []
    assert Status.PASS == "PASS" and Status("INCONCLUSIVE") is Status.INCONCLUSIVE


@pytest.mark.parametrize("status", [Status.PASS, Status.FAIL])
def test_with_doubt_makes_any_verdict_inconclusive_and_says_why(status):
    after = verdict(status, [OK]).with_doubt("the kernel held back the error")
    assert after.status is Status.INCONCLUSIVE
    assert after.notes == ("the kernel held back the error",)
    assert after.explanations()[0] == "the kernel held back the error"
