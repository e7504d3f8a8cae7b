"""Partial credit: points per expectation item, a status per submission."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..expect.verdict import Status, Verdict

ERROR = "ERROR"  # the grader could not grade it: not the student's fault, never a score
NOT_REACHED = "not reached"


@dataclass(frozen=True)
class ItemScore:
    name: str  # "kind: name", as in JUnit
    status: str  # "passed", "failed", "not reached"
    points: float
    max_points: float
    message: str = ""


@dataclass(frozen=True)
class Score:
    status: str  # PASS, FAIL, INCONCLUSIVE or ERROR
    score: float
    max_score: float
    items: tuple[ItemScore, ...]
    first_failure: str = ""  # the first line a student and an instructor read
    first_failed: str = ""  # which item that was ("kind: name"), for the class summary


def item_points(weights: Mapping[str, float], name: str) -> float:
    return float(weights.get(name, 1.0))


def score_verdict(verdict: Verdict, weights: Mapping[str, float], unusable: str | None = None) -> Score:
    """Each item that passed earns its points (default 1, the lab may weight them).

    Steps happen in order: once a step is missing, the steps after it (unless
    they were seen anyway) are "not reached", no points and no failure of
    their own; so is an item the checker SKIPPED for a missing step. A
    "never" rule earns its points only in a run where some step happened (no
    RST from a client that sent nothing proves nothing). A file that could
    not be used at all scores 0."""
    if unusable is not None:
        items = tuple(ItemScore(f"{i.kind}: {i.name}", "failed", 0.0, item_points(weights, i.name), unusable)
                      for i in verdict.items)
        return Score("FAIL", 0.0, sum(i.max_points for i in items), items, unusable, "unusable file")
    anything_happened = any(i.kind == "step" and i.status is Status.PASS for i in verdict.items)
    missing_step: str | None = None
    items = []
    for item in verdict.items:
        full = item_points(weights, item.name)
        label = f"{item.kind}: {item.name}"
        message = item.messages[0] if item.messages else ""
        if item.status is Status.PASS and (item.kind != "never" or anything_happened):
            items.append(ItemScore(label, "passed", full, full, message))
        elif item.status is Status.PASS:
            items.append(ItemScore(label, NOT_REACHED, 0.0, full, "not reached: no step of the exchange happened"))
        elif item.status is Status.SKIPPED or (item.kind == "step" and missing_step is not None):
            items.append(ItemScore(label, NOT_REACHED, 0.0, full, f"not reached: {missing_step or 'an earlier step'} is missing"))
        else:
            items.append(ItemScore(label, "failed", 0.0, full, message))
            if item.kind == "step" and missing_step is None:
                missing_step = item.name
    first_failed = next((i for i in items if i.status == "failed"), None)
    first = f"{first_failed.name}: {first_failed.message}" if first_failed and first_failed.message else (
        first_failed.name if first_failed else (verdict.notes[0] if verdict.notes else ""))
    own = next((note for note in verdict.notes if note.startswith("your ")), None)
    if own is not None and first_failed is not None:  # what the student's code did explains the misses best
        first = own
    return Score(verdict.status.value, sum(i.points for i in items), sum(i.max_points for i in items), tuple(items),
                 first, first_failed.name if first_failed else "")


def error_score(reason: str, max_score: float = 0.0) -> Score:
    return Score(ERROR, 0.0, max_score, (), reason, "grader error")
