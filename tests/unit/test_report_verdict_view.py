import io

from rich.console import Console

from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.report import render_verdict
from tests.unit.report_samples import sample_verdict


def render(verdict: Verdict, width: int = 100) -> list[str]:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(render_verdict(verdict))
    return console.export_text().splitlines()


def test_items_messages_notes_and_status():
    lines = render(sample_verdict())
    text = "\n".join(lines)
    assert lines[0] == "tcp-through-router"
    assert any(line.strip().startswith("✔ step") and line.strip().endswith("syn  #3") for line in lines)
    fail = next(i for i, line in enumerate(lines) if "✘" in line)
    assert "no retransmission" in lines[fail] and "#10" in lines[fail]
    assert lines[fail + 1].startswith("      ") and "repeats seq 1001" in lines[fail + 1]
    skipped = next(i for i, line in enumerate(lines) if "web got the data" in line)
    assert lines[skipped].strip().startswith("?") and "(skipped)" in lines[skipped]
    assert "depends on a step" in lines[skipped + 1]
    assert "capture stopped after 0.3 s" in text
    assert "FAIL" in lines[-1] and "4/6 items passed" in lines[-1]


def test_passing_items_show_no_messages():
    verdict = Verdict("ok", Status.PASS, (ItemResult("step", "syn", Status.PASS, (0,), ("matched",)),))
    lines = render(verdict)
    assert "matched" not in "\n".join(lines)
    assert lines[-1].strip().startswith("PASS")


def test_inconclusive_and_empty():
    lines = render(Verdict("", Status.INCONCLUSIVE, (), notes=("kernel dropped 3 frames",)))
    assert "kernel dropped 3 frames" in "\n".join(lines)
    assert "INCONCLUSIVE" in lines[-1] and "0/0" in lines[-1]


def test_status_colours():
    console = Console(record=True, width=100, file=io.StringIO(), color_system="truecolor", force_terminal=True)
    console.print(render_verdict(sample_verdict()))
    html = console.export_html(inline_styles=True)
    assert "✘" in html and "✔" in html
