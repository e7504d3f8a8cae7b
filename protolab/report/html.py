"""One self-contained HTML page per run: the verdict, the ladder as inline SVG,
a details panel for the clicked frame, the expectations and the narration.

The page loads nothing. Its style and script are inline and pinned by hash in a
Content-Security-Policy that forbids every other source. Everything taken from
the trace is untrusted: text is HTML-escaped, the frames travel as JSON inside
<script type="application/json"> with <, > and & written as \\u003c, \\u003e and
\\u0026, and the script writes them with textContent only, never innerHTML.

An HTTP/1.1 message (protolab.wire.http) keeps its frames' rows: its first
row is labelled with the message (`HTTP 200 OK ← GET /big.html · 8475 B body ·
6 segments — ...`), the others with "┆ ..." and the TCP detail, and a bracket
left of the labels spans every row of its segments and their ACKs.

Frame numbers are Wireshark's (`Frame.index`); `report.html#frame-N` opens
the page with frame N selected. Generation uses only the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from protolab.expect.trace import Frame, Trace
from protolab.expect.verdict import ItemResult, PhaseResult, Status, Verdict

from .json_report import frame_to_dict, item_to_dict, jsonable
from .labels import Labeler, MessageFold, http_folds
from .ladder import annotate, known, nodes_of
from .verdict_view import unusable_note

MARKS = {Status.PASS: ("✔", "pass"), Status.FAIL: ("✘", "fail")}
OTHER_MARK = ("?", "other")
_PROTOCOLS = ("tcp", "arp", "icmp", "udp")  # the terminal ladder's colour order
SPAN_X = 10  # the HTTP bracket's distance left of the labels

# Geometry of the SVG ladder, in px. Text is monospace, so widths follow from lengths.
CHAR_W = 7.3  # advance of a 12 px monospace character
NAME_W = 8.2  # advance of a bold 13 px lane name (sans, generous)
ROW_H = 22
HEAD_H = 30
EDGE = 40  # from an edge marker to the nearest lane, when some frame needs one
EDGE_TIGHT = 16  # room for a broadcast's heads when none does
GAP_MIN, GAP_MAX = 88, 170
PAD = 14  # between text columns
LABEL_MAX = 64  # characters of a label before it is cut (the full text is its tooltip)
MARKS_MAX = 48
EDGE_NAME_MAX = 8
RING_R, DOT_R = 7, 2.5  # the "?" ring of an unknown node, the dot of a named one without a lane


@dataclass(frozen=True)
class _Row:
    frame: Frame
    label: str
    items: tuple[ItemResult, ...]
    http: bool = False  # the first frame of an HTTP message

    @property
    def protocol(self) -> str:
        return "http" if self.http else next((p for p in _PROTOCOLS if p in self.frame.layers), "other")

    @property
    def failed(self) -> bool:
        return any(i.status is Status.FAIL for i in self.items)


@dataclass(frozen=True)
class _Geometry:
    """Where everything goes: gutter, edges, lanes and the text columns right of them."""

    columns: tuple[str, ...]
    num_x: float  # right end of "#N"
    time_x: float  # right end of "+1.000"
    left: float  # x of the left edge markers
    lane0: float
    gap: float
    right: float  # x of the right edge markers
    label_x: float
    link_x: float
    marks_x: float
    width: float

    @classmethod
    def fit(cls, columns: tuple[str, ...], rows: Sequence[_Row], *, edges: bool) -> _Geometry:
        """Room for the widest text of each column; `edges`: some frame ends off the lanes."""
        frames = [r.frame for r in rows]
        num_x = 8 + CHAR_W * max([len("#1")] + [len(f"#{f.index}") for f in frames])
        time_x = num_x + 12 + CHAR_W * max([len("+0.000")] + [len(_time(f)) for f in frames])
        edge = EDGE if edges else EDGE_TIGHT
        left = time_x + (22 if edges else 8)
        half = (lambda name: len(_cut(name, 24)[0]) * NAME_W / 2)
        names = max((len(c) for c in columns), default=1)
        gap = min(GAP_MAX, max(GAP_MIN, names * NAME_W + 16))
        lane0 = max(left + edge, time_x + 10 + (half(columns[0]) if columns else 0))
        last = lane0 + gap * max(len(columns) - 1, 0)
        right = last + edge
        label_w = CHAR_W * min(LABEL_MAX, max([len("frame")] + [len(r.label) for r in rows]))
        link_w = CHAR_W * max([len("link")] + [len(f.link) for f in frames])
        marks_w = CHAR_W * min(MARKS_MAX, max([len("checks")] + [len(_marks_text(r.items)) for r in rows]))
        label_x = max(right + (24 if edges else PAD), last + (half(columns[-1]) if columns else 0) + PAD)
        link_x = label_x + label_w + PAD
        marks_x = link_x + link_w + PAD
        return cls(columns, num_x, time_x, left, lane0, gap, right, label_x, link_x, marks_x, marks_x + marks_w + 8)

    def lane(self, i: int) -> float:
        return self.lane0 + i * self.gap

    def x(self, node: str | None) -> float | None:
        """The lane of `node`, None when it has none (unknown or not among the columns)."""
        return self.lane(self.columns.index(node)) if node in self.columns else None

    def edge(self, other: float | None, *, prefer_left: bool) -> float:
        """The edge nearest to `other` (ties go left for senders, right for receivers)."""
        if other is None:
            return self.left if prefer_left else self.right
        to_left, to_right = other - self.left, self.right - other
        return self.left if to_left < to_right or (to_left == to_right and prefer_left) else self.right


def write_html(path: Path, *, title: str, trace: Trace, verdict: Verdict, columns: Sequence[str],
               narration: Sequence[str] = (), pcap: str | None = None, lab: str = "", run_id: str = "",
               notes: Sequence[str] = ()) -> Path:
    """Write the report page to `path` (parents created) and return the path.

    `columns` are the ladder's lanes, left to right (none: the trace's nodes in
    order of appearance); `pcap` is the capture's file name, linked relatively
    because it sits beside the page; `notes` are extra lines about the run,
    such as the parameters used."""
    page = render_html(title=title, trace=trace, verdict=verdict, columns=columns, narration=narration,
                       pcap=pcap, lab=lab, run_id=run_id, notes=notes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8", errors="replace")
    return path


def render_html(*, title: str, trace: Trace, verdict: Verdict, columns: Sequence[str],
                narration: Sequence[str] = (), pcap: str | None = None, lab: str = "", run_id: str = "",
                notes: Sequence[str] = ()) -> str:
    """The page `write_html` writes, as a string."""
    lanes = tuple(dict.fromkeys(columns)) or nodes_of(trace)
    labeler = Labeler(trace.frames)
    marks = verdict.marks()
    folds = http_folds(trace)
    rows = [_row(f, annotate(f, labeler.label(f), lanes), tuple(marks.get(f.index, ())), folds.get(f.index))
            for f in trace.frames]
    link_lanes = _link_lanes(trace.frames, lanes)
    edges = any(_needs_edge(f, lanes, link_lanes) for f in trace.frames)
    geo = _Geometry.fit(lanes, rows, edges=edges)
    body = "\n".join([
        _header(title, verdict, lab, run_id, pcap, notes),
        '<main class="grid">',
        _ladder_section(geo, rows, trace, link_lanes, folds, verdict.phases()),
        _details_section(),
        "</main>",
        '<div class="grid lower">',
        _items_section(verdict),
        _narration_section(narration),
        "</div>",
        _footer(pcap),
        f'<script type="application/json" id="report-data">{_script_json(_data(trace, rows, verdict))}</script>',
        f"<script>{_SCRIPT}</script>",
    ])
    page_title = " · ".join(p for p in (lab, verdict.status.value, title) if p)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(content_security_policy())}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(page_title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f'<body class="status-{verdict.status.value.lower()}">\n{body}\n</body>\n</html>\n'
    )


def _row(frame: Frame, label: str, items: tuple[ItemResult, ...], fold: MessageFold | None) -> _Row:
    """A frame's row; one of an HTTP message's says so in its label."""
    if fold is None:
        return _Row(frame, label, items)
    if fold.first == frame.index:
        return _Row(frame, f"{fold.forms[0]} — {label}", items, http=True)
    return _Row(frame, f"┆ {fold.forms[-1]} — {label}", items)


def _spans(geo: _Geometry, rows: Sequence[_Row], folds: dict[int, MessageFold]) -> str:
    """For each HTTP message, a bracket left of the labels from its first row to its last."""
    position = {row.frame.index: i for i, row in enumerate(rows)}
    out, seen = [], set()
    for fold in folds.values():
        if id(fold) in seen or fold.frames[0] not in position or fold.frames[-1] not in position:
            continue
        seen.add(id(fold))
        top = position[fold.frames[0]] * ROW_H + 4
        bottom = (position[fold.frames[-1]] + 1) * ROW_H - 4
        x = geo.label_x - SPAN_X
        out.append(f'<path class="span" d="M{_n(x + 4)} {_n(top)}H{_n(x)}V{_n(bottom)}H{_n(x + 4)}">'
                   f"<title>{escape(fold.forms[0])} ({escape(fold.numbers)})</title></path>")
    return "".join(out)


def content_security_policy() -> str:
    """Nothing may be loaded; only this page's own style and script may run (pinned by hash)."""
    return ("default-src 'none'; "
            f"script-src '{_sha256(_SCRIPT)}'; style-src '{_sha256(_STYLE)}'; "
            "img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'")


def _header(title: str, verdict: Verdict, lab: str, run_id: str, pcap: str | None, notes: Sequence[str]) -> str:
    passed = sum(1 for i in verdict.items if i.status is Status.PASS)
    status = verdict.status.value
    count = (f"0/{len(verdict.items)} items: the solution could not be used" if unusable_note(verdict) is not None
             else f"{passed}/{len(verdict.items)} items passed")
    facts = [f'<span class="count">{escape(count)}</span>']
    if lab:
        facts.append(f'<span>lab <b>{escape(lab)}</b></span>')
    if run_id:
        facts.append(f'<span>run <code>{escape(run_id)}</code></span>')
    if pcap:
        facts.append(f'<span><a class="pcap" href="{escape(quote(pcap), quote=True)}">{escape(pcap)}</a>'
                     " — open in Wireshark</span>")
    lines = ['<header class="top">',
             f'<div class="title-row"><span class="badge s-{status.lower()}" id="verdict-status">{escape(status)}</span>'
             f'<h1>{escape(title or lab or "protolab run")}</h1></div>',
             f'<div class="facts">{" · ".join(facts)}</div>']
    if verdict.expectation:
        lines.append(f'<div class="expectation">expectation <b>{escape(verdict.expectation)}</b></div>')
    if notes:
        lines.append('<ul class="run-notes">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    lines.append(_misses(verdict))
    lines.append("</header>")
    return "\n".join(lines)


def _misses(verdict: Verdict) -> str:
    """The items that did not pass, first message each, at the top where nobody can miss them."""
    if not verdict.failures() and not verdict.notes:
        return ""
    out = ['<div class="misses">']
    for k, item in enumerate(verdict.items):
        if item.status is Status.PASS:
            continue
        symbol, cls = _mark(item)
        first = f' — {escape(item.messages[0])}' if item.messages else ""
        out.append(f'<a class="miss m-{cls}" href="#item-{k + 1}" data-item="{k + 1}"><span class="mark">{symbol}</span> '
                   f'<b>{escape(item.name)}</b>{first}</a>')
    out.extend(f'<div class="miss note">! {escape(n)}</div>' for n in verdict.notes)
    out.append("</div>")
    return "\n".join(out)


def _legend() -> str:
    entries = [
        '<span><i class="g-dot">●</i>→<i class="g-head">▶</i> sender to receiver</span>',
        '<span><i class="g-bcast">┄▶</i> broadcast, to every node of the link</span>',
        '<span><i class="g-edge">?</i> unknown node; names at the edges have no lane</span>',
        '<span class="m-pass">✔ passed</span>', '<span class="m-fail">✘ failed</span>',
        '<span class="m-other">? not checked or inconclusive</span>',
        '<span class="p-http key">HTTP message ┆ its segments</span>', '<span class="p-tcp key">TCP</span>', '<span class="p-udp key">UDP / DNS</span>',
        '<span class="p-arp key">ARP</span>', '<span class="p-icmp key">ICMP</span>',
    ]
    return f'<div class="legend">{"".join(entries)}</div>'


def _ladder_section(geo: _Geometry, rows: Sequence[_Row], trace: Trace,
                    link_lanes: dict[str, tuple[str, ...]], folds: dict[int, MessageFold] | None = None,
                    phases: Sequence[PhaseResult] = ()) -> str:
    links = sorted({f.link for f in trace.frames}) or list(trace.links)
    summary = f"{len(trace)} frame{'s' if len(trace) != 1 else ''} · links {', '.join(links) or '-'}"
    parts = ['<section class="card ladder" aria-label="ladder diagram">',
             f'<h2>Ladder <small>{escape(summary)}</small></h2>', _legend()]
    if trace.drops:
        parts.append(f'<p class="warn">{trace.drops} frames dropped by the kernel: the trace is incomplete.</p>')
    parts.append(_phase_list(phases))
    parts.append('<div class="scroll">')
    parts.append(_svg_head(geo))
    parts.append(_svg_body(geo, rows, link_lanes, folds or {}, phases))
    if not rows:
        parts.append('<p class="empty">No frames were captured.</p>')
    parts.append("</div></section>")
    return "\n".join(parts)


def _details_section() -> str:
    return ('<aside class="card details-card"><h2>Frame details</h2>'
            '<div id="details" data-frame=""><p class="hint">Click a frame in the ladder, or a #N link, '
            "to see its layers and fields. Frame numbers are Wireshark's.</p></div></aside>")


def _items_section(verdict: Verdict) -> str:
    small = f" <small>{escape(verdict.expectation)}</small>" if verdict.expectation else ""
    heading = f"<h2>Expectations{small}</h2>"
    out = ['<section class="card expectations">', heading]
    if not verdict.items:
        out.append('<p class="empty">No items.</p>')
    out.append('<ol class="items">')
    phases, current = {p.name: p for p in verdict.phases()}, ""
    for k, item in enumerate(verdict.items):
        if item.phase != current:
            current = item.phase
            if current:
                phase = phases[current]
                symbol, cls = _PHASE_MARKS.get(phase.status, ("?", "other"))
                out.append(f'<li class="phase-head ph-{cls}"><span class="m-{cls}">{symbol}</span> '
                           f'{escape(phase.name)} <small>{phase.passed}/{len(phase.items)}</small></li>')
        out.append(_item(k + 1, item))
    out.append("</ol>")
    if verdict.notes:
        out.append('<h3>About the run</h3><ul class="notes">')
        out.extend(f"<li>{escape(n)}</li>" for n in verdict.notes)
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _item(number: int, item: ItemResult) -> str:
    symbol, cls = _mark(item)
    messages = "".join(f"<li>{escape(m)}</li>" for m in item.messages)
    frames = " ".join(f'<a href="#frame-{n}" data-goto="{n}">#{n}</a>' for n in item.frames)
    return (f'<li class="item i-{cls}" id="item-{number}" data-status="{escape(item.status.value)}">'
            f'<span class="mark">{symbol}</span><div class="item-body"><div class="item-head">'
            f'<span class="kind">{escape(item.kind)}</span> <span class="name">{escape(item.name)}</span> '
            f'<span class="status">{escape(item.status.value)}</span></div>'
            + (f'<ul class="messages">{messages}</ul>' if messages else "")
            + (f'<div class="refs">frames {frames}</div>' if frames else "")
            + "</div></li>")


def _narration_section(narration: Sequence[str]) -> str:
    lines = "".join(f"<li>{escape(line)}</li>" for line in narration)
    body = f"<ol>{lines}</ol>" if narration else '<p class="empty">Nothing was narrated.</p>'
    return f'<section class="card narration"><h2>What the lab did</h2>{body}</section>'


def _footer(pcap: str | None) -> str:
    where = f" of {escape(pcap)}" if pcap else ""
    return (f'<footer>Frame numbers are Wireshark\'s frame numbers{where}. '
            "In Wireshark, <code>frame.interface_id == 0</code> shows one link only. "
            "Made by protolab; this page loads nothing from anywhere.</footer>")


# the SVG ladder ---------------------------------------------------------------------

def _svg_head(geo: _Geometry) -> str:
    """Lane names and column titles, in a strip that stays put while the frames scroll."""
    y = HEAD_H - 10
    texts = [f'<text class="col" x="{_n(geo.num_x)}" y="{y}" text-anchor="end">#</text>',
             f'<text class="col" x="{_n(geo.time_x)}" y="{y}" text-anchor="end">ms</text>']
    room = max(3, int((geo.gap - 10) / NAME_W)) if len(geo.columns) > 1 else 24
    for i, name in enumerate(geo.columns):
        short, cut = _cut(name, room)
        tip = f"<title>{escape(name)}</title>" if cut else ""
        texts.append(f'<text class="lane-name" x="{_n(geo.lane(i))}" y="{y}" text-anchor="middle">'
                     f"{tip}{escape(short)}</text>")
    texts += [f'<text class="col" x="{_n(geo.label_x)}" y="{y}">frame</text>',
              f'<text class="col" x="{_n(geo.link_x)}" y="{y}">link</text>',
              f'<text class="col" x="{_n(geo.marks_x)}" y="{y}">checks</text>']
    return (f'<div class="ladder-head"><svg class="head" width="{_n(geo.width)}" height="{HEAD_H}" '
            f'viewBox="0 0 {_n(geo.width)} {HEAD_H}" role="img" aria-label="lanes">{"".join(texts)}</svg></div>')


def _phase_list(phases: Sequence[PhaseResult]) -> str:
    """The phases above the ladder, each with its result and a link to its first frame ("" without phases)."""
    if not phases:
        return ""
    out = []
    for phase in phases:
        symbol, cls = _PHASE_MARKS.get(phase.status, ("?", "other"))
        first = (f' <a href="#frame-{phase.frames[0]}" data-goto="{phase.frames[0]}">#{phase.frames[0]}</a>'
                 if phase.frames else "")
        out.append(f'<li class="ph-{cls}"><span class="m-{cls}">{symbol}</span> {escape(phase.name)} '
                   f'<small>{phase.passed}/{len(phase.items)}</small>{first}</li>')
    return f'<ol class="phases">{"".join(out)}</ol>'


def _phase_bands(geo: _Geometry, rows: Sequence[_Row], phases: Sequence[PhaseResult]) -> str:
    """Behind the frames: a band per phase, from its first frame's row to the row before the next phase's."""
    position = {row.frame.index: i for i, row in enumerate(rows)}
    starts = [(position[p.frames[0]], p) for p in phases if p.frames and p.frames[0] in position]
    out = []
    for k, (top, phase) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else position.get(phase.frames[-1], top) + 1
        _, cls = _PHASE_MARKS.get(phase.status, ("?", "other"))
        out.append(f'<g class="band ph-{cls}"><title>{escape(phase.name)}: {escape(phase.status.value)}</title>'
                   f'<rect class="band-bg{" alt" if k % 2 else ""}" x="0" y="{top * ROW_H}" width="{_n(geo.width)}" '
                   f'height="{max(end - top, 1) * ROW_H}"/><rect class="band-edge" x="0" y="{top * ROW_H}" width="4" '
                   f'height="{max(end - top, 1) * ROW_H}"/></g>')
    return f'<g class="phases">{"".join(out)}</g>' if out else ""


def _svg_body(geo: _Geometry, rows: Sequence[_Row], link_lanes: dict[str, tuple[str, ...]],
              folds: dict[int, MessageFold] | None = None, phases: Sequence[PhaseResult] = ()) -> str:
    height = max(len(rows), 1) * ROW_H
    lanes = "".join(f'<line class="lane" x1="{_n(geo.lane(i))}" y1="0" x2="{_n(geo.lane(i))}" y2="{height}"/>'
                    for i in range(len(geo.columns)))
    frames = "\n".join(_frame_svg(geo, row, i * ROW_H, link_lanes) for i, row in enumerate(rows))
    return (f'<svg class="body" id="ladder" width="{_n(geo.width)}" height="{height}" '
            f'viewBox="0 0 {_n(geo.width)} {height}" data-row-height="{ROW_H}" role="list" aria-label="frames">'
            f'{_phase_bands(geo, rows, phases)}'
            f'<g class="lanes">{lanes}</g>\n{frames}<g class="spans">{_spans(geo, rows, folds or {})}</g></svg>')


def _frame_svg(geo: _Geometry, row: _Row, top: float, link_lanes: dict[str, tuple[str, ...]]) -> str:
    frame, mid = row.frame, top + ROW_H / 2
    base = mid + 4
    label, cut = _cut(row.label, LABEL_MAX)
    marks = _marks_svg(row.items, geo.marks_x, base)
    tip = f"<title>{escape(row.label)}</title>" if cut else ""
    classes = f"frame p-{row.protocol}" + (" failed" if row.failed else "") + (" bcast" if frame.broadcast else "")
    return (f'<g class="{classes}" data-number="{frame.index}" tabindex="0" role="listitem">'
            f'<rect class="hit" x="0" y="{_n(top)}" width="{_n(geo.width)}" height="{ROW_H}"/>'
            f'<text class="num" x="{_n(geo.num_x)}" y="{_n(base)}" text-anchor="end">#{frame.index}</text>'
            f'<text class="time" x="{_n(geo.time_x)}" y="{_n(base)}" text-anchor="end">{escape(_time(frame))}</text>'
            f"{_arrow(geo, frame, mid, link_lanes)}"
            f'<text class="label" x="{_n(geo.label_x)}" y="{_n(base)}">{tip}{escape(label)}</text>'
            f'<text class="link" x="{_n(geo.link_x)}" y="{_n(base)}">{escape(frame.link)}</text>'
            f"{marks}</g>")


def _arrow(geo: _Geometry, frame: Frame, y: float, link_lanes: dict[str, tuple[str, ...]]) -> str:
    """The shaft, head(s) and ends of one frame's arrow."""
    sender = known(frame.sender)
    src = geo.x(sender)
    if frame.broadcast:
        targets = [geo.x(n) for n in link_lanes.get(frame.link, ()) if n != sender]
        if src is None:
            src = geo.left
        if not targets:  # nobody else seen on the link: to both edges
            targets = [geo.left, geo.right]
        targets = [t for t in targets if t is not None and t != src]
        return _shaft(src, targets, y, dashed=True) + _sender_end(geo, src, sender, y)
    dst = geo.x(frame.receiver)
    if src is None and dst is None:
        src, dst = geo.left, geo.right
    elif src is None:
        src = geo.edge(dst, prefer_left=True)
    elif dst is None:
        dst = geo.edge(src, prefer_left=False)
    if src == dst:
        return _sender_end(geo, src, sender, y)
    if geo.x(frame.receiver) is not None:
        return _shaft(src, [dst], y, dashed=False) + _sender_end(geo, src, sender, y)
    inset = (RING_R if known(frame.receiver) is None else DOT_R) + 1.5  # stop the head at the marker
    tip = dst - inset if dst > src else dst + inset
    return _shaft(src, [tip], y, dashed=False) + _sender_end(geo, src, sender, y) + _edge_marker(dst, frame.receiver, y)


def _shaft(src: float, targets: Sequence[float], y: float, *, dashed: bool) -> str:
    if not targets:
        return ""
    lo, hi = min([src, *targets]), max([src, *targets])
    heads = "".join(_head(t, y, 1 if t > src else -1) for t in targets)
    # the shaft stops short of the far heads so their points stay sharp
    start = lo + 6 if lo in targets else lo
    end = hi - 6 if hi in targets else hi
    cls = "shaft dash" if dashed else "shaft"
    return f'<path class="{cls}" d="M{_n(start)} {_n(y)}H{_n(end)}"/><path class="head" d="{heads}"/>'


def _head(tip: float, y: float, direction: int) -> str:
    return f"M{_n(tip)} {_n(y)}l{-9 * direction} -4.5v9z"


def _sender_end(geo: _Geometry, x: float, sender: str | None, y: float) -> str:
    if sender in geo.columns:
        return f'<circle class="dot" cx="{_n(x)}" cy="{_n(y)}" r="4"/>'
    return _edge_marker(x, sender, y)


def _edge_marker(x: float, node: str | None, y: float) -> str:
    """An off-lane end: "?" in a ring for an unknown node, else the node's (short) name."""
    node = known(node)
    if node is None:
        return (f'<circle class="edge" cx="{_n(x)}" cy="{_n(y)}" r="{RING_R}"/>'
                f'<text class="edge-q" x="{_n(x)}" y="{_n(y + 4)}" text-anchor="middle">?</text>')
    short, cut = _cut(node, EDGE_NAME_MAX)
    tip = f"<title>{escape(node)}</title>" if cut else ""
    return (f'<text class="edge-name" x="{_n(x)}" y="{_n(y - 5)}" text-anchor="middle">{tip}{escape(short)}</text>'
            f'<circle class="edge" cx="{_n(x)}" cy="{_n(y)}" r="{DOT_R}"/>')


def _marks_svg(items: Sequence[ItemResult], x: float, y: float) -> str:
    if not items:
        return ""
    spans, used = [], 0
    for k, item in enumerate(items):
        symbol, cls = _mark(item)
        text = f"{symbol} {item.name}"
        if used + len(text) > MARKS_MAX:
            spans.append('<tspan class="m-more"> …</tspan>')
            break
        gap = ' dx="10"' if k else ""
        spans.append(f'<tspan class="m-{cls}"{gap}>{escape(text)}</tspan>')
        used += len(text) + 2
    tip = f"<title>{escape(_marks_text(items))}</title>" if used > MARKS_MAX or len(spans) < len(items) else ""
    return f'<text class="marks" x="{_n(x)}" y="{_n(y)}">{tip}{"".join(spans)}</text>'


def _needs_edge(frame: Frame, columns: Sequence[str], link_lanes: dict[str, tuple[str, ...]]) -> bool:
    """Does this frame's arrow start or end at an edge marker rather than a lane?"""
    sender = known(frame.sender)
    if sender not in columns:
        return True
    if frame.broadcast:
        return not any(n != sender for n in link_lanes.get(frame.link, ()))
    return frame.receiver not in columns


def _link_lanes(frames: Sequence[Frame], columns: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per link, the nodes with a lane seen on it (sending, or receiving unicast)."""
    seen: dict[str, dict[str, None]] = {}
    for frame in frames:
        nodes = seen.setdefault(frame.link, {})
        for node in (known(frame.sender), None if frame.broadcast else frame.receiver):
            if node in columns:
                nodes.setdefault(node, None)
    return {link: tuple(nodes) for link, nodes in seen.items()}


# data for the script ----------------------------------------------------------------

def _data(trace: Trace, rows: Sequence[_Row], verdict: Verdict) -> dict:
    frames = []
    for row in rows:
        entry = frame_to_dict(row.frame)
        entry["label"] = row.label
        entry["broadcast"] = row.frame.broadcast
        frames.append(entry)
    return jsonable({"frames": frames, "items": [item_to_dict(i) for i in verdict.items]})


def _script_json(data: object) -> str:
    """JSON that cannot end its <script> element or open another one."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


# small helpers ----------------------------------------------------------------------

_PHASE_MARKS = {Status.PASS: ("✔", "pass"), Status.FAIL: ("✘", "fail")}


def _mark(item: ItemResult) -> tuple[str, str]:
    return MARKS.get(item.status, OTHER_MARK)


def _marks_text(items: Sequence[ItemResult]) -> str:
    return "  ".join(f"{_mark(i)[0]} {i.name}" for i in items)



def _time(frame: Frame) -> str:
    return f"+{frame.time * 1000:.3f}"


def _cut(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit - 1] + "…", True)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


_STYLE = """
:root{--pass:#15803d;--fail:#b91c1c;--other:#b7791f;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;
--bg:#f3f4f6;--card:#fff;--sel:#dbeafe;--failbg:#fef2f2;
--mono:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;--sans:system-ui,"DejaVu Sans",Arial,sans-serif}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 var(--sans);color:var(--ink);background:var(--bg)}
code,pre{font-family:var(--mono);font-size:12px}
a{color:#1d4ed8}
header.top{background:var(--card);border-bottom:1px solid var(--line);padding:14px 24px 12px}
.title-row{display:flex;align-items:center;gap:14px}
h1{font-size:20px;margin:0;font-weight:600}
h2{font-size:15px;margin:0 0 8px;font-weight:600}
h2 small{font-weight:400;color:var(--muted);margin-left:8px}
h3{font-size:13px;margin:14px 0 6px}
.badge{font:700 14px/1 var(--sans);letter-spacing:.06em;padding:7px 12px;border-radius:5px;color:#fff}
.s-pass{background:var(--pass)}.s-fail{background:var(--fail)}
.s-inconclusive,.s-skipped{background:#eab308;color:#1c1917}
.facts{margin-top:6px;color:var(--muted)}.facts b,.facts code{color:var(--ink)}
.count{font-weight:600;color:var(--ink)}
.expectation{color:var(--muted);font-size:13px}
.run-notes{margin:6px 0 0;padding-left:18px;color:var(--muted);font-size:13px}
.misses{margin-top:10px;display:flex;flex-direction:column;gap:4px}
.miss{display:block;padding:6px 10px;border-radius:5px;text-decoration:none;color:var(--ink);
border-left:4px solid var(--other);background:#fefce8}
.miss.m-fail{border-left-color:var(--fail);background:var(--failbg)}
.miss.note{border-left-color:var(--other)}
.miss .mark{font-weight:700}
.grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(280px,330px);gap:16px;padding:16px 24px 0;align-items:start}
.grid.lower{padding-bottom:16px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:0}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:var(--muted);margin-bottom:8px}
.legend i{font-style:normal}.g-dot,.g-head{color:#374151}.g-bcast{color:#374151;letter-spacing:-1px}
.g-edge{display:inline-block;width:15px;height:15px;line-height:13px;text-align:center;border:1px solid #9ca3af;border-radius:50%;font-size:10px}
.key{font-weight:600}
.scroll{overflow:auto;max-height:72vh;border-top:1px solid var(--line)}
.ladder-head{position:sticky;top:0;z-index:1;background:var(--card);border-bottom:1px solid var(--line)}
svg{display:block;font-family:var(--mono);font-size:12px}
svg .col{font-family:var(--sans);font-weight:600;fill:var(--muted);font-size:12px}
svg .lane-name{font-family:var(--sans);font-weight:700;fill:var(--ink);font-size:13px}
svg .lane{stroke:#cbd5e1;stroke-width:1.5}
.frame{cursor:pointer;outline:none}
.frame .hit{fill:transparent}
.frame:nth-of-type(odd) .hit{fill:rgba(15,23,42,.025)}
.frame.failed .hit{fill:rgba(220,38,38,.08)}
.frame:hover .hit{fill:rgba(79,70,229,.08)}
.frame.selected .hit,.frame:focus-visible .hit{fill:rgba(37,99,235,.17)}
.frame .num,.frame .time{fill:var(--muted)}
.frame.selected .num{fill:var(--ink);font-weight:700}
.frame .shaft{stroke-width:1.6;fill:none}
.frame .dash{stroke-dasharray:5 3}
.frame .dot{stroke:none}
.frame .edge{fill:#fff;stroke:#6b7280;stroke-width:1.2}
.frame .edge-q{fill:#374151;font-size:11px;font-weight:700;font-family:var(--sans)}
.frame .edge-name{fill:#4b5563;font-size:9.5px;font-family:var(--sans)}
.frame .link{fill:var(--muted)}
.frame.failed .label{font-weight:700}
ol.phases{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;padding:0;margin:4px 0 8px;font-size:13px}
svg .band-bg{fill:#f8fafc}svg .band-bg.alt{fill:#f1f5f9}svg .ph-pass .band-edge{fill:var(--pass)}
svg .ph-fail .band-edge{fill:var(--fail)}svg .ph-other .band-edge{fill:var(--other)}
.p-http{--proto:#0369a1}.p-http .label{font-weight:600}svg .span{fill:none;stroke:#0369a1;stroke-width:1.5}
.p-tcp{--proto:#0e7490}.p-udp{--proto:#1d4ed8}.p-arp{--proto:#a16207}.p-icmp{--proto:#a21caf}.p-other{--proto:#374151}
.key.p-http,.key.p-tcp,.key.p-udp,.key.p-arp,.key.p-icmp{color:var(--proto)}
.frame .shaft{stroke:var(--proto)}.frame .head,.frame .dot{fill:var(--proto)}.frame .label{fill:var(--proto)}
.m-pass{color:var(--pass);fill:var(--pass)}.m-fail{color:var(--fail);fill:var(--fail);font-weight:700}
.m-other,.m-more{color:var(--other);fill:var(--other)}
.empty,.hint{color:var(--muted)}
.warn{color:#92400e;background:#fffbeb;border:1px solid #fde68a;border-radius:5px;padding:6px 10px}
.details-card{position:sticky;top:12px;max-height:calc(100vh - 24px);overflow:auto}
#details .frame-title{font:600 15px var(--sans);margin:0}
#details .frame-label{font-family:var(--mono);font-size:12px;margin:4px 0 8px;word-break:break-word}
table.kv,table.fields{border-collapse:collapse;width:100%;font-size:12px;margin-bottom:8px;table-layout:fixed}
table.kv th,table.fields th{text-align:left;font-weight:600;color:var(--muted);padding:2px 8px 2px 0;vertical-align:top;width:112px;overflow-wrap:anywhere}
table.fields td.note{font-family:var(--sans);color:var(--muted)}
table.fields tr.wide td{border-top:0;padding:0 0 4px}
table.kv td,table.fields td{font-family:var(--mono);padding:2px 0;word-break:break-all;vertical-align:top}
table.fields caption{text-align:left;font:700 12px var(--sans);text-transform:uppercase;letter-spacing:.05em;
padding:6px 0 3px;border-bottom:1px solid var(--line);color:var(--ink)}
table.fields tr+tr td,table.fields tr+tr th{border-top:1px solid #f3f4f6}
pre.hex{margin:0;white-space:pre;overflow-x:auto;font-size:11px;background:#f9fafb;padding:4px;border-radius:4px}
.refs-list{list-style:none;padding:0;margin:0 0 6px}.refs-list li{margin:2px 0}
.refs-list button{font:inherit;background:none;border:0;padding:0;cursor:pointer;text-align:left}
ol.items{list-style:none;padding:0;margin:0}
ol.items li.phase-head{font-weight:600;margin:10px 0 2px}
.item{display:flex;gap:10px;padding:7px 10px;border-left:4px solid transparent;border-radius:4px}
.item+.item{margin-top:3px}
.item .mark{font-weight:700;width:14px;flex:none}
.item.i-pass .mark{color:var(--pass)}
.item.i-fail{background:var(--failbg);border-left-color:var(--fail)}
.item.i-fail .mark,.item.i-fail .name{color:var(--fail);font-weight:700}
.item.i-other{background:#fefce8;border-left-color:#eab308}
.item.i-other .mark{color:var(--other)}
.item.flash{outline:2px solid #60a5fa}
.item .kind{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin-right:4px}
.item .status{font-size:11px;color:var(--muted);margin-left:6px}
.item .messages{margin:3px 0 0;padding-left:18px}
.item .refs{font-size:12px;color:var(--muted);margin-top:2px}
.item .refs a{margin-right:6px;font-family:var(--mono)}
.notes li{color:#92400e}
.narration ol{margin:0;padding-left:22px}
footer{color:var(--muted);font-size:12px;padding:4px 24px 20px}
@media (max-width:1000px){.grid{grid-template-columns:minmax(0,1fr)}.details-card{position:static;max-height:none}}
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var frames = data.frames, items = data.items;
  var panel = document.getElementById("details");
  var box = document.querySelector(".ladder .scroll"), head = document.querySelector(".ladder-head");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#ladder .frame"));
  var ROW_H = Number(document.getElementById("ladder").dataset.rowHeight);
  var MARK = {PASS: ["\u2714", "m-pass"], FAIL: ["\u2718", "m-fail"]};
  var byFrame = {};
  items.forEach(function (item, k) {
    item.frames.forEach(function (n) { (byFrame[n] = byFrame[n] || []).push(k); });
  });
  var selected = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function isBytes(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v) &&
      typeof v.hex === "string" && typeof v.len === "number";
  }
  function hexdump(v) {
    var lines = [];
    for (var i = 0; i < v.hex.length; i += 16) {
      var chunk = v.hex.slice(i, i + 16), hex = [], text = "";
      for (var j = 0; j < chunk.length; j += 2) {
        var b = parseInt(chunk.slice(j, j + 2), 16);
        hex.push(chunk.slice(j, j + 2));
        text += b >= 32 && b < 127 ? String.fromCharCode(b) : ".";
      }
      var off = ("000" + (i / 2).toString(16)).slice(-4);
      lines.push(off + "  " + (hex.join(" ") + new Array(25).join(" ")).slice(0, 24) + " " + text);
    }
    return lines.join("\n");
  }
  function value(layer, key, v) {
    if (v === null || v === undefined) return el("span", "hint", "\u2014");
    if (layer === "eth" && key === "type" && typeof v === "number") return el("span", null, "0x" + ("000" + v.toString(16)).slice(-4));
    if (Array.isArray(v)) {
      if (!v.length) return el("span", "hint", "(none)");
      var lines = v.map(function (x) { return Array.isArray(x) ? x.join(" ") : (typeof x === "object" ? JSON.stringify(x) : String(x)); });
      return el("pre", "hex", lines.join("\n"));
    }
    if (typeof v === "object") return el("span", null, JSON.stringify(v));
    return el("span", null, String(v));
  }
  function wideRow(table, name, note, node) {
    var tr = el("tr"), th = el("th", null, name), td = el("td", "note", note);
    tr.appendChild(th);
    tr.appendChild(td);
    table.appendChild(tr);
    if (!node) return;
    var full = el("tr", "wide"), cell = el("td");
    cell.colSpan = 2;
    cell.appendChild(node);
    full.appendChild(cell);
    table.appendChild(full);
  }
  function row(table, name, node) {
    var tr = el("tr");
    tr.appendChild(el("th", null, name));
    var td = el("td");
    td.appendChild(node);
    tr.appendChild(td);
    table.appendChild(tr);
  }
  function layerTable(name, fields) {
    var table = el("table", "fields");
    table.dataset.layer = name;
    table.appendChild(el("caption", null, name));
    var body = el("tbody");
    Object.keys(fields).forEach(function (key) {
      var v = fields[key];
      if (isBytes(v)) {
        var note = v.len + " byte" + (v.len === 1 ? "" : "s") + (v.truncated ? ", the first " + v.hex.length / 2 + " shown" : "");
        wideRow(body, key, note, v.len ? el("pre", "hex", hexdump(v)) : null);
      } else {
        row(body, key, value(name, key, v));
      }
    });
    table.appendChild(body);
    return table;
  }
  function checks(n) {
    var list = el("ul", "refs-list");
    (byFrame[n] || []).forEach(function (k) {
      var item = items[k], mark = MARK[item.status] || ["?", "m-other"];
      var li = el("li"), b = el("button", mark[1], mark[0] + " " + item.kind + " " + item.name + " (" + item.status + ")");
      b.type = "button";
      b.dataset.item = String(k + 1);
      li.appendChild(b);
      list.appendChild(li);
    });
    return list;
  }
  function render(f) {
    panel.textContent = "";
    panel.appendChild(el("p", "frame-title", "Frame #" + f.index + "  +" + (f.time * 1000).toFixed(3) + " ms"));
    panel.appendChild(el("p", "frame-label", f.label));
    var kv = el("table", "kv");
    row(kv, "link", el("span", null, f.link));
    row(kv, "sender", f.sender && f.sender !== "?" ? el("span", null, f.sender) : el("span", "hint", "unknown"));
    row(kv, "receiver", f.broadcast ? el("span", null, "every node of " + f.link + " (broadcast)")
      : f.receiver ? el("span", null, f.receiver) : el("span", "hint", "unknown"));
    if (f.summary) row(kv, "summary", el("span", null, f.summary));
    panel.appendChild(kv);
    var refs = byFrame[f.index] || [];
    panel.appendChild(el("h3", null, refs.length ? "Checks about this frame" : "No check refers to this frame"));
    if (refs.length) panel.appendChild(checks(f.index));
    panel.appendChild(el("h3", null, "Layers"));
    Object.keys(f.layers).forEach(function (name) { panel.appendChild(layerTable(name, f.layers[name])); });
  }
  function selectFrame(n, scroll) {
    var f = frames[n - 1];
    if (selected) selected.classList.remove("selected");
    selected = null;
    if (!f || f.index !== n) {
      panel.textContent = "";
      panel.appendChild(el("p", "hint", frames.length ? "There is no frame #" + n + " (frames are #1 to #" + frames.length + ")."
        : "There is no frame #" + n + ": no frames were captured."));
      panel.dataset.frame = "";
      return false;
    }
    selected = rows[n - 1] || null;
    if (selected) {
      selected.classList.add("selected");
      if (scroll) reveal(n);
    }
    render(f);
    panel.dataset.frame = String(n);
    return true;
  }
  function reveal(n) {
    // scroll the ladder box only, never the page: the header must stay in view
    var top = (n - 1) * ROW_H, view = box.clientHeight - head.offsetHeight;
    if (top < box.scrollTop || top + ROW_H > box.scrollTop + view) box.scrollTop = Math.max(0, top - view / 2);
  }
  function setHash(n) {
    try { history.replaceState(null, "", "#frame-" + n); } catch (e) { /* some file: URLs refuse */ }
  }
  function fromHash() {
    var m = /^#frame-(\d+)$/.exec(location.hash);
    if (m) selectFrame(Number(m[1]), true);
  }
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest ? ev.target.closest("[data-number],[data-goto],[data-item]") : null;
    if (!t) return;
    ev.preventDefault();
    if (t.dataset.item) {
      var li = document.getElementById("item-" + t.dataset.item);
      if (li) { li.scrollIntoView({block: "center"}); li.classList.add("flash"); setTimeout(function () { li.classList.remove("flash"); }, 1200); }
      return;
    }
    var n = Number(t.dataset.number || t.dataset.goto);
    setHash(n);
    selectFrame(n, !t.dataset.number);
  });
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if ((ev.key === "Enter" || ev.key === " ") && t.dataset && t.dataset.number) {
      ev.preventDefault(); setHash(t.dataset.number); selectFrame(Number(t.dataset.number), false); return;
    }
    if (!selected || (ev.key !== "ArrowDown" && ev.key !== "ArrowUp" && ev.key !== "j" && ev.key !== "k")) return;
    var n = Number(selected.dataset.number) + (ev.key === "ArrowDown" || ev.key === "j" ? 1 : -1);
    if (n >= 1 && n <= frames.length) { ev.preventDefault(); setHash(n); selectFrame(n, true); }
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
  // what a DOM dump cannot compute: whether each item is rendered at all
  document.querySelectorAll(".item").forEach(function (li) {
    var style = getComputedStyle(li), box = li.getBoundingClientRect();
    var shown = li.getClientRects().length > 0 && box.width > 0 && box.height > 0 &&
      style.visibility !== "hidden" && style.display !== "none" && Number(style.opacity) > 0;
    li.dataset.visible = shown ? "yes" : "no";
  });
  document.documentElement.dataset.frames = String(document.querySelectorAll("#ladder .frame").length);
  document.documentElement.dataset.ready = "yes";
})();
"""
