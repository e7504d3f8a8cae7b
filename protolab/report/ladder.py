"""Ladder (sequence) diagrams of a trace: one lane per node, one arrow per frame.

                   client  router    web   frame                 link checks
    #2   +1.000 ms    ●──────▶│       │    SYN seq=0 (1000)      lan1 ✔ syn
    #3   +1.200 ms    │       ●──────▶│    SYN seq=0 (1000)      lan2 ✔ syn forwarded

The layout is computed when rendered, from the console width: lanes get closer
and labels, marks and link names are shortened, but every frame stays on one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Callable, Iterable, Sequence

from rich.cells import cell_len

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.text import Text

from protolab.expect.trace import Frame, Trace
from protolab.expect.verdict import ItemResult, Status, Verdict

from .labels import Labeler

# Lane spacing, label and mark widths, in the order they give way on narrow consoles.
GAP_MAX = 16
GAP_COMFORT = 8
LABEL_GOOD = 36  # room for "SYN-ACK seq=0 (5000) ack=1 (1001)"
MARKS_MIN = 12
LINK_MIN = 6
GAP_MIN = 6
EDGE_PAD = 3  # room left of the first lane and right of the last one (for off-diagram nodes)

LANE_STYLE = "dim"
_PROTO_STYLES = (("tcp", "cyan"), ("arp", "yellow"), ("icmp", "magenta"), ("udp", "blue"))
MARK_STYLES = {Status.PASS: ("✔", "green"), Status.FAIL: ("✘", "red")}
OTHER_MARK = ("?", "yellow")


def render_ladder(trace: Trace, verdict: Verdict | None, columns: Sequence[str], *,
                  title: str = "") -> RenderableType:
    """A ladder diagram of `trace`, lanes for `columns` (in that order), marks from `verdict`.

    With no columns, lanes are the nodes of the trace in order of first appearance.
    """
    return Ladder(trace, verdict, tuple(columns) or nodes_of(trace), title=title)


def print_ladder(console: Console, trace: Trace, verdict: Verdict | None,
                 columns: Sequence[str], *, title: str = "") -> None:
    """Print `render_ladder(...)` on `console`."""
    console.print(render_ladder(trace, verdict, columns, title=title))


def nodes_of(trace: Iterable[Frame]) -> tuple[str, ...]:
    """Senders and receivers in order of first appearance."""
    seen: dict[str, None] = {}
    for frame in trace:
        for node in (frame.sender, frame.receiver):
            if node is not None:
                seen.setdefault(node, None)
    return tuple(seen)


def mark_text(items: Sequence[ItemResult]) -> Text:
    """`✔ name` in green for passes, `✘ name` in red for failures, `? name` otherwise."""
    text = Text()
    for item in items:
        symbol, style = MARK_STYLES.get(item.status, OTHER_MARK)
        if text:
            text.append("  ")
        text.append(f"{symbol} {item.name}", style=style)
    return text


@dataclass(frozen=True)
class _Row:
    frame: Frame
    label: str
    short: str  # the label without absolute TCP numbers, for when the full one does not fit
    items: tuple[ItemResult, ...]

    @property
    def marks(self) -> Text:
        return mark_text(self.items)


@dataclass(frozen=True)
class _Layout:
    gap: int
    label_w: int
    marks_w: int
    link_w: int


class Ladder:
    """The renderable returned by `render_ladder`."""

    def __init__(self, trace: Trace, verdict: Verdict | None, columns: Sequence[str], *, title: str = ""):
        self.trace = trace
        self.columns = tuple(columns)
        self.title = title
        labeler = Labeler(trace.frames)
        marks = verdict.marks() if verdict is not None else {}
        self.rows = [_Row(f, _annotate(f, labeler.label(f), self.columns),
                          _annotate(f, labeler.label(f, absolute=False), self.columns),
                          tuple(marks.get(f.index, ()))) for f in trace.frames]
        self.index_w = len(f"#{max((f.index for f in trace.frames), default=0)}")
        self.time_w = max((len(_time(f)) for f in trace.frames), default=0)
        self.link_w = max([len("link")] + [cell_len(f.link) for f in trace.frames])
        self.label_nat = max([len("frame")] + [cell_len(r.label) for r in self.rows])
        marks_nat = max((r.marks.cell_len for r in self.rows), default=0)
        self.marks_nat = max(marks_nat, len("checks")) if marks_nat else 0
        self.names_w = max((cell_len(c) for c in self.columns), default=1)

    # geometry -----------------------------------------------------------------
    @property
    def pad(self) -> int:
        return max(EDGE_PAD, (min(self.names_w, GAP_COMFORT - 1) + 1) // 2)

    def diagram_width(self, gap: int) -> int:
        return 2 * self.pad + max(len(self.columns) - 1, 0) * gap + 1

    def lane_x(self, i: int, gap: int) -> int:
        return self.pad + i * gap

    def layout(self, width: int) -> _Layout:
        """Fit the widest labels and marks, giving up room in a fixed order when short of it."""
        lanes = max(len(self.columns) - 1, 0)
        gap_min = min(max(GAP_MIN, self.names_w + 1), GAP_COMFORT)
        size = {"gap": GAP_MAX, "label": self.label_nat, "marks": self.marks_nat, "link": self.link_w}
        weight = {"gap": lanes, "label": 1, "marks": 1, "link": 1}
        fixed = self.index_w + 1 + self.time_w + 1 + self.diagram_width(0) + 1 + 1 + (1 if self.marks_nat else 0)
        for key, floor in (("gap", GAP_COMFORT), ("label", LABEL_GOOD), ("marks", MARKS_MIN),
                           ("link", LINK_MIN), ("gap", gap_min), ("label", 4)):
            excess = fixed + sum(size[k] * weight[k] for k in size) - width
            if excess <= 0:
                break
            if weight[key] and size[key] > floor:
                size[key] = max(floor, size[key] - -(-excess // weight[key]))
        return _Layout(gap=size["gap"], label_w=size["label"], marks_w=size["marks"], link_w=size["link"])

    # rendering ----------------------------------------------------------------
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        lay = self.layout(width)
        lines = []
        if self.title:
            lines.append(Text(self.title, style="bold"))
        lines.append(self.header(lay))
        lines.extend(self.row(r, lay) for r in self.rows)
        lines.append(self.footer())
        for line in lines:
            line.truncate(width, overflow="ellipsis")
            line.no_wrap = True
            yield line

    def _line(self, gutter: Text, diagram: Text, label: Text, link: Text, marks: Text, lay: _Layout) -> Text:
        line = Text()
        line.append_text(gutter)
        line.append(" ")
        line.append_text(diagram)
        line.append(" ")
        line.append_text(_fit(label, lay.label_w))
        line.append(" ")
        line.append_text(_fit(link, lay.link_w))
        if lay.marks_w:
            line.append(" ")
            line.append_text(_fit(marks, lay.marks_w, pad=False))
        line.rstrip()
        return line

    def header(self, lay: _Layout) -> Text:
        width = self.diagram_width(lay.gap)
        names = Text(" " * width)
        for i, name in enumerate(self.columns):
            fit = min(lay.gap - 1, 2 * self.pad + 1) if len(self.columns) > 1 else 2 * self.pad + 1
            label = _fit(Text(name, style="bold"), min(len(name), fit))
            start = max(0, self.lane_x(i, lay.gap) - len(label) // 2)
            names = names[:start] + label + names[start + len(label):]
        gutter = Text(" " * (self.index_w + 1 + self.time_w))
        checks = Text("checks", style="bold") if lay.marks_w else Text()
        return self._line(gutter, names[:width], Text("frame", style="bold"), Text("link", style="bold"), checks, lay)

    def row(self, row: _Row, lay: _Layout) -> Text:
        frame = row.frame
        gutter = Text(f"#{frame.index}".rjust(self.index_w) + " " + _time(frame).rjust(self.time_w), style="dim")
        style = next((s for layer, s in _PROTO_STYLES if layer in frame.layers), "white")
        label = Text(row.label if cell_len(row.label) <= lay.label_w else row.short, style=style)
        if any(i.status is Status.FAIL for i in row.items):
            label.stylize("bold")
        return self._line(gutter, self.arrow(frame, lay.gap, style), label, Text(frame.link), row.marks, lay)

    def footer(self) -> Text:
        links = sorted({f.link for f in self.trace.frames}) or list(self.trace.links)
        text = Text(f"{len(self.trace)} frames · links {', '.join(links) or '-'}", style="dim")
        if self.trace.drops:
            text.append(f" · {self.trace.drops} frames dropped by the kernel: the trace is incomplete",
                        style="bold yellow")
        return text

    def arrow(self, frame: Frame, gap: int, style: str) -> Text:
        """The diagram part of a row: lanes plus this frame's arrow."""
        width = self.diagram_width(gap)
        lanes = {self.lane_x(i, gap) for i in range(len(self.columns))}
        cells = ["│" if x in lanes else " " for x in range(width)]
        drawn: set[int] = set()

        def put(x: int, char: str) -> None:
            cells[x] = char
            drawn.add(x)

        src = self._lane(frame.sender, gap)
        if frame.receiver is None:  # broadcast: from the sender to both ends
            for x in range(width):
                put(x, "┼" if x in lanes else "─")
            put(0, "◀")
            put(width - 1, "▶")
            if src is not None:
                put(src, "●")
        else:
            dst = self._lane(frame.receiver, gap)
            if src is None and dst is None:
                pass  # neither end is on the diagram; the label says who
            else:
                if src is None:
                    src = _edge(dst, width, prefer_left=True)
                elif dst is None:
                    dst = _edge(src, width, prefer_left=False)
                self._unicast(put, src, dst, frame.sender in self.columns, frame.receiver in self.columns)
        text = Text()
        runs = groupby(range(width), key=lambda x: style if x in drawn else LANE_STYLE)
        for run_style, xs in runs:
            text.append("".join(cells[x] for x in xs), style=run_style)
        return text

    @staticmethod
    def _unicast(put: Callable[[int, str], None], src: int, dst: int, src_lane: bool, dst_lane: bool) -> None:
        if src == dst:
            put(src, "●")
            return
        step = 1 if dst > src else -1
        head = dst - step if dst_lane else dst
        for x in range(src, head, step):
            put(x, "─")
        put(head, "▶" if step > 0 else "◀")
        put(src, "●" if src_lane else "○")

    def _lane(self, node: str | None, gap: int) -> int | None:
        if node is None or node not in self.columns:
            return None
        return self.lane_x(self.columns.index(node), gap)


def _edge(other: int, width: int, *, prefer_left: bool) -> int:
    """The diagram edge nearest to `other` (ties go left for senders, right for receivers)."""
    left, right = other, width - 1 - other
    return 0 if left < right or (left == right and prefer_left) else width - 1


def _annotate(frame: Frame, label: str, columns: Sequence[str]) -> str:
    """Name the nodes that have no lane before the label; mark broadcasts after it."""
    sender = frame.sender if frame.sender is not None else "?"
    src_out = frame.sender not in columns
    dst_out = frame.receiver is not None and frame.receiver not in columns
    if src_out and dst_out:
        label = f"[{sender} → {frame.receiver}] {label}"
    elif src_out:
        label = f"[from {sender}] {label}"
    elif dst_out:
        label = f"[to {frame.receiver}] {label}"
    return f"{label} (broadcast)" if frame.receiver is None else label


def _time(frame: Frame) -> str:
    return f"+{frame.time * 1000:.3f} ms"


def _fit(text: Text, width: int, *, pad: bool = True) -> Text:
    text = text.copy()
    text.truncate(width, overflow="ellipsis", pad=pad)
    return text
