"""Match a trace against an expectation. Pure: no I/O, no clock, no scapy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from .expr import Cmp, Cond, Context, Field, Lit, SentBy, Unbound, Unknowable
from .model import START, Expectation, Never, Step
from .trace import Frame, MissingField, Trace
from .verdict import ItemResult, Status, Verdict

CHECKSUMS_ITEM = "every checksum is right"
CHECKSUM_WORDS = {"ip": "IP header", "tcp": "TCP", "udp": "UDP", "icmp": "ICMP"}


def check(expectation: Expectation, trace: Trace, facts: Mapping[str, Any] | None = None) -> Verdict:
    """Run every step, forbidden-event rule and fact check; explain each miss.

    Steps are found in order, each after the frame of the one before (or of the
    step it names `after`; on that frame too if it `may_share` it; anywhere for
    `after=START`); once a step is missing, the steps after it are "not reached"
    (SKIPPED), so one miss reads as one miss. An item the
    capture cannot decide (it cannot tell who sent a frame) is INCONCLUSIVE.

    `facts=None` means an offline check of a stored capture: the lab's facts
    (socket states, return values) are not in a pcap, so fact checks are left
    out and a note says so."""
    offline = facts is None
    facts = dict(facts or {})
    bindings: dict[str, Any] = {}
    items: list[ItemResult] = []
    seen: dict[str, Frame] = {}  # step name → the frame that met it
    missing: dict[str, str] = {}  # step name → the step that did not happen, so this one was not reached
    previous: Step | None = None
    for step in expectation.steps:
        anchor = previous if step.after is None else None if step.after == START else _named(expectation, step.after)
        previous = step
        if anchor is not None and anchor.name not in seen:
            missing[step.name] = missing.get(anchor.name, anchor.name)
            items.append(ItemResult("step", step.name, Status.SKIPPED, (), (
                f"not reached: it comes after '{missing[step.name]}', which did not happen",)))
            continue
        cursor = seen[anchor.name].index if anchor is not None else 0
        result, matched = _run_step(step, trace, cursor, anchor, bindings, facts)
        items.append(result)
        if matched is not None:
            seen[step.name] = matched
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


def _named(expectation: Expectation, name: str) -> Step:
    return next(s for s in expectation.steps if s.name == name)


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
    previous: Step | None,
    bindings: dict[str, Any],
    facts: Mapping[str, Any],
) -> tuple[ItemResult, Frame | None]:
    start = cursor - 1 if step.may_share and cursor > 0 else cursor
    later = trace.frames[start:]  # frame numbers start at 1: position n holds frame n + 1
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
                _not_seen(step, trace.frames[cursor:], previous, trace, cursor, bindings, facts),)), None
    except Unbound as exc:
        return _skipped(step.name, exc), None
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
    if problems and step.hint:
        problems.append(step.hint)
    messages = tuple(f"frame #{found.index} ({found.summary}): {p}" for p in problems)
    if found is doubtful and not problems:
        reasons = "; ".join(_unknowns(step.match, ctx))
        return ItemResult("step", step.name, Status.INCONCLUSIVE, (found.index,), (
            f"frame #{found.index} ({found.summary}) fits, but {reasons}",)), found
    status = Status.FAIL if problems else Status.PASS
    return ItemResult("step", step.name, status, (found.index,), messages), found


def _not_seen(
    step: Step,
    later: tuple[Frame, ...],
    previous: Step | None,
    trace: Trace,
    cursor: int,
    bindings: Mapping[str, Any],
    facts: Mapping[str, Any],
) -> str:
    after = f"after {previous.name} (frame #{cursor})" if previous else "in the whole capture"
    if not later:
        text = f"expected it, but nothing was captured {after}"
    else:
        sender = expected_sender(step, trace)
        own = tuple(f for f in later if sender is None or f.sender in (sender, None, "?"))
        near = _nearest_miss(step.match, own, bindings, facts)
        if near is None:
            text = f"no frame {after} looks like it ({len(later)} frame{'' if len(later) == 1 else 's'} checked)"
        else:
            frame, why = near
            text = f"no frame {after} matches; the closest is frame #{frame.index} ({frame.summary}): {why}"
    return f"{text}. {step.hint}".strip() if step.hint else text


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
    conds: tuple[Cond, ...], frames: tuple[Frame, ...], bindings: Mapping[str, Any], facts: Mapping[str, Any]
) -> tuple[Frame, str] | None:
    """The earliest frame meeting the most conditions (at least half of them)."""
    best: tuple[int, Frame] | None = None
    for frame in frames:
        ctx = _ctx(frame, bindings, facts)
        score = sum(1 for c in conds if _test(c, ctx))
        if best is None or score > best[0]:
            best = (score, frame)
    if best is None or best[0] * 2 < len(conds) or best[0] == 0:
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


def _run_never(rule: Never, trace: Trace, bindings: Mapping[str, Any], facts: Mapping[str, Any]) -> ItemResult:
    hits, doubtful = [], []
    try:
        for frame in trace.frames:
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
        messages.append(f"frame #{frame.index}: {frame.summary} sent by {frame.sender or '?'}{when}. {rule.why}".strip())
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
