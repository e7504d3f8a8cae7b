"""Match a trace against an expectation: steps in order, groups in any order, alternative ways. Pure: no I/O, no clock, no scapy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from ..errors import AuthorError
from .cond import Cmp, Cond, SentBy
from .expr import Context, Field, Lit, TypeClash, Unbound, Unknowable
from .model import START, Either, Entry, Expectation, InAnyOrder, Never, Phase, Step, all_steps
from .trace import Frame, MissingField, Trace
from .verdict import ItemResult, Status, Verdict

CHECKSUMS_ITEM = "every checksum is right"
CHECKSUM_WORDS = {"ip": "IP header", "tcp": "TCP", "udp": "UDP", "icmp": "ICMP"}


def check(expectation: Expectation, trace: Trace, facts: Mapping[str, Any] | None = None) -> Verdict:
    """Run every step, forbidden-event rule and fact check; explain each miss.

    Steps are found in order, each after the frame of the one before (or of the
    step it names `after`; on that frame too if it `may_share` it; anywhere for
    `after=START`); the steps of an InAnyOrder group each on a frame of its own
    after the group's anchor, in any order; an Either by the first of its ways
    that happens in full. Once a step is missing, the steps after it are "not
    reached" (SKIPPED), so one miss reads as one miss. An item the capture
    cannot decide (it cannot tell who sent a frame) is INCONCLUSIVE.

    `facts=None` means an offline check of a stored capture: the lab's facts
    (socket states, return values) are not in a pcap, so fact checks are left
    out and a note says so."""
    offline = facts is None
    run = _Run(trace, dict(facts or {}))
    run.sequence(expectation.steps, None)
    items, bindings, facts = run.items, run.bindings, run.facts
    items.extend(_run_never(rule, trace, bindings, facts) for rule in expectation.never)
    bad = _bad_checksums(trace)
    if bad:
        items.append(bad)
    if not offline:
        items.extend(_run_fact(c.cond, c.says, bindings, facts) for c in expectation.facts)
    verdict = _conclude(expectation.name, items, bindings, trace)
    if offline and expectation.facts:
        note = f"offline check: {len(expectation.facts)} fact check(s) about the live run were not made"
        verdict = replace(verdict, notes=verdict.notes + (note,))
    return verdict


class _Run:
    """The state of one check: bindings so far, the frame each entry met, the items so far."""

    def __init__(self, trace: Trace, facts: Mapping[str, Any], bindings: dict[str, Any] | None = None,
                 seen: dict[str, Frame] | None = None, missing: dict[str, str] | None = None) -> None:
        self.trace, self.facts = trace, facts
        self.bindings: dict[str, Any] = dict(bindings or {})
        self.seen: dict[str, Frame] = dict(seen or {})  # entry name → the (last) frame that met it
        self.missing: dict[str, str] = dict(missing or {})  # entry name → the step that did not happen, so it was not reached
        self.items: list[ItemResult] = []

    def fork(self) -> _Run:
        return _Run(self.trace, self.facts, self.bindings, self.seen, self.missing)

    def sequence(self, entries: tuple[Entry, ...], before: str | None) -> None:
        """Run entries in order; `before`: the entry the first of them follows (None: nothing)."""
        for entry in entries:
            anchor = before if entry.after is None else None if entry.after == START else entry.after
            before = entry.name
            if anchor is not None and anchor not in self.seen:
                self._skip(entry, self.missing.get(anchor, anchor))
                continue
            cursor = self.seen[anchor].index if anchor is not None else 0
            if isinstance(entry, Step):
                result, matched = _run_step(entry, self.trace, cursor, anchor, self.bindings, self.facts)
                self.items.append(result)
                if matched is not None:
                    self.seen[entry.name] = matched
            elif isinstance(entry, InAnyOrder):
                self._group(entry, anchor, cursor)
            elif isinstance(entry, Phase):
                self._phase(entry, anchor, cursor)
            else:
                self._either(entry, anchor)

    def _skip(self, entry: Entry, why: str) -> None:
        if isinstance(entry, Phase):
            steps: tuple = entry.entries
        else:
            steps = entry.steps if isinstance(entry, InAnyOrder) else entry.ways[0] if isinstance(entry, Either) else (entry,)
        said = f"not reached: it comes after '{why}', which did not happen"
        phase = entry.name if isinstance(entry, Phase) else ""
        for step in all_steps(steps):
            self.missing[step.name] = why
            self.items.append(ItemResult("step", step.name, Status.SKIPPED, (), (said,), phase=phase))
        for rule in entry.never if isinstance(entry, Phase) else ():
            self.items.append(ItemResult("never", rule.name, Status.SKIPPED, (), (said,), phase=phase))
        self.missing[entry.name] = why

    def _phase(self, phase: Phase, anchor: str | None, cursor: int) -> None:
        """The phase's entries in order after its anchor, then its rules on its own frames; every item tagged."""
        first = len(self.items)
        self.sequence(phase.entries, anchor)
        last = phase.entries[-1].name
        if last in self.seen:
            self.seen[phase.name] = self.seen[last]
            end = self.seen[last].index
        else:
            self.missing[phase.name] = self.missing.get(last, last)
            end = len(self.trace)
        frames = self.trace.frames[cursor:end]
        self.items.extend(_run_never(rule, self.trace, self.bindings, self.facts, frames) for rule in phase.never)
        self.items[first:] = [replace(i, phase=phase.name) for i in self.items[first:]]

    def _group(self, group: InAnyOrder, anchor: str | None, cursor: int) -> None:
        frames = _assign(group.steps, self.trace, cursor, self.bindings, self.facts)
        owners = {f.index: s.name for s, f in zip(group.steps, frames) if f is not None}
        for step, found in zip(group.steps, frames):
            if found is None:
                others = tuple(f for f in _later(_pool(step, self.trace), cursor) if f.index not in owners)
                try:
                    why = _taken(step, group, owners, anchor, self.trace, cursor, self.bindings, self.facts) or \
                        _not_seen(step, others, anchor, self.trace, cursor, self.bindings, self.facts)
                except Unbound as exc:
                    self.items.append(_skipped(step.name, exc))
                else:
                    self.items.append(ItemResult("step", step.name, Status.FAIL, (), (why,)))
                self.missing.setdefault(group.name, step.name)
                continue
            doubtful = _judge(step.match, _ctx(found, self.bindings, self.facts)) is None
            self.items.append(_finish(step, found, doubtful, self.trace, cursor, self.bindings, self.facts))
            self.seen[step.name] = found
        if group.name not in self.missing:
            self.seen[group.name] = max((f for f in frames if f is not None), key=lambda f: f.index)

    def _either(self, either: Either, anchor: str | None) -> None:
        tries = []
        for way in either.ways:
            sub = self.fork()
            sub.sequence(way, anchor)
            tries.append(sub)
        passed = [i for i, t in enumerate(tries) if all(r.status is Status.PASS for r in t.items)]
        decided = [i for i, t in enumerate(tries) if all(r.status in (Status.PASS, Status.INCONCLUSIVE) for r in t.items)]
        if passed or decided:
            taken = (passed or decided)[0]
        else:  # the way that got furthest (the first of those that got as far)
            taken = max(range(len(tries)), key=lambda i: (sum(r.status is Status.PASS for r in tries[i].items), -i))
        chosen, way = tries[taken], either.ways[taken]
        items = chosen.items
        if not (passed or decided):
            items = _explain_ways(either, tries, taken)
        self.bindings, self.seen, self.missing = chosen.bindings, chosen.seen, chosen.missing
        self.items.extend(items)
        ends = [self.seen.get(e.name) for e in way]
        if all(f is not None for f in ends):
            self.seen[either.name] = max(ends, key=lambda f: f.index)
        else:
            self.missing[either.name] = next(e.name for e, f in zip(way, ends) if f is None)


def _taken(step: Step, group: InAnyOrder, owners: Mapping[int, str], anchor: str | None, trace: Trace, cursor: int,
           bindings: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    """For a step of a group left without a frame: the frames that fit it but are other steps' ("" if none)."""
    fits = [f for f in _later(_pool(step, trace), cursor) if f.index in owners and _judge(step.match, _ctx(f, bindings, facts))]
    if not fits:
        return ""
    after = f"after {anchor} (frame #{cursor})" if anchor else "in the whole capture"
    which = ", ".join(f"frame #{f.index} is '{owners[f.index]}'" for f in fits)
    text = (f"the only frames {after} that fit it are those of other steps of '{group.name}' ({which}): "
            f"each step of the group needs a frame of its own")
    return sentences(text, step.hint)


def _explain_ways(either: Either, tries: list[_Run], taken: int) -> list[ItemResult]:
    """The items of the way that got furthest, its first miss saying that no way happened and where the others stopped."""
    items = list(tries[taken].items)
    others = []
    for i, t in enumerate(tries):
        if i != taken:
            stop = next(r for r in t.items if r.status is not Status.PASS)
            others.append(f"way {i + 1} stopped at '{stop.name}'")
    note = (f"none of the {len(tries)} ways '{either.name}' may happen was seen in full; this is way {taken + 1} "
            f"(from '{either.ways[taken][0].name}'), which got furthest ({'; '.join(others)})")
    first = next(i for i, r in enumerate(items) if r.status is not Status.PASS)
    items[first] = replace(items[first], messages=(note, *items[first].messages))
    return items


MAX_TRIES = 20000  # frame tests an InAnyOrder search may make before it settles for the first frames that fit


def _assign(steps: tuple[Step, ...], trace: Trace, cursor: int, bindings: Mapping[str, Any],
            facts: Mapping[str, Any]) -> list[Frame | None]:
    """A distinct frame after the anchor for each step of a group (None: none is left for it).

    Tries the frames that fit each step in turn (sure ones before those the
    capture cannot decide), backing off when a later step finds none left, so
    a broad step does not take the frame a narrower one needed."""
    budget = [MAX_TRIES]

    def candidates(step: Step, bound: Mapping[str, Any], used: frozenset[int]) -> list[Frame]:
        start = cursor - 1 if step.may_share and cursor > 0 else cursor
        sure, doubt = [], []
        try:
            for frame in _later(_pool(step, trace), start):
                if frame.index in used:
                    continue
                budget[0] -= 1
                judged = _judge(step.match, _ctx(frame, bound, facts))
                if judged:
                    sure.append(frame)
                elif judged is None:
                    doubt.append(frame)
        except Unbound:
            return []
        return sure + doubt

    def search(i: int, bound: Mapping[str, Any], used: frozenset[int]) -> list[Frame] | None:
        if i == len(steps):
            return []
        for frame in candidates(steps[i], bound, used):
            rest = search(i + 1, _bound(steps[i], frame, bound, facts), used | {frame.index})
            if rest is not None:
                return [frame, *rest]
            if budget[0] <= 0:
                break
        return None

    found = search(0, bindings, frozenset())
    if found is not None:
        return list(found)
    out: list[Frame | None] = []  # no frame for every step: the first that fit, in order
    bound: Mapping[str, Any] = bindings
    used: frozenset[int] = frozenset()
    for step in steps:
        fits = candidates(step, bound, used)
        out.append(fits[0] if fits else None)
        if fits:
            bound, used = _bound(step, fits[0], bound, facts), used | {fits[0].index}
    return out


def _pool(step: Step, trace: Trace) -> tuple[Frame, ...]:
    """What a step picks from: the trace's frames, or what its `pool` gives (an HTTP step: messages)."""
    pool = getattr(step, "pool", None)
    return trace.frames if pool is None else pool(trace)


def _later(pool: tuple[Frame, ...], start: int) -> tuple[Frame, ...]:
    """The items of `pool` numbered after `start`, in order."""
    if pool and pool[0].index == 1 and pool[-1].index == len(pool) and type(pool[0]) is Frame:
        return pool[start:]  # a trace's frames: position n holds frame n + 1
    return tuple(f for f in pool if f.index > start)


def _bound(step: Step, frame: Frame, bindings: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """The bindings with what `step` binds on `frame` (what it cannot take is left out)."""
    out = dict(bindings)
    ctx = _ctx(frame, bindings, facts)
    for name, expr in step.binders().items():
        try:
            out[name] = expr.eval(ctx)
        except (MissingField, Unbound, TypeClash):
            pass
    return out


def _judge(conds: tuple[Cond, ...], ctx: Context) -> bool | None:
    """True if every condition holds, False if one does not, None if the capture cannot tell."""
    unknown = False
    for cond in conds:
        try:
            if not cond.test(ctx):
                return False
        except Unknowable:
            unknown = True
    return None if unknown else True


def _run_step(
    step: Step,
    trace: Trace,
    cursor: int,
    previous: str | None,
    bindings: dict[str, Any],
    facts: Mapping[str, Any],
) -> tuple[ItemResult, Frame | None]:
    start = cursor - 1 if step.may_share and cursor > 0 else cursor
    pool = _pool(step, trace)
    later = _later(pool, start)  # frame numbers start at 1
    doubtful: Frame | None = None
    try:
        found = None
        for frame in later:
            judged = _judge(step.match, _ctx(frame, bindings, facts))
            if judged:
                found = frame
                break
            if judged is None and doubtful is None:
                doubtful = frame
        if found is None and doubtful is not None:
            found = doubtful
        if found is None:  # the nearest-miss search may reach an unbound variable too
            return ItemResult("step", step.name, Status.FAIL, (), (
                _not_seen(step, _later(pool, cursor), previous, trace, cursor, bindings, facts),)), None
    except Unbound as exc:
        return _skipped(step.name, exc), None
    return _finish(step, found, found is doubtful, trace, cursor, bindings, facts), found


def _finish(step: Step, found: Frame, doubtful: bool, trace: Trace, cursor: int, bindings: dict[str, Any],
            facts: Mapping[str, Any]) -> ItemResult:
    """The item of a step whose frame is `found`: its timing, checks and checksums; binds its values."""
    ctx = _ctx(found, bindings, facts)
    problems = []
    if step.within is not None and cursor > 0:
        gap = found.time - trace[cursor].time
        if gap > step.within:
            problems.append(f"it came {_duration(gap)} after the previous step, later than the allowed {_duration(step.within)}")
    for check_ in step.checks:
        try:
            if not check_.cond.test(ctx):
                problems.append(f"{check_.says} — but {check_.cond.explain(ctx)}")
        except Unbound as exc:
            problems.append(f"{check_.says} — cannot check, '{exc.args[0]}' was never bound")
        except Unknowable as exc:
            problems.append(f"{check_.says} — cannot check: {exc.args[0]}")
    problems.extend(_checksum_problems(found))
    for name, expr in step.binders().items():
        try:
            bindings[name] = expr.eval(ctx)
        except (MissingField, Unbound):
            problems.append(f"could not take '{name}' from {expr.text()}")
        except TypeClash as exc:
            raise AuthorError(f"step '{step.name}' binds '{name}' to {expr.text()}, which cannot be computed: {exc} "
                              f"(the lab file is wrong, not the student's code)") from None
    if problems and step.hint:
        problems.append(step.hint)
    messages = tuple(f"{found.label}: {p}" for p in problems)
    if doubtful and not problems:
        reasons = "; ".join(_unknowns(step.match, ctx))
        return ItemResult("step", step.name, Status.INCONCLUSIVE, found.numbers, (
            f"{found.label} fits, but {reasons}",))
    status = Status.FAIL if problems else Status.PASS
    return ItemResult("step", step.name, status, found.numbers, messages)


def _not_seen(
    step: Step,
    later: tuple[Frame, ...],
    previous: str | None,
    trace: Trace,
    cursor: int,
    bindings: Mapping[str, Any],
    facts: Mapping[str, Any],
) -> str:
    after = f"after {previous} (frame #{cursor})" if previous else "in the whole capture"
    noun = getattr(step, "noun", "frame")
    absent = getattr(step, "absent", None)
    told = absent(trace, bindings) if absent is not None else None
    if told:
        text = told
    elif not later:
        text = f"expected it, but nothing was captured {after}" if noun == "frame" else f"no {noun} {after}"
    else:
        sender = expected_sender(step, trace)
        own = tuple(f for f in later if sender is None or f.sender in (sender, None, "?"))
        # a message pool holds only messages of the step's kind: the closest one is always worth naming
        near = _nearest_miss(step.match, own, bindings, facts, any_score=noun != "frame")
        if near is None:
            text = f"no {noun} {after} looks like it ({len(later)} {noun}{'' if len(later) == 1 else 's'} checked)"
        else:
            frame, why = near
            text = f"no {noun} {after} matches; the closest is {frame.label}: {why}"
    return sentences(text, step.hint)


def expected_sender(step: Step, trace: Trace) -> str | None:
    """The node a step's frame must come from, where its match says so: a SentBy
    condition, or a source address the trace knows the owner of. Hints about
    the nearest miss look only at that node's own frames (not the router's
    forwarded copies of them, nor anybody else's traffic)."""
    for cond in step.match:
        if isinstance(cond, SentBy):
            return cond.node
    for cond in step.match:
        if (isinstance(cond, Cmp) and cond.op == "==" and isinstance(cond.left, Field)
                and cond.left.path == "ip.src" and isinstance(cond.right, Lit)):
            return trace.addresses.get(cond.right.value)
    return None


def _nearest_miss(
    conds: tuple[Cond, ...], frames: tuple[Frame, ...], bindings: Mapping[str, Any], facts: Mapping[str, Any],
    any_score: bool = False,
) -> tuple[Frame, str] | None:
    """The earliest frame meeting the most conditions (at least half of them, unless `any_score`)."""
    best: tuple[int, Frame] | None = None
    for frame in frames:
        ctx = _ctx(frame, bindings, facts)
        score = sum(1 for c in conds if _test(c, ctx))
        if best is None or score > best[0]:
            best = (score, frame)
    if best is None or (not any_score and (best[0] * 2 < len(conds) or best[0] == 0)):
        return None
    ctx = _ctx(best[1], bindings, facts)
    return best[1], "; ".join(c.explain(ctx) for c in conds if not _test(c, ctx))


def _test(cond: Cond, ctx: Context) -> bool:
    try:
        return cond.test(ctx)
    except Unknowable:
        return False


def _unknowns(conds: tuple[Cond, ...], ctx: Context) -> list[str]:
    out = []
    for cond in conds:
        try:
            cond.test(ctx)
        except Unknowable as exc:
            out.append(exc.args[0])
    return out


def _run_never(rule: Never, trace: Trace, bindings: Mapping[str, Any], facts: Mapping[str, Any],
               frames: tuple[Frame, ...] | None = None) -> ItemResult:
    """A rule on every frame of the trace (or on `frames`, a phase's own)."""
    hits, doubtful = [], []
    try:
        for frame in trace.frames if frames is None else frames:
            judged = _judge(rule.match, _ctx(frame, bindings, facts))
            if judged:
                hits.append(frame)
            elif judged is None:
                doubtful.append(frame)
    except Unbound as exc:
        return _skipped(rule.name, exc, kind="never")
    if not hits and doubtful:
        first = doubtful[0]
        reasons = "; ".join(_unknowns(rule.match, _ctx(first, bindings, facts)))
        more = f" (and {len(doubtful) - 1} more like it)" if len(doubtful) > 1 else ""
        return ItemResult("never", rule.name, Status.INCONCLUSIVE, tuple(f.index for f in doubtful), (
            f"cannot check: frame #{first.index} ({first.summary}){more} breaks this rule if it is what it looks like, "
            f"but {reasons}. Map the capture's nodes with --as, or capture with link-layer headers.",))
    if not hits:
        return ItemResult("never", rule.name, Status.PASS)
    messages = []
    for frame in hits:
        before = _previous_on_link(trace, frame)
        when = f", {_duration(frame.time - before.time)} after frame #{before.index} ({before.summary})" if before else ""
        seen = f"frame #{frame.index}: {frame.summary} sent by {frame.sender or '?'}{when}"
        messages.append(sentences(seen, rule.why) if rule.why else f"{seen}.")
    return ItemResult("never", rule.name, Status.FAIL, tuple(f.index for f in hits), tuple(messages))


def _checksum_problems(frame: Frame) -> list[str]:
    """What a receiver would make of the frame's bad checksums (it drops the frame)."""
    out = []
    for layer, words in CHECKSUM_WORDS.items():
        state = frame.layers.get("checksum", {}).get(layer)
        if state and state[0] == "bad":
            _, value, expected = state
            # no right value: the packet is shorter than its own lengths say, so nothing could sum right
            right = f"its bytes sum to 0x{expected:04x}" if expected is not None else "its lengths do not fit its bytes"
            out.append(f"its {words} checksum is 0x{value:04x}, but {right}: "
                       "a receiver drops it as corrupt, as if it had never been sent")
    return out


def _bad_checksums(trace: Trace) -> ItemResult | None:
    """A failing item naming every frame with a bad checksum (none: no item at all)."""
    bad = [(f, problems) for f in trace.frames if (problems := _checksum_problems(f))]
    if not bad:
        return None
    messages = tuple(f"frame #{f.index} ({f.summary}) sent by {f.sender or '?'}: {problems[0]}" for f, problems in bad)
    return ItemResult("never", CHECKSUMS_ITEM, Status.FAIL, tuple(f.index for f, _ in bad), messages)


def _run_fact(cond: Cond, says: str, bindings: Mapping[str, Any], facts: Mapping[str, Any]) -> ItemResult:
    ctx = Context(None, bindings, facts)
    try:
        if cond.test(ctx):
            return ItemResult("fact", says, Status.PASS)
        return ItemResult("fact", says, Status.FAIL, (), (cond.explain(ctx),))
    except Unbound as exc:
        return _skipped(says, exc, kind="fact")


def _conclude(name: str, items: list[ItemResult], bindings: dict[str, Any], trace: Trace) -> Verdict:
    failed = any(i.status in (Status.FAIL, Status.SKIPPED) for i in items)
    undecided = any(i.status is Status.INCONCLUSIVE for i in items)
    notes: tuple[str, ...] = ()
    if trace.drops:
        status = Status.INCONCLUSIVE
        notes = (
            f"the kernel dropped {trace.drops} frame(s) during capture, so the trace is incomplete "
            "and cannot prove or disprove anything: run the lab again",
        )
    elif failed:
        status = Status.FAIL
    elif undecided:
        status = Status.INCONCLUSIVE
        notes = ("this capture cannot decide every item (see the items marked ?): nothing failed, "
                 "but not everything could be checked",)
    else:
        status = Status.PASS
    return Verdict(name, status, tuple(items), dict(bindings), notes)


def _skipped(name: str, exc: Unbound, kind: str = "step") -> ItemResult:
    return ItemResult(kind, name, Status.SKIPPED, (), (f"not checked: it needs '{exc.args[0]}', which an earlier step did not bind",))


def _previous_on_link(trace: Trace, frame: Frame) -> Frame | None:
    return next((f for f in reversed(trace.frames[: frame.index - 1]) if f.link == frame.link), None)


def _ctx(frame: Frame, bindings: Mapping[str, Any], facts: Mapping[str, Any]) -> Context:
    return Context(frame, bindings, facts)


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def sentences(text: str, more: str) -> str:
    """`text`, then `more` as the next sentence: one full stop between them, never two
    (a text may end with a domain name's own dot: "... expected 'portal.lab.'")."""
    if not more:
        return text
    stop = "" if text.endswith(".") else "."
    return f"{text}{stop} {more}".strip()
