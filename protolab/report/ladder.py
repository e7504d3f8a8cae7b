"""Ladder (sequence) diagrams of a trace: one lane per node, one arrow per frame.

                   client  router    web   frame                 link checks
    #2   +1.000 ms    ●──────▶│       │    SYN seq=0 (1000)      lan1 ✔ syn
    #3   +1.200 ms    │       ●──────▶│    SYN seq=0 (1000)      lan2 ✔ syn forwarded

Every frame stays on one line, but for HTTP: an HTTP/1.1 message is one row,
an arrow from its sender to its receiver drawn with ═ (across the router's
lane), labelled with what it is (`HTTP 200 OK ← GET /big.html · 8475 B body ·
6 segments`); the segments that carried its bytes on every link, and the pure
ACKs of them, fold into it (its frame column reads "#29–#44", its checks are
theirs). `fold_http=False` draws every frame. With `full_width` (output that is not a
terminal: a CI log, a pipe, a file) the ladder has its natural width and
nothing in it is shortened; print it uncropped (`terminal.print_report` does).
In a terminal it fits the console width, giving up room in this order: the
lanes get closer (their names shortened: "resolver" → "resolv…"), the link
names, the absolute TCP numbers (and DNS ids), the time column's unit, some
of the names of checks, the detail of labels (DNS glue, the ARP asker), the
lanes once more (names of 3 letters), the names of checks (never their ✔/✘),
the rest of the detail, the time column, what is left of the names of checks. The frame number, the TCP flags and
seq/ack, the DNS question or kind of answer and the ✔/✘ marks stay; a last
line says what was shortened and that a wider terminal shows it all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import groupby
from typing import Callable, Iterable, Iterator, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text

from protolab.expect.trace import Frame, Trace
from protolab.expect.verdict import ItemResult, PhaseResult, Status, Verdict

from .labels import Labeler, MessageFold, http_folds

# Lane spacing, label and mark widths, and the floors they give way to on narrow consoles.
GAP_MAX = 16
GAP_COMFORT = 8  # lane names up to 7 cells ("resolv…")
GAP_MIN = 4  # lane names of 3 cells ("res")
EDGE_PAD = 3  # room left of the first lane and right of the last one (for off-diagram nodes)
LINK_MIN = 4
MARKS_GOOD = 30  # room for "✔ 2. tld refers to shop.lab."
MARKS_MIN = 12
LABEL_GOOD = 36  # room for "SYN-ACK seq=0 (5000) ack=1 (1001)"
LABEL_FLOOR = 16
LABEL_MIN = 4

LANE_STYLE = "dim"
HTTP_STYLE = "bold bright_cyan"
_PROTO_STYLES = (("dns", "green"), ("tcp", "cyan"), ("arp", "yellow"), ("icmp", "magenta"), ("udp", "blue"))
MARK_STYLES = {Status.PASS: ("✔", "green"), Status.FAIL: ("✘", "red")}
OTHER_MARK = ("?", "yellow")
UNKNOWN = "?"  # a sender the capture could not name

_TIMES = ("full", "short", "none")


def render_ladder(trace: Trace, verdict: Verdict | None, columns: Sequence[str], *,
                  title: str = "", full_width: bool = False, fold_http: bool = True) -> Ladder:
    """A ladder diagram of `trace`, lanes for `columns` (in that order), marks from `verdict`.

    With no columns, lanes are the nodes of the trace in order of first appearance.
    `title` is plain text (not markup). With `full_width` nothing is shortened
    and lines are as long as they need: print it with `soft_wrap=True` (or
    `crop=False`) so that the console does not cut them.
    """
    return Ladder(trace, verdict, tuple(columns) or nodes_of(trace), title=title, full_width=full_width,
                  fold_http=fold_http)


def print_ladder(console: Console, trace: Trace, verdict: Verdict | None,
                 columns: Sequence[str], *, title: str = "", full_width: bool | None = None) -> None:
    """Print `render_ladder(...)` on `console`; `full_width` defaults to "the console is not a terminal"."""
    from .terminal import ladder_full_width

    full = ladder_full_width(console) if full_width is None else full_width
    console.print(render_ladder(trace, verdict, columns, title=title, full_width=full), soft_wrap=full)


def nodes_of(trace: Iterable[Frame]) -> tuple[str, ...]:
    """Senders and receivers in order of first appearance (not the unknown "?")."""
    seen: dict[str, None] = {}
    for frame in trace:
        for node in (frame.sender, frame.receiver):
            if node is not None and node != UNKNOWN:
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


def fit_marks(items: Sequence[ItemResult], width: int) -> Text:
    """`mark_text(items)` in at most `width` cells: names are shortened before any ✔/✘ is lost."""
    full = mark_text(items)
    if full.cell_len <= width or not items:
        return full
    n = len(items)
    text = Text()
    if width >= 7 * n - 1:  # room for "✔ name…" each (a few letters of the name), one space apart
        remaining = width
        for k, item in enumerate(items):
            symbol, style = MARK_STYLES.get(item.status, OTHER_MARK)
            left = n - k
            budget = (remaining - (left - 1)) // left
            piece = _fit(Text(f"{symbol} {item.name}"), budget, pad=False).plain
            if text:
                text.append(" ")
            text.append(piece, style=style)
            remaining -= cell_len(piece) + 1
        return text
    gap = " " if width >= 2 * n - 1 else ""
    for item in items[:width if not gap else n]:
        symbol, style = MARK_STYLES.get(item.status, OTHER_MARK)
        if text and gap:
            text.append(gap)
        text.append(symbol, style=style)
    return text


def abbreviate(names: Sequence[str], room: int) -> tuple[str, ...]:
    """Each name in at most `room` cells: whole if it fits, else "resolv…" (5 cells or more),
    else its first letters; names that would read the same get a number instead of their last letter."""
    out = []
    for name in names:
        if cell_len(name) <= room:
            out.append(name)
        elif room >= 5:
            out.append(_fit(Text(name), room, pad=False).plain)
        else:
            out.append(_cut(name, room))
    for i, short in enumerate(out):
        if short != names[i] and out.count(short) > 1:
            for j in [j for j, other in enumerate(out) if other == short and other != names[j]]:
                tag = str(j + 1)
                out[j] = _cut(short.rstrip("…"), max(room - len(tag), 1)) + tag
    return tuple(out)


@dataclass(frozen=True)
class _Row:
    frame: Frame
    forms: tuple[str, ...]  # the annotated label, then shorter forms of it
    items: tuple[ItemResult, ...]
    number: str = ""  # "#15", or "#15–#26" for an HTTP message's row
    http: bool = False  # an HTTP message: the frames in `number` fold into it
    last: int = 0  # the last frame folded into an HTTP message's row (0: the row is one frame)

    @property
    def label(self) -> str:
        return self.forms[0]

    @property
    def marks(self) -> Text:
        return mark_text(self.items)

    def label_in(self, width: int) -> str:
        """The longest form that fits, else the shortest one cut with an ellipsis."""
        form = next((f for f in self.forms if cell_len(f) <= width), None)
        return form if form is not None else _fit(Text(self.forms[-1]), width, pad=False).plain


@dataclass(frozen=True)
class _Layout:
    gap: int
    names: tuple[str, ...]  # the lane names as shown
    pad: int
    time: str  # "full" ("+1.200 ms"), "short" ("1.200", "ms" in the header) or "none"
    label_w: int
    link_w: int
    marks_w: int
    limit: int | None  # the width lines are cut to; None: full width


class Ladder:
    """The renderable returned by `render_ladder`."""

    def __init__(self, trace: Trace, verdict: Verdict | None, columns: Sequence[str], *,
                 title: str = "", full_width: bool = False, fold_http: bool = True):
        self.trace = trace
        self.columns = tuple(columns)
        self.title = title
        self.full_width = full_width
        labeler = Labeler(trace.frames)
        marks = verdict.marks() if verdict is not None else {}
        folds = http_folds(trace) if fold_http else {}
        self.folded = len({id(f) for f in folds.values()})
        self.rows = []
        for f in trace.frames:
            fold = folds.get(f.index)
            if fold is None:
                self.rows.append(_Row(f, label_forms(f, labeler.variants(f), self.columns),
                                      tuple(marks.get(f.index, ())), f"#{f.index}"))
            elif fold.first == f.index:
                self.rows.append(self._fold_row(fold, marks))
        frames = [r.frame for r in self.rows]
        self.index_w = max([2] + [len(r.number) for r in self.rows])
        self.time_w = {"full": max((len(_time(f)) for f in frames), default=0),
                       "short": max([2] + [len(_time(f, short=True)) for f in frames]), "none": 0}
        self.link_nat = max([len("link")] + [cell_len(f.link) for f in frames])
        self.label_nat = self._labels(0)
        self.label_rel = self._labels(1)
        self.label_short = self._labels(-1)
        marks_nat = max((r.marks.cell_len for r in self.rows), default=0)
        self.marks_nat = max(marks_nat, len("checks")) if marks_nat else 0
        self.marks_min = max((len(r.items) for r in self.rows), default=0)
        self.names_w = max((cell_len(c) for c in self.columns), default=1)
        self.gap_nat = max(GAP_MAX, self.names_w + 1)
        self.bands = self._bands(verdict)

    def _fold_row(self, fold: MessageFold, marks: dict[int, list[ItemResult]]) -> _Row:
        """One row for an HTTP message: from its sender to its receiver, its frames' checks."""
        view, first = fold.view, self.trace[fold.first]
        links = tuple(dict.fromkeys(self.trace[n].link for n in fold.frames))
        frame = replace(first, sender=view.sender, receiver=view.receiver, link=",".join(links))
        items: dict[int, ItemResult] = {}
        for n in fold.frames:
            for item in marks.get(n, ()):
                items.setdefault(id(item), item)
        forms = tuple(annotate(frame, form, self.columns) for form in fold.forms)
        return _Row(frame, forms, tuple(items.values()), fold.numbers, http=True, last=max(fold.frames))

    def _bands(self, verdict: Verdict | None) -> dict[int, PhaseResult]:
        """Row position → the phase whose band begins above it (at the row of its first frame)."""
        bands: dict[int, PhaseResult] = {}
        for phase in verdict.phases() if verdict is not None else ():
            if not phase.frames:
                continue
            start = phase.frames[0]
            at = next((i for i, r in enumerate(self.rows) if max(r.frame.index, r.last) >= start), None)
            if at is not None:
                bands.setdefault(at, phase)
        return bands

    def _labels(self, form: int) -> int:
        return max([len("frame")] + [cell_len(r.forms[form] if -len(r.forms) <= form < len(r.forms) else r.forms[-1])
                                     for r in self.rows])

    # geometry -----------------------------------------------------------------
    def lane_names(self, gap: int) -> tuple[str, ...]:
        return abbreviate(self.columns, max(gap - 1, 1))

    @staticmethod
    def pad_for(names: Sequence[str]) -> int:
        """Room beside the outer lanes: for edge markers, and for the outer names centred on their lanes."""
        ends = [cell_len(names[0]), cell_len(names[-1])] if names else [0]
        return max([EDGE_PAD] + [w // 2 for w in ends])

    def diagram_width(self, gap: int, pad: int) -> int:
        return 2 * pad + max(len(self.columns) - 1, 0) * gap + 1

    def lane_x(self, i: int, lay: _Layout) -> int:
        return lay.pad + i * lay.gap

    def make_layout(self, gap: int, time: str, label_w: int, link_w: int, marks_w: int,
                    limit: int | None) -> _Layout:
        names = self.lane_names(gap)
        return _Layout(gap, names, self.pad_for(names), time, label_w, link_w, marks_w, limit)

    def total(self, lay: _Layout) -> int:
        """The width of the widest line a layout gives."""
        gutter = self.index_w + (1 + self.time_w[lay.time] if lay.time != "none" else 0)
        marks = 1 + lay.marks_w if self.marks_nat else 0
        return gutter + 1 + self.diagram_width(lay.gap, lay.pad) + 1 + lay.label_w + 1 + lay.link_w + marks

    def natural(self) -> _Layout:
        return self.make_layout(self.gap_nat, "full", self.label_nat, self.link_nat, self.marks_nat, None)

    def layout(self, width: int | None) -> _Layout:
        """The natural layout (`width` None), or one that fits `width`, giving up room in a fixed order."""
        if width is None:
            return self.natural()
        state = {"gap": self.gap_nat, "time": "full", "label": self.label_nat, "link": self.link_nat,
                 "marks": self.marks_nat}

        def build() -> _Layout:
            return self.make_layout(state["gap"], state["time"], state["label"], state["link"], state["marks"], width)

        steps: tuple[tuple[str, object], ...] = (
            ("gap", max(GAP_COMFORT, self.names_w + 1)),  # closer lanes, names whole
            ("gap", GAP_COMFORT),  # names shortened to 7 cells
            ("link", LINK_MIN),
            ("label", self.label_rel),  # no absolute TCP numbers, no DNS ids
            ("time", "short"),
            ("marks", MARKS_GOOD),
            ("label", max(LABEL_GOOD, self.label_short)),  # less detail (DNS glue, ARP asker)
            ("gap", GAP_MIN),  # names of 3 cells
            ("marks", MARKS_MIN),  # names of checks shortened, ✔/✘ kept
            ("label", self.label_short),  # the shortest form of each label
            ("time", "none"),
            ("marks", self.marks_min),  # only the ✔/✘
            ("label", LABEL_FLOOR),  # labels cut
            ("label", LABEL_MIN),
        )
        for key, floor in steps:
            if self.total(build()) <= width:
                break
            if key == "time":
                if _TIMES.index(str(floor)) > _TIMES.index(state["time"]):
                    state["time"] = floor
                continue
            if key == "gap":
                while state["gap"] > floor and self.total(build()) > width:
                    state["gap"] -= 1
                continue
            excess = self.total(build()) - width
            state[key] = max(min(int(floor), state[key]), state[key] - excess)
        # what is left over goes back to the labels, then the checks, then the time
        for key, most in (("label", self.label_nat), ("marks", self.marks_nat)):
            slack = width - self.total(build())
            if slack > 0 and state[key] < most:
                state[key] = min(most, state[key] + slack)
        for time in ("full", "short"):
            if _TIMES.index(time) < _TIMES.index(state["time"]):
                before = state["time"]
                state["time"] = time
                if self.total(build()) > width:
                    state["time"] = before
        return build()

    def shortened(self, lay: _Layout) -> list[str]:
        """What a layout shows shorter than it is, in words."""
        what = []
        if lay.names != self.columns:
            what.append("lane names")
        if lay.time != "full":
            what.append("times")
        if any(cell_len(r.frame.link) > lay.link_w for r in self.rows):
            what.append("links")
        if any(cell_len(r.forms[0]) > lay.label_w for r in self.rows):
            what.append("labels")
        if self.marks_nat and any(r.marks.cell_len > lay.marks_w for r in self.rows):
            what.append("checks")
        return what

    # rendering ----------------------------------------------------------------
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        limit = None if self.full_width else options.max_width
        for line in self.lines(limit):
            yield from line.render(console)
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        natural = max(self.total(self.natural()), cell_len(self.title))
        return Measurement(natural if self.full_width else min(natural, 20), natural)

    def lines(self, limit: int | None) -> Iterator[Text]:
        """The ladder's lines, each at most `limit` cells (None: as wide as they need)."""
        lay = self.layout(limit)
        lines = []
        if self.title:
            lines.append(Text(self.title, style="bold"))
        lines.append(self.header(lay))
        for i, r in enumerate(self.rows):
            if i in self.bands:
                lines.append(self.band(self.bands[i], lay))
            lines.append(self.row(r, lay))
        lines.append(self.footer())
        note = self.note(lay)
        if note is not None:
            lines.append(note)
        for line in lines:
            if limit is not None:
                line.truncate(limit, overflow="ellipsis")
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
        if self.marks_nat:
            line.append(" ")
            line.append_text(marks)
        line.rstrip()
        return line

    def _gutter(self, index: str, time: str, lay: _Layout, style: str = "") -> Text:
        text = index.rjust(self.index_w)
        if lay.time != "none":
            text += " " + time.rjust(self.time_w[lay.time])
        return Text(text, style=style)

    def header(self, lay: _Layout) -> Text:
        width = self.diagram_width(lay.gap, lay.pad)
        names = Text(" " * width)
        for i, name in enumerate(lay.names):
            label = Text(name, style="bold")
            start = max(0, self.lane_x(i, lay) - cell_len(name) // 2)
            names = names[:start] + label + names[start + len(label):]
        gutter = self._gutter("", "ms" if lay.time == "short" else "", lay, style="dim")
        checks = Text("checks" if lay.marks_w >= len("checks") else "", style="bold")
        return self._line(gutter, names[:width], Text("frame", style="bold"), Text("link", style="bold"), checks, lay)

    def row(self, row: _Row, lay: _Layout) -> Text:
        frame = row.frame
        gutter = self._gutter(row.number, _time(frame, short=lay.time == "short"), lay, style="dim")
        style = HTTP_STYLE if row.http else next((s for layer, s in _PROTO_STYLES if layer in frame.layers), "white")
        label = Text(row.label_in(lay.label_w), style=style)
        if any(i.status is Status.FAIL for i in row.items):
            label.stylize("bold")
        marks = fit_marks(row.items, lay.marks_w) if self.marks_nat else Text()
        return self._line(gutter, self.arrow(frame, lay, style, shaft="═" if row.http else "─"), label,
                          Text(frame.link), marks, lay)

    def band(self, phase: PhaseResult, lay: _Layout) -> Text:
        """"── ▸ 3 DNS: the name's address ✔ 8/8 ─────": where a phase's frames begin, and its result."""
        symbol, style = MARK_STYLES.get(phase.status, OTHER_MARK)
        line = Text("── ▸ ", style="dim")
        line.append(phase.name, style="bold")
        line.append(f" {symbol} {phase.passed}/{len(phase.items)} ", style=style)
        width = lay.limit if lay.limit is not None else self.total(lay)
        line.append("─" * max(2, width - line.cell_len), style="dim")
        return line

    def footer(self) -> Text:
        links = sorted({f.link for f in self.trace.frames}) or list(self.trace.links)
        text = Text(f"{len(self.trace)} frames · links {', '.join(links) or '-'}", style="dim")
        if self.folded:
            text.append(f" · {self.folded} HTTP messages, one row each (═): the segments and ACKs of each fold into it",
                        style="dim")
        if self.trace.drops:
            text.append(f" · {self.trace.drops} frames dropped by the kernel: the trace is incomplete",
                        style="bold yellow")
        return text

    def note(self, lay: _Layout) -> Text | None:
        """Under a shortened ladder: what was shortened, and that a wider terminal shows it all."""
        what = self.shortened(lay)
        if lay.limit is None or not what:
            return None
        listed = ", ".join(what)
        for text in (f"{listed} shortened to fit {lay.limit} columns: widen the terminal to see everything",
                     f"{listed} shortened: widen the terminal to see everything",
                     f"shortened to fit {lay.limit} columns: widen the terminal",
                     "shortened: widen the terminal"):
            if cell_len(text) <= lay.limit:
                break
        return Text(text, style="dim italic")

    def arrow(self, frame: Frame, lay: _Layout, style: str, shaft: str = "─") -> Text:
        """The diagram part of a row: lanes plus this frame's arrow."""
        width = self.diagram_width(lay.gap, lay.pad)
        lanes = {self.lane_x(i, lay) for i in range(len(self.columns))}
        cells = ["│" if x in lanes else " " for x in range(width)]
        drawn: set[int] = set()

        def put(x: int, char: str) -> None:
            cells[x] = char
            drawn.add(x)

        src = self._lane(known(frame.sender), lay)
        if frame.broadcast:  # to every node of the link: from the sender to both ends
            for x in range(width):
                put(x, "┼" if x in lanes else "─")
            put(0, "◀")
            put(width - 1, "▶")
            if src is not None:
                put(src, "●")
        else:
            dst = self._lane(frame.receiver, lay)
            if src is None and dst is None:
                pass  # neither end is on the diagram; the label says who
            else:
                if src is None:
                    src = _edge(dst, width, prefer_left=True)
                elif dst is None:  # a node without a lane, or an unknown receiver
                    dst = _edge(src, width, prefer_left=False)
                self._unicast(put, src, dst, known(frame.sender) in self.columns, frame.receiver in self.columns, shaft)
        text = Text()
        runs = groupby(range(width), key=lambda x: style if x in drawn else LANE_STYLE)
        for run_style, xs in runs:
            text.append("".join(cells[x] for x in xs), style=run_style)
        return text

    @staticmethod
    def _unicast(put: Callable[[int, str], None], src: int, dst: int, src_lane: bool, dst_lane: bool,
                 shaft: str = "─") -> None:
        if src == dst:
            put(src, "●")
            return
        step = 1 if dst > src else -1
        head = dst - step if dst_lane else dst
        for x in range(src, head, step):
            put(x, shaft)
        put(head, "▶" if step > 0 else "◀")
        put(src, "●" if src_lane else "○")

    def _lane(self, node: str | None, lay: _Layout) -> int | None:
        if node is None or node not in self.columns:
            return None
        return self.lane_x(self.columns.index(node), lay)


def known(node: str | None) -> str | None:
    """A node name, or None when the capture could not tell ("?")."""
    return None if node == UNKNOWN else node


def annotate(frame: Frame, label: str, columns: Sequence[str], *, broadcast: bool = True) -> str:
    """Name the nodes that have no lane before the label ("?" when unknown:
    `[from ?]`, `[to ?]`); mark broadcasts after it (unless `broadcast` is False)."""
    sender = known(frame.sender)
    src_out = sender is None or sender not in columns
    dst_out = not frame.broadcast and (frame.receiver is None or frame.receiver not in columns)
    src_name, dst_name = sender or UNKNOWN, frame.receiver or UNKNOWN
    if src_out and dst_out:
        label = f"[{src_name} → {dst_name}] {label}"
    elif src_out:
        label = f"[from {src_name}] {label}"
    elif dst_out:
        label = f"[to {dst_name}] {label}"
    return f"{label} (broadcast)" if frame.broadcast and broadcast else label


def label_forms(frame: Frame, variants: Sequence[str], columns: Sequence[str]) -> tuple[str, ...]:
    """The annotated forms of a frame's label, longest first; the last one of a
    broadcast leaves out "(broadcast)", which its arrow shows anyway."""
    forms = [annotate(frame, v, columns) for v in variants]
    if frame.broadcast:
        forms.append(annotate(frame, variants[-1], columns, broadcast=False))
    out: list[str] = []
    for form in forms:
        if not out or cell_len(form) < cell_len(out[-1]):
            out.append(form)
    return tuple(out)


def _edge(other: int, width: int, *, prefer_left: bool) -> int:
    """The diagram edge nearest to `other` (ties go left for senders, right for receivers)."""
    left, right = other, width - 1 - other
    return 0 if left < right or (left == right and prefer_left) else width - 1


def _time(frame: Frame, *, short: bool = False) -> str:
    return f"{frame.time * 1000:.3f}" if short else f"+{frame.time * 1000:.3f} ms"


def _fit(text: Text, width: int, *, pad: bool = True) -> Text:
    text = text.copy()
    text.truncate(max(width, 0), overflow="ellipsis", pad=pad)
    return text


def _cut(text: str, width: int) -> str:
    out = ""
    for char in text:
        if cell_len(out + char) > width:
            break
        out += char
    return out

