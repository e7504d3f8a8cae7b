"""Phases: parts of a run with a pass/fail of their own, and rules that hold on their own frames only.

Synthetic UDP echo traffic on one link, as in test_expect_groups.
"""

from __future__ import annotations

import pytest

from protolab.errors import AuthorError
from protolab.expect import Either, Expectation, F, Never, Phase, SentBy, Status, Step, check, make_trace
from protolab.expect.verdict import ItemResult, Verdict
from tests.unit.test_expect_groups import echo, request, udp


def journey() -> Expectation:
    no_bye_in_first = Never("no bye in the first part", match=(F("udp.payload") == b"bye",), why="bye comes last")
    return Expectation("two parts", steps=(
        Phase("first", (request("ask one", b"one", bind={"port": "udp.sport"}), echo("echo one", b"one")),
              never=(no_bye_in_first,)),
        Phase("second", (request("ask two", b"two"), echo("echo two", b"two"))),
        Step("bye", match=(SentBy("client"), F("udp.payload") == b"bye")),
    ))


def frames(*payloads: tuple[str, bytes]):
    return [udp(0.001 * n, who, data) for n, (who, data) in enumerate(payloads)]


def verdict(*payloads: tuple[str, bytes], expectation: Expectation | None = None) -> Verdict:
    return check(expectation or journey(), make_trace(frames(*payloads)), {})


ALL_GOOD = (("client", b"one"), ("server", b"one"), ("client", b"two"), ("server", b"two"), ("client", b"bye"))


def test_each_item_of_a_phase_carries_its_name_and_each_phase_has_a_result():
    v = verdict(*ALL_GOOD)
    assert v.status is Status.PASS
    assert [(i.name, i.phase) for i in v.items] == [
        ("ask one", "first"), ("echo one", "first"), ("no bye in the first part", "first"),
        ("ask two", "second"), ("echo two", "second"), ("bye", "")]
    phases = v.phases()
    assert [(p.name, p.status, p.passed, len(p.items)) for p in phases] == [
        ("first", Status.PASS, 3, 3), ("second", Status.PASS, 2, 2)]
    assert phases[0].frames == (1, 2) and phases[1].frames == (3, 4)


def test_a_phase_that_fails_fails_alone_and_the_next_reads_not_reached():
    v = verdict(("client", b"one"), ("server", b"uno"), ("client", b"two"), ("server", b"two"), ("client", b"bye"))
    first, second = v.phases()
    assert first.status is Status.FAIL and second.status is Status.SKIPPED
    skipped = next(i for i in v.items if i.name == "ask two")
    assert skipped.status is Status.SKIPPED and "'echo one'" in skipped.messages[0]
    assert next(i for i in v.items if i.name == "bye").status is Status.SKIPPED


def test_a_phase_rule_looks_only_at_the_frames_of_its_phase():
    # a bye inside the first part breaks its rule; the same bye just after it does not
    inside = verdict(("client", b"one"), ("client", b"bye"), ("server", b"one"), ("client", b"two"), ("server", b"two"),
                     ("client", b"bye"))
    rule = next(i for i in inside.items if i.name == "no bye in the first part")
    assert rule.status is Status.FAIL and rule.frames == (2,) and "bye comes last" in rule.messages[0]
    assert [p.status for p in inside.phases()] == [Status.FAIL, Status.PASS]
    after = verdict(("client", b"one"), ("server", b"one"), ("client", b"bye"), ("client", b"two"), ("server", b"two"),
                    ("client", b"bye"))
    rule = next(i for i in after.items if i.name == "no bye in the first part")
    assert rule.status is Status.PASS and after.phases()[0].status is Status.PASS


def test_the_rule_of_an_unfinished_phase_watches_to_the_end_of_the_capture():
    v = verdict(("client", b"one"), ("client", b"bye"))
    rule = next(i for i in v.items if i.name == "no bye in the first part")
    assert rule.status is Status.FAIL and rule.frames == (2,)


def test_a_skipped_phase_lists_its_rules_as_not_reached():
    expectation = Expectation("x", steps=(
        Step("start", match=(F("udp.payload") == b"go",)),
        Phase("later", (request("ask one", b"one"),), never=(Never("quiet", match=(F("udp.payload") == b"x",)),)),
    ))
    v = verdict(("client", b"one"), expectation=expectation)
    assert [(i.name, i.status, i.phase) for i in v.items] == [
        ("start", Status.FAIL, ""), ("ask one", Status.SKIPPED, "later"), ("quiet", Status.SKIPPED, "later")]


def test_a_phase_may_hold_alternatives_and_a_step_may_follow_a_phase_by_name():
    expectation = Expectation("x", steps=(
        Phase("open", (Either("who first", (request("one first", b"one"),), (request("two first", b"two"),)),)),
        Step("bye", after="open", match=(F("udp.payload") == b"bye",)),
    ))
    v = verdict(("client", b"two"), ("client", b"bye"), expectation=expectation)
    assert v.status is Status.PASS, v.explanations()
    assert {i.phase for i in v.items if i.name != "bye"} == {"open"}


def test_phases_are_checked_when_the_expectation_is_built():
    with pytest.raises(AuthorError, match="has no entries"):
        Phase("empty", ())
    with pytest.raises(AuthorError, match="do not nest"):
        Phase("outer", (Phase("inner", (request("a", b"a"),)),))
    with pytest.raises(AuthorError, match="two entries are named 'a'"):
        Expectation("x", steps=(Phase("p", (request("a", b"a"),)), request("a", b"b")))


def test_a_verdict_without_phases_has_none():
    v = Verdict("x", Status.PASS, (ItemResult("step", "a", Status.PASS),))
    assert v.phases() == ()
