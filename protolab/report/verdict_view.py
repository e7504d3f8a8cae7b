"""A verdict for people: one line per item, the reasons for misses, and the outcome."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.text import Text

from protolab.expect.verdict import ItemResult, Status, Verdict

ITEM_MARKS = {
    Status.PASS: ("✔", "green"),
    Status.FAIL: ("✘", "red"),
    Status.SKIPPED: ("?", "yellow"),
    Status.INCONCLUSIVE: ("?", "yellow"),
}
STATUS_STYLES = {
    Status.PASS: "bold white on green",
    Status.FAIL: "bold white on red",
    Status.INCONCLUSIVE: "bold black on yellow",
    Status.SKIPPED: "bold black on yellow",
}
_TEXT_STYLES = {Status.PASS: "bold green", Status.FAIL: "bold red"}


def render_verdict(verdict: Verdict) -> RenderableType:
    """Every item with ✔/✘/?, failure messages indented below it, run notes, then the status."""
    lines: list[Text] = []
    if verdict.expectation:
        lines.append(Text(verdict.expectation, style="bold"))
    kind_w = max((len(i.kind) for i in verdict.items), default=0)
    for item in verdict.items:
        lines.extend(item_lines(item, kind_w))
    if verdict.notes:
        lines.append(Text("notes:", style="bold"))
        lines.extend(Text(f"  ! {note}", style="yellow") for note in verdict.notes)
    lines.append(status_line(verdict))
    return Group(*lines)


def print_verdict(console: Console, verdict: Verdict) -> None:
    console.print(render_verdict(verdict))


def item_lines(item: ItemResult, kind_w: int = 0) -> list[Text]:
    symbol, style = ITEM_MARKS.get(item.status, ("?", "yellow"))
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


def status_line(verdict: Verdict) -> Text:
    """`  FAIL  ` on red, followed by how many items passed."""
    passed = sum(1 for i in verdict.items if i.status is Status.PASS)
    line = Text()
    line.append(f"  {verdict.status.value}  ", style=STATUS_STYLES.get(verdict.status, "bold"))
    line.append(f" {passed}/{len(verdict.items)} items passed",
                style=_TEXT_STYLES.get(verdict.status, "bold yellow"))
    return line
