"""Phases in the reports: a heading per phase in the verdict, a band per phase in the ladder and on the page."""

from __future__ import annotations

import io

from protolab.expect import Expectation, Step, check, make_trace
from protolab.report.html import render_html
from protolab.report.ladder import render_ladder
from protolab.report.terminal import make_console, print_report
from protolab.report.verdict_view import render_verdict
from tests.unit.test_expect_groups import request
from tests.unit.test_expect_phases import ALL_GOOD, frames, journey


def text(renderable, width: int = 200) -> str:
    out = io.StringIO()
    make_console(out).print(renderable, width=width, soft_wrap=True)
    return out.getvalue()


def test_the_verdict_heads_each_phase_with_its_result():
    trace = make_trace(frames(("client", b"one"), ("server", b"uno"), ("client", b"two")))
    shown = text(render_verdict(check(journey(), trace, {})))
    lines = shown.splitlines()
    first = next(i for i, line in enumerate(lines) if "▸ first" in line)
    assert "✘ 2/3" in lines[first] and "ask one" in lines[first + 1]
    assert "▸ second  – 0/2" in shown and shown.index("▸ first") < shown.index("▸ second")


def test_the_ladder_draws_a_band_where_each_phase_begins():
    trace = make_trace(frames(*ALL_GOOD))
    verdict = check(journey(), trace, {})
    lines = text(render_ladder(trace, verdict, ("client", "server"), full_width=True)).splitlines()
    bands = [i for i, line in enumerate(lines) if line.startswith("── ▸")]
    assert len(bands) == 2
    assert "first ✔ 3/3" in lines[bands[0]] and "#1" in lines[bands[0] + 1]
    assert "second ✔ 2/2" in lines[bands[1]] and "#3" in lines[bands[1] + 1]


def test_reports_without_phases_are_drawn_as_before():
    trace = make_trace(frames(("client", b"one")))
    verdict = check(Expectation("x", steps=(request("ask one", b"one"),)), trace, {})
    out = io.StringIO()
    print_report(make_console(out), trace=trace, verdict=verdict, columns=("client", "server"))
    assert "▸" not in out.getvalue()
    page = render_html(title="x", trace=trace, verdict=verdict, columns=("client", "server"))
    assert '<ol class="phases">' not in page and '<g class="phases">' not in page and '<li class="phase-head' not in page


def test_the_page_lists_the_phases_and_bands_their_rows():
    trace = make_trace(frames(("client", b"one"), ("server", b"uno"), ("client", b"two")))
    verdict = check(journey(), trace, {})
    page = render_html(title="x", trace=trace, verdict=verdict, columns=("client", "server"))
    assert '<ol class="phases"><li class="ph-fail"><span class="m-fail">✘</span> first <small>2/3</small>' in page
    assert page.count('<g class="band ph-') == 1  # the second phase has no frame of its own
    assert '<li class="phase-head ph-fail">' in page and '<li class="phase-head ph-other">' in page


def test_a_step_outside_every_phase_gets_no_heading():
    trace = make_trace(frames(*ALL_GOOD))
    shown = text(render_verdict(check(Expectation("x", steps=(*journey().steps, Step("more", match=()))), trace, {})))
    assert shown.count("▸") == 2


def test_the_json_report_names_each_item_s_phase_and_each_phase_s_result():
    from protolab.report.json_report import verdict_to_dict

    trace = make_trace(frames(("client", b"one"), ("server", b"uno")))
    data = verdict_to_dict(check(journey(), trace, {}), trace)
    assert data["phases"] == [{"name": "first", "status": "FAIL", "passed": 2, "items": 3},
                              {"name": "second", "status": "SKIPPED", "passed": 0, "items": 2}]
    assert [i.get("phase") for i in data["items"]] == ["first"] * 3 + ["second"] * 2 + [None]
    plain = verdict_to_dict(check(Expectation("x", steps=(request("ask one", b"one"),)), trace, {}), trace)
    assert "phases" not in plain and "phase" not in plain["items"][0]
