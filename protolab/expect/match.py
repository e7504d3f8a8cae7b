"""Match a trace against an expectation. Pure: no I/O, no clock, no scapy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from .expr import Cond, Context, Unbound
from .model import Expectation, Never, Step
from .trace import Frame, MissingField, Trace
from .verdict import ItemResult, Status, Verdict


def check(expectation: Expectation, trace: Trace, facts: Mapping[str, Any] | None = None) -> Verdict:
    """Run every step, forbidden-event rule and fact check; explain each miss.

    `facts=None` means an offline check of a stored capture: the lab's facts
    (socket states, return values) are not in a pcap, so fact checks are left
    out and a note says so."""
    offline = facts is None
    facts = dict(facts or {})
    bindings: dict[str, Any] = {}
    items: list[ItemResult] = []
    cursor = 0  # number of the frame matched by the previous step (0: none yet)
    previous: Step | None = None
    for step in expectation.steps:
        result, matched = _run_step(step, trace, cursor, previous, bindings, facts)
        items.append(result)
        if matched is not None:
            cursor = matched.index
            previous = step
    items.extend(_run_never(rule, trace, bindings, facts) for rule in expectation.never)
    if not offline:
        items.extend(_run_fact(c.cond, c.says, bindings, facts) for c in expectation.facts)
    verdict = _conclude(expectation.name, items, bindings, trace)
    if offline and expectation.facts:
        note = f"offline check: {len(expectation.facts)} fact check(s) about the live run were not made"
        verdict = replace(verdict, notes=verdict.notes + (note,))
    return verdict


def _run_step(
    step: Step,
    trace: Trace,
    cursor: int,
    previous: Step | None,
    bindings: dict[str, Any],
    facts: Mapping[str, Any],
) -> tuple[ItemResult, Frame | None]:
    later = trace.frames[cursor:]  # frame numbers start at 1: position cursor is frame cursor + 1
    try:
        found = next((f for f in later if _all(step.match, _ctx(f, bindings, facts))), None)
        if found is None:  # the nearest-miss search may reach an unbound variable too
            return ItemResult("step", step.name, Status.FAIL, (), (_not_seen(step, later, previous, trace, cursor, bindings, facts),)), None
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
    for name, expr in step.binders().items():
        try:
            bindings[name] = expr.eval(ctx)
        except (MissingField, Unbound):
            problems.append(f"could not take '{name}' from {expr.text()}")
    if problems and step.hint:
        problems.append(step.hint)
    status = Status.FAIL if problems else Status.PASS
    messages = tuple(f"frame #{found.index} ({found.summary}): {p}" for p in problems)
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
        near = _nearest_miss(step.match, later, bindings, facts)
        if near is None:
            text = f"no frame {after} looks like it ({len(later)} frames checked)"
        else:
            frame, why = near
            text = f"no frame {after} matches; the closest is frame #{frame.index} ({frame.summary}): {why}"
    return f"{text}. {step.hint}".strip() if step.hint else text


def _nearest_miss(
    conds: tuple[Cond, ...], frames: tuple[Frame, ...], bindings: Mapping[str, Any], facts: Mapping[str, Any]
) -> tuple[Frame, str] | None:
    """The earliest frame meeting the most conditions (at least half of them)."""
    best: tuple[int, Frame] | None = None
    for frame in frames:
        ctx = _ctx(frame, bindings, facts)
        score = sum(1 for c in conds if c.test(ctx))
        if best is None or score > best[0]:
            best = (score, frame)
    if best is None or best[0] * 2 < len(conds) or best[0] == 0:
        return None
    ctx = _ctx(best[1], bindings, facts)
    return best[1], "; ".join(c.explain(ctx) for c in conds if not c.test(ctx))


def _run_never(rule: Never, trace: Trace, bindings: Mapping[str, Any], facts: Mapping[str, Any]) -> ItemResult:
    hits = []
    try:
        hits = [f for f in trace.frames if _all(rule.match, _ctx(f, bindings, facts))]
    except Unbound as exc:
        return _skipped(rule.name, exc, kind="never")
    if not hits:
        return ItemResult("never", rule.name, Status.PASS)
    messages = []
    for frame in hits:
        before = _previous_on_link(trace, frame)
        when = f", {_duration(frame.time - before.time)} after frame #{before.index} ({before.summary})" if before else ""
        messages.append(f"frame #{frame.index}: {frame.summary} sent by {frame.sender or '?'}{when}. {rule.why}".strip())
    return ItemResult("never", rule.name, Status.FAIL, tuple(f.index for f in hits), tuple(messages))


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
    notes: tuple[str, ...] = ()
    if trace.drops:
        status = Status.INCONCLUSIVE
        notes = (
            f"the kernel dropped {trace.drops} frame(s) during capture, so the trace is incomplete "
            "and cannot prove or disprove anything: run the lab again",
        )
    else:
        status = Status.FAIL if failed else Status.PASS
    return Verdict(name, status, tuple(items), dict(bindings), notes)


def _skipped(name: str, exc: Unbound, kind: str = "step") -> ItemResult:
    return ItemResult(kind, name, Status.SKIPPED, (), (f"not checked: it needs '{exc.args[0]}', which an earlier step did not bind",))


def _previous_on_link(trace: Trace, frame: Frame) -> Frame | None:
    return next((f for f in reversed(trace.frames[: frame.index - 1]) if f.link == frame.link), None)


def _all(conds: tuple[Cond, ...], ctx: Context) -> bool:
    return all(c.test(ctx) for c in conds)


def _ctx(frame: Frame, bindings: Mapping[str, Any], facts: Mapping[str, Any]) -> Context:
    return Context(frame, bindings, facts)


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"
