"""A verdict for people: one line per item, the reasons for misses, and the outcome.

When the solution could not be used at all (it did not import, it ended at
import), that comes first, and the steps that only missed because of it are
one line, not one each. A step after one that failed is "not reached": dim,
one line, with what the checker said, so the real failure stands out.
"""

from __future__ import annotations

from typing import Sequence

from rich.console import Console, Group, RenderableType
from rich.text import Text

from protolab.expect.verdict import ItemResult, PhaseResult, Status, Verdict

ITEM_MARKS = {
    Status.PASS: ("✔", "green"),
    Status.FAIL: ("✘", "red"),
    Status.SKIPPED: ("–", "dim"),
    Status.INCONCLUSIVE: ("?", "yellow"),
}
STATUS_STYLES = {
    Status.PASS: "bold white on green",
    Status.FAIL: "bold white on red",
    Status.INCONCLUSIVE: "bold black on yellow",
    Status.SKIPPED: "bold black on yellow",
}
_TEXT_STYLES = {Status.PASS: "bold green", Status.FAIL: "bold red"}

# what a step that the solution never got to says (protolab.expect.match)
NOT_REACHED = "not reached"


def render_verdict(verdict: Verdict) -> RenderableType:
    """Every item with ✔/✘, failure messages indented below it, run notes, then the status.

    An unusable solution is said first, and every item is one line after it (none was
    checked against anything the solution did: it scores 0); steps after a failed one
    read "not reached"."""
    lines: list[Text] = []
    if verdict.expectation:
        lines.append(Text(verdict.expectation, style="bold"))
    unusable = unusable_note(verdict)
    if unusable is not None:
        line = Text("  ✘ ", style="bold red")
        line.append(unusable, style="bold red")
        lines.append(line)
    # a file that could not be used earns nothing: no item was checked against anything it did
    unrun = set(map(id, verdict.items)) if unusable is not None else set()
    kind_w = max((len(i.kind) for i in verdict.items), default=0)
    collapsed = False
    phases, current = {p.name: p for p in verdict.phases()}, ""
    for item in verdict.items:
        if item.phase != current and id(item) not in unrun:
            current = item.phase
            if current:
                lines.append(phase_line(phases[current]))
        if id(item) in unrun:
            if not collapsed:
                lines.append(not_run_line([i for i in verdict.items if id(i) in unrun]))
                collapsed = True
            continue
        lines.extend(item_lines(item, kind_w))
    notes = [note for note in dict.fromkeys(verdict.notes) if note != unusable]
    if notes:
        lines.append(Text("notes:", style="bold"))
        lines.extend(Text(f"  ! {note}", style="yellow") for note in notes)
    lines.append(status_line(verdict))
    return Group(*lines)


def print_verdict(console: Console, verdict: Verdict) -> None:
    console.print(render_verdict(verdict))


def unusable_note(verdict: Verdict) -> str | None:
    """Why the solution could not be used at all, if it could not (the run says so
    in the verdict, never a phrase in a note: a student's exception text may say anything)."""
    return verdict.unusable


def not_run_line(items: Sequence[ItemResult]) -> Text:
    """"  – 5 steps not checked: the solution did not run"."""
    noun = "step" if all(i.kind == "step" for i in items) else "item"
    count = f"{len(items)} {noun}{'s' if len(items) != 1 else ''}"
    return Text(f"  – {count} not checked: the solution did not run", style="dim")


def not_reached(item: ItemResult) -> str:
    """What a skipped item says, as "not reached: …"."""
    said = "; ".join(item.messages)
    if not said:
        return NOT_REACHED
    if said.startswith(NOT_REACHED):
        return said
    return f"{NOT_REACHED}: {said.removeprefix('not checked: ')}"


def item_lines(item: ItemResult, kind_w: int = 0) -> list[Text]:
    symbol, style = ITEM_MARKS.get(item.status, ("?", "yellow"))
    if item.status is Status.SKIPPED:  # one dim line: it is a consequence, not a failure of its own
        line = Text(f"  {symbol} {item.kind:<{kind_w}} {item.name}  {not_reached(item)}", style="dim")
        return [line]
    line = Text(f"  {symbol} ", style=style)
    line.append(f"{item.kind:<{kind_w}} ", style="dim")
    line.append(item.name, style=style if item.status is not Status.PASS else "")
    if item.status is not Status.PASS and item.status is not Status.FAIL:
        line.append(f"  ({item.status.value.lower()})", style="dim")
    if item.frames:
        line.append("  " + " ".join(f"#{i}" for i in item.frames), style="dim")
    out = [line]
    if item.status is not Status.PASS:
        out.extend(Text(f"      {message}") for message in item.messages)
    return out


def phase_line(phase: PhaseResult) -> Text:
    """"▸ 3 DNS: the name's address  ✔ 8/8": a phase's heading, with its own result."""
    symbol, style = ITEM_MARKS.get(phase.status, ("?", "yellow"))
    line = Text("  ▸ ", style="bold")
    line.append(phase.name, style="bold")
    line.append(f"  {symbol} {phase.passed}/{len(phase.items)}", style=style)
    return line


def status_line(verdict: Verdict) -> Text:
    """`  FAIL  ` on red, followed by how many items passed."""
    passed = sum(1 for i in verdict.items if i.status is Status.PASS)
    line = Text()
    line.append(f"  {verdict.status.value}  ", style=STATUS_STYLES.get(verdict.status, "bold"))
    said = (f" 0/{len(verdict.items)} items: the solution could not be used" if unusable_note(verdict) is not None
            else f" {passed}/{len(verdict.items)} items passed")
    line.append(said, style=_TEXT_STYLES.get(verdict.status, "bold yellow"))
    return line


def first_reason(verdict: Verdict) -> str:
    """Why a verdict is not PASS, in one line: the unusable solution, else for
    INCONCLUSIVE the note saying why, else the first failed item and its first
    message, else the first item not reached, else the first note ("" if none)."""
    unusable = unusable_note(verdict)
    if unusable is not None:
        return one_line(unusable)
    notes = [n for n in verdict.notes if not n.startswith("offline check")] or list(verdict.notes)
    if verdict.status is Status.INCONCLUSIVE and notes:
        return one_line(notes[0])
    for status in (Status.FAIL, Status.INCONCLUSIVE):
        item = next((i for i in verdict.items if i.status is status), None)
        if item is not None:
            return one_line(f"{item.name}: {item.messages[0]}" if item.messages else item.name)
    item = next((i for i in verdict.items if i.status is Status.SKIPPED), None)
    if item is not None:
        return one_line(f"{item.name}: {not_reached(item)}")
    return one_line(notes[0]) if notes else ""


def one_line(text: str) -> str:
    """`text` on one line: its non-blank lines joined with "; "."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())
