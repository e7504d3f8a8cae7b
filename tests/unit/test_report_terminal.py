"""What `run` and `check` print: whole ladders off a terminal, fitted ones on it, and the -q line."""

import io

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.report.terminal import ladder_full_width, make_console, print_quiet, print_report, quiet_text
from tests.unit.report_samples import COLUMNS, sample_trace, sample_verdict


class FakeTTY(io.StringIO):
    """A terminal, as far as rich can tell."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def report(console, **kw) -> list[str]:
    seen = []

    def view(trace, topology):
        seen.append((trace, topology))
        return Text("the lab's own view")

    print_report(console, trace=sample_trace(), verdict=sample_verdict(), columns=COLUMNS,
                 title="TCP through a router [offline: x.pcapng]", views=(view,), topology="topo", **kw)
    assert len(seen) == 1 and seen[0][1] == "topo"
    return console.file.getvalue().splitlines()


def test_make_console_off_a_terminal_has_no_colour_and_a_whole_ladder():
    console = make_console(io.StringIO())
    assert not console.is_terminal and console.color_system is None
    assert ladder_full_width(console)
    assert ladder_full_width(Console(file=io.StringIO(), force_terminal=True))  # forced colour is not a terminal


def test_on_a_terminal_the_ladder_fits_and_colour_follows_no_color(monkeypatch):
    console = make_console(FakeTTY())
    assert console.is_terminal and console.color_system is not None and not ladder_full_width(console)
    console.print("[red]x[/]")
    assert "\x1b[" in console.file.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    console = make_console(FakeTTY())
    console.print("[red]x[/] [bold]y[/]")
    assert "\x1b[31m" not in console.file.getvalue() and "31" not in console.file.getvalue()


def test_print_report_off_a_terminal_prints_every_line_whole():
    console = make_console(io.StringIO())  # 80 columns, as rich assumes without a terminal
    assert console.width == 80
    lines = report(console)
    ladder = lines[:lines.index("")]
    assert ladder[0] == "TCP through a router [offline: x.pcapng]"  # plain text, not markup
    assert max(cell_len(line) for line in ladder) > 80
    assert "…" not in "\n".join(ladder) and not any("shortened" in line for line in ladder)
    assert any("ARP who-has 10.0.1.1 tell 10.0.1.10 (broadcast)" in line for line in ladder)
    assert any("PSH-ACK seq=1 (1001) ack=1 (5001) len=5 [retransmission]" in line and "✘ no retransmission" in line
               for line in ladder)
    assert "the lab's own view" in lines
    assert lines[-1].strip().startswith("FAIL")


def test_print_report_on_a_terminal_fits_its_width():
    console = Console(file=FakeTTY(), width=80, color_system=None)
    lines = report(console)
    assert all(cell_len(line) <= 80 for line in lines)
    assert any("shortened" in line and "widen the terminal" in line for line in lines)
    assert sum(1 for line in lines if line.split() and line.split()[0] in {f"#{i}" for i in range(1, 11)}) == 10


def test_record_consoles_export_the_whole_ladder():
    console = Console(record=True, width=60, file=io.StringIO(), color_system=None)
    report(console)
    text = console.export_text()
    assert "SYN-ACK seq=0 (5000) ack=1 (1001)" in text and "…" not in text.split("\n\n")[0]


# --- the -q line ----------------------------------------------------------------------------

def verdict(status, items=(), notes=()):
    return Verdict("handshake", status, tuple(items), notes=tuple(notes))


def test_quiet_pass():
    items = [ItemResult("step", f"s{i}", Status.PASS, (i,)) for i in range(1, 9)]
    assert quiet_text("handshake", verdict(Status.PASS, items)) == "handshake: PASS (8/8)"


def test_quiet_fail_names_the_first_failed_item_and_why():
    closest = ("no frame after SYN from client (frame #3) matches; the closest is frame #4 "
               "(TCP 10.0.2.80:80 > 10.0.1.10:40000 SA): tcp.ack is 1000, expected 1001")
    items = [ItemResult("step", "SYN from client", Status.PASS, (3,)),
             ItemResult("step", "SYN-ACK from web", Status.FAIL, (), (closest, "a second message")),
             ItemResult("step", "ACK from client", Status.SKIPPED, (), ("not reached: it comes after 'SYN-ACK from web'",)),
             ItemResult("never", "no RST", Status.FAIL, (9,), ("frame #9: RST",))]
    text = quiet_text("handshake", verdict(Status.FAIL, items, ["capture stopped after 0.3 s"]))
    assert text == f"handshake: FAIL — SYN-ACK from web: {closest}"
    lonely = [ItemResult("step", "x", Status.SKIPPED, (), ("not checked: it needs 'y', which an earlier step did not bind",))]
    assert quiet_text("l", verdict(Status.FAIL, lonely)) == "l: FAIL — x: not reached: it needs 'y', which an earlier step did not bind"
    assert quiet_text("l", verdict(Status.FAIL, notes=["this capture was made for student bob"])) == \
        "l: FAIL — this capture was made for student bob"
    multi = [ItemResult("fact", "f", Status.FAIL, (), ("line one\n  line two\n",))]
    assert quiet_text("l", verdict(Status.FAIL, multi)) == "l: FAIL — f: line one; line two"


def test_quiet_unusable_solution():
    note = "your solution could not be used: my.py:3: syntax error: invalid syntax"
    items = [ItemResult("step", "SYN from client", Status.FAIL, (), ("expected it, but nothing was captured in the whole capture",))]
    unusable = Verdict("handshake", Status.FAIL, tuple(items), notes=("capture stopped", note), unusable=note)
    assert quiet_text("handshake", unusable) == f"handshake: FAIL — {note}"


def test_quiet_inconclusive_says_why():
    drop = ("the kernel dropped 3 frame(s) during capture, so the trace is incomplete "
            "and cannot prove or disprove anything: run the lab again")
    items = [ItemResult("step", "SYN", Status.PASS, (1,))]
    assert quiet_text("handshake", verdict(Status.INCONCLUSIVE, items, [drop])) == f"handshake: INCONCLUSIVE — {drop}"
    unsure = [ItemResult("never", "no RST from client", Status.INCONCLUSIVE, (4,), ("frame #4: the sender is unknown",))]
    assert quiet_text("h", verdict(Status.INCONCLUSIVE, unsure)) == "h: INCONCLUSIVE — no RST from client: frame #4: the sender is unknown"


def test_print_quiet_is_one_line_whatever_the_width():
    console = Console(file=io.StringIO(), width=40, color_system=None)
    long = "x" * 200
    print_quiet(console, "handshake", verdict(Status.FAIL, [ItemResult("step", "SYN [1]", Status.FAIL, (), (long,))]))
    assert console.file.getvalue() == f"handshake: FAIL — SYN [1]: {long}\n"
