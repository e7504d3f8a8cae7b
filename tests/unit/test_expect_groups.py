"""Beyond one fixed order: InAnyOrder groups (pipelined request/echo pairs) and Either alternatives.

Synthetic UDP echo traffic on one link: the client sends datagrams to an echo
server, which sends each payload back.
"""

from __future__ import annotations

import io

import pytest

from protolab.errors import AuthorError
from protolab.expect import (
    Either, Expectation, F, Frame, InAnyOrder, SentBy, Status, Step, V, Verdict, check, make_trace,
)
from protolab.report.html import render_html
from protolab.report.json_report import verdict_to_dict
from protolab.report.junit import junit_suite
from protolab.report.terminal import make_console, print_report

CLIENT, SERVER, PORT = "10.0.1.10", "10.0.2.7", 40000


def udp(t: float, sender: str, payload: bytes, sport: int = PORT) -> Frame:
    client = sender == "client"
    src, dst = (CLIENT, SERVER) if client else (SERVER, CLIENT)
    ports = (sport, 7) if client else (7, sport)
    return Frame(index=0, time=t, link="lan1", sender=sender, receiver=None, layers={
        "ip": {"src": src, "dst": dst, "ttl": 64, "proto": 17},
        "udp": {"sport": ports[0], "dport": ports[1], "len": len(payload), "payload": payload},
    }, summary=f"UDP {src}:{ports[0]} → {dst}:{ports[1]} {payload!r}")


def request(name: str, payload: bytes, **kw) -> Step:
    return Step(name, match=(SentBy("client"), F("udp.dport") == 7, F("udp.payload") == payload), **kw)


def echo(name: str, payload: bytes, to_port: bool = True) -> Step:
    port = (F("udp.dport") == V("port"),) if to_port else ()
    return Step(name, match=(SentBy("server"), *port, F("udp.payload") == payload))


def echoes_expectation() -> Expectation:
    return Expectation("echo", steps=(
        request("request one", b"one", bind={"port": "udp.sport"}),
        InAnyOrder("echoes", steps=(echo("echo of one", b"one"), request("request two", b"two"), echo("echo of two", b"two"))),
        request("bye", b"bye"),
    ))


def item(verdict: Verdict, name: str):
    return next(i for i in verdict.items if i.name == name)


def run(frames: list[Frame], expectation: Expectation | None = None) -> tuple[Verdict, object]:
    trace = make_trace(frames)
    return check(expectation or echoes_expectation(), trace, {}), trace


# --- InAnyOrder ---------------------------------------------------------------------------------


def test_lockstep_order_passes():
    verdict, _ = run([udp(1, "client", b"one"), udp(2, "server", b"one"), udp(3, "client", b"two"),
                      udp(4, "server", b"two"), udp(5, "client", b"bye")])
    assert verdict.status is Status.PASS, verdict.explanations()


def test_pipelined_order_passes_and_each_step_names_its_own_frame():
    verdict, trace = run([udp(1, "client", b"one"), udp(2, "client", b"two"), udp(3, "server", b"two"),
                          udp(4, "server", b"one"), udp(5, "client", b"bye")])
    assert verdict.status is Status.PASS, verdict.explanations()
    assert [item(verdict, n).frames for n in ("echo of one", "request two", "echo of two", "bye")] == [(4,), (2,), (3,), (5,)]
    assert [i.name for i in verdict.items] == ["request one", "echo of one", "request two", "echo of two", "bye"]


def test_a_missing_echo_fails_with_the_nearest_miss_and_the_next_step_is_not_reached():
    verdict, _ = run([udp(1, "client", b"one"), udp(2, "client", b"two"), udp(3, "server", b"one"),
                      udp(4, "server", b"twX"), udp(5, "client", b"bye")])
    assert verdict.status is Status.FAIL
    missing = item(verdict, "echo of two")
    assert missing.status is Status.FAIL and missing.frames == ()
    (message,) = missing.messages
    assert message.startswith("no frame after request one (frame #1) matches; the closest is frame #4 ")
    assert message.endswith("udp.payload is b'twX', expected b'two'")
    assert item(verdict, "echo of one").status is Status.PASS and item(verdict, "request two").status is Status.PASS
    bye = item(verdict, "bye")
    assert bye.status is Status.SKIPPED
    assert bye.messages == ("not reached: it comes after 'echo of two', which did not happen",)


def test_each_step_needs_a_frame_of_its_own():
    twice = Expectation("twice", steps=(InAnyOrder("both", steps=(echo("first echo", b"x", False), echo("second echo", b"x", False))),))
    verdict, _ = run([udp(1, "server", b"x")], twice)
    assert item(verdict, "first echo").status is Status.PASS
    second = item(verdict, "second echo")
    assert second.status is Status.FAIL
    assert second.messages == ("the only frames in the whole capture that fit it are those of other steps of 'both' "
                               "(frame #1 is 'first echo'): each step of the group needs a frame of its own",)


def test_a_broad_step_does_not_take_the_frame_a_narrower_one_needs():
    broad = Step("any echo", match=(SentBy("server"),))
    group = Expectation("g", steps=(InAnyOrder("echoes", steps=(broad, echo("echo of two", b"two", False))),))
    verdict, _ = run([udp(1, "server", b"two"), udp(2, "server", b"one")], group)
    assert verdict.status is Status.PASS, verdict.explanations()
    assert item(verdict, "any echo").frames == (2,) and item(verdict, "echo of two").frames == (1,)


def test_the_step_after_a_group_comes_after_its_last_frame():
    early_bye = [udp(1, "client", b"one"), udp(2, "client", b"bye"), udp(3, "client", b"two"),
                 udp(4, "server", b"one"), udp(5, "server", b"two")]
    verdict, _ = run(early_bye)
    bye = item(verdict, "bye")
    assert bye.status is Status.FAIL
    assert bye.messages == ("expected it, but nothing was captured after echoes (frame #5)",)


def test_bindings_of_a_group_are_visible_to_later_steps_and_after_may_name_a_member():
    expectation = Expectation("bind", steps=(
        InAnyOrder("requests", steps=(request("request a", b"a", bind={"pa": "udp.sport"}),
                                      request("request b", b"b", bind={"pb": "udp.sport"}))),
        Step("echo to a", match=(SentBy("server"), F("udp.dport") == V("pa"))),
        Step("echo to b", match=(SentBy("server"), F("udp.dport") == V("pb")), after="request b"),
    ))
    verdict, _ = run([udp(1, "client", b"b", sport=5002), udp(2, "client", b"a", sport=5001),
                      udp(3, "server", b"b", sport=5002), udp(4, "server", b"a", sport=5001)], expectation)
    assert verdict.status is Status.PASS, verdict.explanations()
    assert verdict.bindings == {"pa": 5001, "pb": 5002}
    assert item(verdict, "echo to a").frames == (4,) and item(verdict, "echo to b").frames == (3,)


# --- Either -------------------------------------------------------------------------------------


def either_expectation() -> Expectation:
    return Expectation("close", steps=(
        request("hello", b"hello", bind={"port": "udp.sport"}),
        Either("close",
               (request("client bye", b"bye"), echo("server bye", b"bye")),
               (echo("server quits", b"quit"), request("client ok", b"ok", bind={"last": "udp.payload"}))),
        Step("done", match=(SentBy("server"), F("udp.payload") == b"done")),
    ))


def test_either_passes_by_the_first_way():
    verdict, _ = run([udp(1, "client", b"hello"), udp(2, "client", b"bye"), udp(3, "server", b"bye"),
                      udp(4, "server", b"done")], either_expectation())
    assert verdict.status is Status.PASS, verdict.explanations()
    assert [i.name for i in verdict.items] == ["hello", "client bye", "server bye", "done"]


def test_either_passes_by_the_second_way_and_keeps_its_bindings():
    verdict, _ = run([udp(1, "client", b"hello"), udp(2, "server", b"quit"), udp(3, "client", b"ok"),
                      udp(4, "server", b"done")], either_expectation())
    assert verdict.status is Status.PASS, verdict.explanations()
    assert [i.name for i in verdict.items] == ["hello", "server quits", "client ok", "done"]
    assert verdict.bindings["last"] == b"ok"


def test_the_step_after_either_comes_after_the_last_frame_of_the_way_taken():
    verdict, _ = run([udp(1, "client", b"hello"), udp(2, "server", b"done"), udp(3, "server", b"quit"),
                      udp(4, "client", b"ok")], either_expectation())
    done = item(verdict, "done")
    assert done.status is Status.FAIL and done.messages == ("expected it, but nothing was captured after close (frame #4)",)


def test_no_way_happening_explains_the_way_that_got_furthest():
    verdict, _ = run([udp(1, "client", b"hello"), udp(2, "server", b"quit"), udp(3, "client", b"OK"),
                      udp(4, "server", b"done")], either_expectation())
    assert verdict.status is Status.FAIL
    assert [i.name for i in verdict.items] == ["hello", "server quits", "client ok", "done"]
    assert item(verdict, "server quits").status is Status.PASS
    missed = item(verdict, "client ok")
    assert missed.messages[0] == ("none of the 2 ways 'close' may happen was seen in full; this is way 2 "
                                  "(from 'server quits'), which got furthest (way 1 stopped at 'client bye')")
    assert "the closest is frame #3" in missed.messages[1] and "udp.payload is b'OK', expected b'ok'" in missed.messages[1]
    assert item(verdict, "done").status is Status.SKIPPED


# --- author errors in the shape of an expectation -------------------------------------------


def test_the_shape_of_an_expectation_is_checked_when_it_is_built():
    with pytest.raises(AuthorError, match="two entries are named 'x'"):
        Expectation("e", steps=(request("x", b"1"), request("x", b"2")))
    with pytest.raises(AuthorError, match="has after='a': the steps of a group all come after the group's anchor"):
        InAnyOrder("g", steps=(request("a", b"1"), request("b", b"2", after="a")))
    with pytest.raises(AuthorError, match=r"Either\('c'\) needs at least two ways"):
        Either("c", (request("a", b"1"),))
    with pytest.raises(AuthorError, match=r"way 1 of Either\('c'\) is a step: a way is a tuple of steps"):
        Either("c", request("a", b"1"), (request("b", b"2"),))  # type: ignore[arg-type]
    with pytest.raises(AuthorError, match=r"match takes a tuple of conditions; write match=\(udp.dport == 7,\) with the comma"):
        Step("s", match=(F("udp.dport") == 7))  # type: ignore[arg-type]
    with pytest.raises(AuthorError, match="comes after 'later'"):
        Expectation("e", steps=(InAnyOrder("g", steps=(request("a", b"1"),), after="later"),))


# --- the report views show group and way items as steps --------------------------------------


def test_the_views_show_the_items_of_groups_and_ways():
    verdict, trace = run([udp(1, "client", b"hello"), udp(2, "server", b"quit"), udp(3, "client", b"OK")],
                         either_expectation())
    out = io.StringIO()
    print_report(make_console(out), trace=trace, verdict=verdict, columns=("client", "server"))
    text = out.getvalue()
    for name in ("server quits", "client ok", "done"):
        assert name in text
    assert "none of the 2 ways 'close' may happen" in text
    page = render_html(title="t", trace=trace, verdict=verdict, columns=("client", "server"))
    assert "server quits" in page and "client ok" in page
    data = verdict_to_dict(verdict, trace)
    assert [i["name"] for i in data["items"]] == ["hello", "server quits", "client ok", "done"]
    suite = junit_suite(verdict, "close")
    assert [c.name for c in suite] == ["step: hello", "step: server quits", "step: client ok", "step: done"]
