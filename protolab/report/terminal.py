"""What `protolab run` and `protolab check` print: the ladder, the lab's views, the verdict.

In a terminal the ladder fits its width (shortened, and saying so). Anywhere
else (a CI log, `| cat`, a file) nothing is shortened: the ladder is printed at
its natural width, uncropped, and long lines stay whole.

    console = make_console()
    print_report(console, trace=trace, verdict=verdict, columns=lab.columns, title=lab.title,
                 views=lab.views, topology=topology)
    print_quiet(console, lab.name, verdict)   # -q: "handshake: FAIL — SYN-ACK from web: …"
"""

from __future__ import annotations

from typing import IO, Any, Callable, Iterable, Sequence

from rich.console import Console, RenderableType

from protolab.expect.trace import Trace
from protolab.expect.verdict import Status, Verdict

from .ladder import render_ladder
from .verdict_view import first_reason, render_verdict

View = Callable[[Trace, Any], RenderableType]  # a lab's extra view: (trace, topology) → renderable


def make_console(file: IO[str] | None = None) -> Console:
    """A console on `file` (stdout by default): colour only on a terminal, none with NO_COLOR set."""
    return Console(file=file, highlight=False)


def ladder_full_width(console: Console) -> bool:
    """Should the ladder be printed whole? Yes unless `console` writes to an interactive terminal
    (forced colour, FORCE_COLOR, does not make a pipe a terminal here)."""
    if not console.is_terminal:
        return True
    isatty = getattr(console.file, "isatty", None)
    try:
        return not (isatty is not None and isatty())
    except (ValueError, OSError):  # a closed or odd file
        return True


def print_report(console: Console, *, trace: Trace, verdict: Verdict, columns: Sequence[str], title: str = "",
                 views: Iterable[View] = (), topology: Any = None) -> None:
    """The ladder (whole when not on a terminal), each view of the lab, then the verdict.

    `title` is plain text, not markup (do not escape it)."""
    whole = ladder_full_width(console)
    console.print(render_ladder(trace, verdict, columns, title=title, full_width=whole), soft_wrap=whole)
    console.print()
    for view in views:
        console.print(view(trace, topology), soft_wrap=whole)
        console.print()
    console.print(render_verdict(verdict), soft_wrap=whole)


def quiet_text(lab_name: str, verdict: Verdict) -> str:
    """The verdict in one line: `handshake: PASS (8/8)`, or the status and its first reason:
    `handshake: FAIL — SYN-ACK from web: no frame after … matches; the closest is …`."""
    status = verdict.status.value
    if verdict.status is Status.PASS:
        passed = sum(1 for i in verdict.items if i.status is Status.PASS)
        return f"{lab_name}: {status} ({passed}/{len(verdict.items)})"
    reason = first_reason(verdict)
    return f"{lab_name}: {status} — {reason}" if reason else f"{lab_name}: {status}"


def print_quiet(console: Console, lab_name: str, verdict: Verdict) -> None:
    """Print `quiet_text(...)` on one line, whatever the console width (never wrapped or cut)."""
    console.print(quiet_text(lab_name, verdict), markup=False, highlight=False, soft_wrap=True)
