"""What used to be a trap in the expectation DSL is an author error with a message naming the fix.

Python's `and`, `or`, `not`, `if`, chained comparisons and `in` ask a condition
for its truth; a field compared with a literal of a type it never has; a type
error while a condition is tested. And values show unambiguously in messages.
"""

from __future__ import annotations

import pytest

from protolab.errors import AuthorError, LabError
from protolab.expect import Context, F, Fact, Flags, Frame, V
from protolab.expect.expr import show

FIX = ('list conditions in match=(...) or combine them with & | ~; write a range as F("x").between(lo, hi), '
       'a choice as F("x").isin((a, b)), a truth test as F("x").is_(True)')


def frame(**tcp) -> Frame:
    fields = {"sport": 80, "dport": 40000, "seq": 5000, "ack": 1000, "flags": "SA", "len": 0, "payload": b"", "mss": None,
              "retransmission": False, **tcp}
    return Frame(index=1, time=0.0, link="lan1", sender="web", receiver=None,
                 layers={"ip": {"src": "10.0.2.80", "dst": "10.0.1.10", "ttl": 64}, "tcp": fields})


def ctx(f: Frame | None = None, **bindings) -> Context:
    return Context(frame=f, bindings=bindings)


def test_an_author_error_is_a_lab_error():
    assert issubclass(AuthorError, LabError)


# --- 1. a condition has no truth value ---------------------------------------------------------


def test_and_between_two_conditions_is_an_author_error_naming_the_fix():
    with pytest.raises(AuthorError) as info:
        _ = (F("tcp.sport") == 80) and (F("tcp.dport") == 40000)
    assert str(info.value) == ("the condition tcp.sport == 80 was used as a truth value (with and, or, not, if, a chained "
                               f"comparison such as 0 < x < 5, or in), which drops conditions silently: {FIX}")


def test_a_chained_comparison_is_an_author_error():
    with pytest.raises(AuthorError, match=r"the condition ip.ttl > 0 was used as a truth value .*between\(lo, hi\)"):
        _ = 0 < F("ip.ttl") < 5


def test_in_a_tuple_is_an_author_error():
    with pytest.raises(AuthorError, match=r"the condition ip.ttl == 1 was used as a truth value .*isin\(\(a, b\)\)"):
        _ = F("ip.ttl") in (1, 2)


def test_not_or_and_if_are_author_errors():
    with pytest.raises(AuthorError, match="was used as a truth value"):
        _ = not (F("ip.ttl") == 1)
    with pytest.raises(AuthorError, match="was used as a truth value"):
        _ = (F("ip.ttl") == 1) or (F("ip.ttl") == 2)
    with pytest.raises(AuthorError, match=r"the value tcp.retransmission was used as a truth value.*is_\(True\)"):
        if F("tcp.retransmission"):
            pass


def test_the_operators_that_combine_conditions_still_work():
    cond = (F("ip.ttl") == 64) & ~(F("tcp.sport") == 22) | Flags("R")
    assert cond.test(ctx(frame())) is True
    with pytest.raises(AuthorError, match="& combines conditions, not bool True"):
        _ = Flags("S") & True  # type: ignore[operator]
    with pytest.raises(AuthorError, match="the condition ip.ttl == 1 was used as a value"):
        _ = F("ip.ttl") == (F("ip.ttl") == 1)


def test_between():
    cond = F("ip.ttl").between(1, 63)
    assert cond.text() == "ip.ttl between 1 and 63"
    assert cond.test(ctx(frame())) is False
    assert cond.explain(ctx(frame())) == "ip.ttl is 64, expected between 1 and 63"
    assert F("ip.ttl").between(64, 64).test(ctx(frame())) is True  # both ends included
    relative = F("tcp.ack").between(V("isn"), V("isn") + 10)
    assert relative.test(ctx(frame(ack=1005), isn=1000)) is True
    assert relative.explain(ctx(frame(ack=1011), isn=1000)) == "tcp.ack is 1011, expected between isn = 1000 and isn + 10 = 1010"
    assert F("udp.sport").between(1, 2).explain(ctx(frame())) == "the frame has no udp.sport"


def test_is_tests_for_exactly_true_false_or_none():
    assert F("tcp.retransmission").is_(False).test(ctx(frame())) is True
    assert F("tcp.retransmission").is_(True).text() == "tcp.retransmission is True"
    assert F("tcp.retransmission").is_(True).explain(ctx(frame())) == "tcp.retransmission is False, expected True"
    assert F("tcp.mss").is_(None).test(ctx(frame())) is True
    assert Fact("done").is_(True).test(Context(facts={"done": 1})) is False  # 1 is not True
    assert Fact("done").is_(True).test(Context(facts={"done": True})) is True
    with pytest.raises(AuthorError, match=r"is_ takes True, False or None; compare other values with =="):
        F("ip.ttl").is_(64)  # type: ignore[arg-type]


# --- a literal of a type the field never has ---------------------------------------------------


@pytest.mark.parametrize(("build", "words"), [
    (lambda: F("tcp.dport") == "80", "it compares tcp.dport, which is int (see docs/fields.md), with str '80'"),
    (lambda: F("ip.src") == 10, "it compares ip.src, which is str (see docs/fields.md), with int 10"),
    (lambda: F("tcp.payload") > 5, "it compares tcp.payload, which is bytes (see docs/fields.md), with int 5"),
    (lambda: F("tcp.dport").isin((80, "443")), "with str '443'"),
    (lambda: F("tcp.mss") < None, "with None None"),
    (lambda: F("tcp.seq").is_(True), "tcp.seq is int, never True"),
    (lambda: F("ip.ttl").is_(None), "ip.ttl is int, never None"),
    (lambda: F("ip.ttl").between(1, "64"), "with str '64'"),
    (lambda: F("ip.src") == F("ip.ttl"), "ip.src is str, ip.ttl is int"),
])
def test_a_literal_the_field_can_never_equal_is_an_author_error_when_built(build, words):
    with pytest.raises(AuthorError) as info:
        build()
    assert words in str(info.value)
    assert "(the lab file is wrong, not the student's code)" in str(info.value)


def test_literals_of_the_right_kind_are_fine():
    assert (F("dns.qname") == None).text() == "dns.qname == None"  # noqa: E711 - a field that may be None
    assert (F("ip.ttl") == 64.0).test(ctx(frame())) is True
    assert (F("dns.qr") == 1).text() == "dns.qr == 1"  # numbers compare with bools


def test_flags_letters_are_checked():
    with pytest.raises(AuthorError, match=r"Flags\('SYN'\): TCP flags are letters of 'FSRPAUEC'"):
        Flags("SYN")


# --- 3. a type error while testing is the author's, a missing field the student's --------------


def test_a_type_error_while_testing_names_the_condition_and_both_types():
    cond = F("tcp.ack") == V("who") + 1
    with pytest.raises(AuthorError) as info:
        cond.test(ctx(frame(), who="10.0.1.10"))
    assert str(info.value) == ("the condition tcp.ack == who + 1 cannot be tested: who + 1 adds str and int "
                               "(the lab file is wrong, not the student's code)")
    with pytest.raises(AuthorError, match=r"the condition tcp.sport in ports cannot be tested: it compares int 80 with int 5"):
        from protolab.expect.cond import Cmp
        Cmp("in", F("tcp.sport"), V("ports")).test(ctx(frame(), ports=5))


def test_a_missing_field_stays_a_plain_no():
    cond = F("udp.dport") == 53
    assert cond.test(ctx(frame())) is False
    assert cond.explain(ctx(frame())) == "the frame has no udp.dport"


# --- 5. values show unambiguously ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    ("ESTABLISHED", "'ESTABLISHED'"),
    ("", "''"),
    ("80", "'80'"),
    (80, "80"),
    (True, "True"),
    (None, "None"),
    (b"GET /", "b'GET /'"),
    (b"x" * 41, "41 bytes starting b'xxxxxxxxxxxxxxxx'"),
    ((80, 443), "(80, 443)"),
    (("a",), "('a',)"),
    ((), "()"),
    (1.5, "1.5"),
])
def test_show(value, text):
    assert show(value) == text


def test_messages_quote_strings_and_bracket_tuples():
    state = Fact("web.state") == "ESTABLISHED"
    assert state.text() == "web.state == 'ESTABLISHED'"
    assert state.explain(Context(facts={"web.state": "SYN_RECV"})) == "web.state is 'SYN_RECV', expected 'ESTABLISHED'"
    assert state.explain(Context(facts={"web.state": None})) == "web.state is None, expected 'ESTABLISHED'"
    assert (Fact("got") == ("a", 1)).explain(Context(facts={"got": ("a", "1")})) == "got is ('a', '1'), expected ('a', 1)"
    assert (F("tcp.dport").isin((80, 443))).explain(ctx(frame())) == "tcp.dport is 40000, expected one of (80, 443)"
