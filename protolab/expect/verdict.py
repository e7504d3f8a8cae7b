"""The result of matching a trace: per-item outcomes and an overall status."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Mapping


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    SKIPPED = "SKIPPED"  # an item that could not be checked (depends on a missing step)


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one step, forbidden event or fact check."""

    kind: str  # "step", "never" or "fact"
    name: str
    status: Status
    frames: tuple[int, ...] = ()  # trace indices this item is about
    messages: tuple[str, ...] = ()
    phase: str = ""  # the Phase it belongs to ("" for none)


@dataclass(frozen=True)
class PhaseResult:
    """How one phase went: the worst status of its items (FAIL, then SKIPPED, INCONCLUSIVE, PASS)."""

    name: str
    status: Status
    items: tuple[ItemResult, ...]

    @property
    def passed(self) -> int:
        return sum(1 for i in self.items if i.status is Status.PASS)

    @property
    def frames(self) -> tuple[int, ...]:
        """The frames its items are about, in order."""
        return tuple(sorted({n for i in self.items for n in i.frames}))


@dataclass(frozen=True)
class Verdict:
    expectation: str
    status: Status
    items: tuple[ItemResult, ...]
    bindings: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # about the run as a whole (drops, solution errors)
    unusable: str | None = None  # why the student's file could not be used at all (also the first note)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def failures(self) -> tuple[ItemResult, ...]:
        return tuple(i for i in self.items if i.status is not Status.PASS)

    def phases(self) -> tuple[PhaseResult, ...]:
        """One result per phase, in the order of their items (none without phases)."""
        grouped: dict[str, list[ItemResult]] = {}
        for item in self.items:
            if item.phase:
                grouped.setdefault(item.phase, []).append(item)
        out = []
        for name, items in grouped.items():
            statuses = {i.status for i in items}
            worst = next((s for s in (Status.FAIL, Status.SKIPPED, Status.INCONCLUSIVE) if s in statuses), Status.PASS)
            out.append(PhaseResult(name, worst, tuple(items)))
        return tuple(out)

    def explanations(self) -> list[str]:
        """Every miss, one line each, for people."""
        lines = list(self.notes)
        for item in self.failures():
            lines.extend(f"{item.name}: {m}" for m in item.messages)
        return lines

    def marks(self) -> dict[int, list[ItemResult]]:
        """Trace index → items that refer to that frame (for ladder diagrams)."""
        out: dict[int, list[ItemResult]] = {}
        for item in self.items:
            for index in item.frames:
                out.setdefault(index, []).append(item)
        return out

    def with_doubt(self, message: str) -> Verdict:
        """The same verdict, INCONCLUSIVE: the run could not observe what it needed."""
        return replace(self, status=Status.INCONCLUSIVE, notes=self.notes + (message,))

    def with_note(self, message: str) -> Verdict:
        """The same verdict with a remark about the run that changes nothing."""
        return replace(self, notes=self.notes + (message,))

    def with_error(self, message: str) -> Verdict:
        """The same verdict, failed because the run itself went wrong."""
        status = Status.FAIL if self.status is not Status.INCONCLUSIVE else self.status
        return replace(self, status=status, notes=self.notes + (message,))

    def with_unusable(self, message: str) -> Verdict:
        """The same verdict, failed because the student's file could not be used at all:
        `message` explains every miss, so it comes first; nothing earns a point."""
        return replace(self, status=Status.FAIL, notes=(message, *self.notes), unusable=message)
