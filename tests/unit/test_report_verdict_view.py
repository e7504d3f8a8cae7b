import io

from rich.console import Console

from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.report import render_verdict
from protolab.report.verdict_view import item_lines, not_reached
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
    # a skipped item is not reached: one line, with what the checker said
    assert lines[skipped].strip().startswith("–") and "not reached: depends on a step" in lines[skipped]
    assert "depends on a step" not in lines[skipped + 1]
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


# --- an unusable solution first; not reached is one dim line -----------------------------------

NOTHING = "expected it, but nothing was captured in the whole capture"
UNUSABLE = "your solution could not be used: my.py:3: syntax error: invalid syntax"


def unusable_verdict(note: str = UNUSABLE) -> Verdict:
    items = (
        ItemResult("step", "SYN from client", Status.FAIL, (), (NOTHING,)),
        ItemResult("step", "SYN-ACK from web", Status.SKIPPED, (), ("not reached: it comes after 'SYN from client', which did not happen",)),
        ItemResult("step", "ACK from client", Status.FAIL, (), ("expected it, but nothing was captured after SYN-ACK (frame #3)",)),
        ItemResult("never", "no RST from client", Status.PASS),
        ItemResult("step", "FIN from client", Status.FAIL, (), (NOTHING,)),
        ItemResult("fact", "web saw the connection", Status.FAIL, (), ("web.accepted is 0, expected 1",)),
        ItemResult("step", "FIN from web", Status.SKIPPED, (), ("not checked: it needs 'cport', which an earlier step did not bind",)),
    )
    return Verdict("handshake", Status.FAIL, items, notes=(note, "capture stopped after 0.3 s", note), unusable=note)


def test_an_unusable_solution_comes_first_and_its_consequences_are_one_line():
    lines = render(unusable_verdict())
    text = "\n".join(lines)
    assert lines[0] == "handshake"
    assert lines[1].strip() == f"✘ {UNUSABLE}"  # before any item
    assert text.count(UNUSABLE) == 1  # not again among the notes, however often the run said it
    # nothing was checked against what the solution did: every item is one line, and it scores 0
    assert "7 items not checked: the solution did not run" in lines[2]
    assert NOTHING not in text and "not reached" not in text and "FIN from client" not in text
    assert "no RST from client" not in text and "web saw the connection" not in text
    assert "capture stopped after 0.3 s" in text
    assert "FAIL" in lines[-1] and "0/7 items: the solution could not be used" in lines[-1]


def test_the_verdict_not_a_phrase_in_a_note_says_the_solution_could_not_be_used():
    note = "your connect() could not be used: it ended at import (exit code 3)"
    lines = render(unusable_verdict(note))
    assert lines[1].strip() == f"✘ {note}"
    assert "7 items not checked" in lines[2]
    one = Verdict("x", Status.FAIL, (ItemResult("fact", "f", Status.SKIPPED, (), ("not checked",)),), notes=(note,),
                  unusable=note)
    assert "1 item not checked: the solution did not run" in "\n".join(render(one))
    # a solution that ran may raise an exception saying anything: its items stay as they are
    said = "your connect() raised RuntimeError: could not be used (s.py:3, in connect)"
    ran = Verdict("x", Status.FAIL, (ItemResult("never", "no RST", Status.PASS),), notes=(said,))
    text = "\n".join(render(ran))
    assert "no RST" in text and "not checked: the solution did not run" not in text and "1/1 items passed" in text


def test_without_an_unusable_solution_steps_after_a_miss_are_not_reached():
    items = (
        ItemResult("step", "SYN from client", Status.FAIL, (), (NOTHING,)),
        ItemResult("step", "SYN-ACK from web", Status.SKIPPED, (), ("not reached: it comes after 'SYN from client', which did not happen",)),
        ItemResult("step", "ACK from client", Status.SKIPPED, (), ("not checked: it needs 'sisn', which an earlier step did not bind",)),
    )
    lines = render(Verdict("handshake", Status.FAIL, items))
    syn = next(i for i, line in enumerate(lines) if "SYN from client" in line)
    assert "✘" in lines[syn] and NOTHING in lines[syn + 1]  # the real failure, as before
    reached = [line for line in lines if "not reached" in line]
    assert len(reached) == 2 and len(lines) == 1 + 2 + 2 + 1
    assert reached[0].strip() == "– step SYN-ACK from web  not reached: it comes after 'SYN from client', which did not happen"
    assert reached[1].strip() == "– step ACK from client  not reached: it needs 'sisn', which an earlier step did not bind"
    (line,) = item_lines(items[1], 4)
    assert str(line.style) == "dim" and not line.spans
    assert not_reached(ItemResult("step", "x", Status.SKIPPED)) == "not reached"
