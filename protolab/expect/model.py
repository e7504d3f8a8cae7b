"""Expectations as data: steps in order, groups of steps in any order, alternative ways, checks, forbidden events.

    Expectation("ping", steps=(
        Step("first request", match=(...)),
        InAnyOrder("echoes", steps=(Step("reply 1", ...), Step("request 2", ...), Step("reply 2", ...))),
        Either("close", (Step("client FIN", ...), Step("web FIN", ...)),   # one way ...
                        (Step("web FIN", ...), Step("client FIN", ...))),  # ... or the other
        Step("done", match=(...)),  # after the last frame of the group, of the way taken
    ))

A `Phase` names a stretch of the run with a result of its own (the journey
lab: DHCP, ARP, DNS, ...): `Phase("DNS", entries, never=(...))` runs its
entries in order like the expectation's own, tags their results with its name
(`ItemResult.phase`), and checks its `never` rules on its own frames only.

A lab file that cannot work (a step listed `after` one that is not before
it, two entries of one name, a bind of an unknown field) raises AuthorError
when the expectation is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Mapping, Union

from ..errors import AuthorError
from .cond import Cond
from .expr import Expr, Field


@dataclass(frozen=True, eq=False)
class Check:
    """Something that must hold; `says` is the rule in a student's words."""

    cond: Cond
    says: str

    def __post_init__(self) -> None:
        if not isinstance(self.cond, Cond):
            raise AuthorError(f"Check({self.says!r}) needs a condition, not {type(self.cond).__name__} {self.cond!r}")


START = ""  # Step(after=START): the step does not wait for any other


def _conds(owner: str, match: object) -> tuple[Cond, ...]:
    if isinstance(match, Cond):
        raise AuthorError(f"{owner}: match takes a tuple of conditions; write match=({match.text()},) with the comma")
    conds = tuple(match)  # type: ignore[call-overload]
    for c in conds:
        if not isinstance(c, Cond):
            raise AuthorError(f"{owner}: match lists conditions, and {c!r} ({type(c).__name__}) is not one")
    return conds


@dataclass(frozen=True, eq=False)
class Step:
    """One frame that must appear, after the frame of the previous step.

    `match` picks the frame (the first later one satisfying every condition);
    `checks` must then hold on it; `bind` names values for later steps
    (a str is a field path, e.g. {"isn": "tcp.seq"}).
    """

    name: str
    match: tuple[Cond, ...]
    checks: tuple[Check, ...] = ()
    bind: Mapping[str, str | Expr] = field(default_factory=dict)
    within: float | None = None  # seconds after the previous step's frame
    hint: str = ""  # what usually causes this step to fail
    # the frame of the step it follows may also be this step's: TCP may legally carry two
    # things in one segment (web's FIN+ACK both acknowledges a FIN and sends one)
    may_share: bool = False
    # the step whose frame this one must come after (default: the step listed before it);
    # lets two things happen in either order (your FIN before or after web's ACK of your data).
    # START: anywhere in the capture, whether the steps before it happened or not
    after: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "match", _conds(f"step '{self.name}'", self.match))
        binders = {k: Field(v) if isinstance(v, str) else v for k, v in self.bind.items()}
        for name, value in binders.items():
            if not isinstance(value, Expr):
                raise AuthorError(f"step '{self.name}' binds '{name}' to {value!r}: bind a field path (a str) "
                                  f"or an expression")
        object.__setattr__(self, "_binders", binders)

    def binders(self) -> dict[str, Expr]:
        return dict(self._binders)  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class InAnyOrder:
    """Steps that may happen in any order, each on a frame of its own after the group's anchor
    (the entry before it, or `after`): request/reply pairs a correct program pipelines.

    Each step binds as usual, for the steps listed after it in the group and after the group;
    the entry after the group comes after the group's last frame."""

    name: str
    steps: tuple[Step, ...]
    after: str | None = None  # as Step.after

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise AuthorError(f"InAnyOrder('{self.name}') has no steps")
        for step in self.steps:
            if not isinstance(step, Step):
                raise AuthorError(f"InAnyOrder('{self.name}') lists steps, and {type(step).__name__} is not one")
            if step.after is not None:
                raise AuthorError(f"step '{step.name}' of InAnyOrder('{self.name}') has after='{step.after}': "
                                  f"the steps of a group all come after the group's anchor; give the group after=")


class Either:
    """One of several ways (each a tuple of steps, in order) that may happen:
    `Either("close", (steps of way A), (steps of way B))`.

    It passes if any way fully matches (the first that does is taken, its
    bindings kept); otherwise the way that got furthest is explained. The
    first step of each way follows the Either's anchor (the entry before it,
    or `after`); the entry after it comes after the last frame of the way taken."""

    def __init__(self, name: str, *ways: tuple[Step, ...], after: str | None = None) -> None:
        if len(ways) < 2:
            raise AuthorError(f"Either('{name}') needs at least two ways (tuples of steps), got {len(ways)}")
        checked = []
        for number, way in enumerate(ways, start=1):
            if isinstance(way, Step):
                raise AuthorError(f"way {number} of Either('{name}') is a step: a way is a tuple of steps, "
                                  f"write ({way.name!r} step,) with the comma")
            way = tuple(way)
            if not way or not all(isinstance(s, Step) for s in way):
                raise AuthorError(f"way {number} of Either('{name}') must be a non-empty tuple of steps")
            checked.append(way)
        self.name = name
        self.ways: tuple[tuple[Step, ...], ...] = tuple(checked)
        self.after = after

    def __repr__(self) -> str:
        return f"Either({self.name!r}, {len(self.ways)} ways)"


@dataclass(frozen=True, eq=False)
class Never:
    """A frame that must not appear anywhere in the trace (e.g. a kernel RST)."""

    name: str
    match: tuple[Cond, ...]
    why: str = ""  # what it means when it happens

    def __post_init__(self) -> None:
        object.__setattr__(self, "match", _conds(f"never '{self.name}'", self.match))


@dataclass(frozen=True, eq=False)
class Phase:
    """A part of the run with a pass/fail of its own: `entries` (steps, groups, alternatives) in order,
    the first after the phase's anchor (the entry before it, or `after`), and `never` rules that hold
    on the phase's own frames (after its anchor's frame, up to its last entry's; to the end of the
    capture if the phase did not finish). The entry after a phase comes after its last entry's frame."""

    name: str
    entries: tuple  # of Step, InAnyOrder, Either
    never: tuple[Never, ...] = ()
    after: str | None = None  # as Step.after

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "never", tuple(self.never))
        if not self.entries:
            raise AuthorError(f"Phase('{self.name}') has no entries")
        for entry in self.entries:
            if isinstance(entry, Phase):
                raise AuthorError(f"Phase('{self.name}') holds Phase('{entry.name}'): phases do not nest")
        for rule in self.never:
            if not isinstance(rule, Never):
                raise AuthorError(f"Phase('{self.name}') never= lists Never rules, not {type(rule).__name__}")


Entry = Union[Step, InAnyOrder, Either, Phase]


@dataclass(frozen=True, eq=False)
class Expectation:
    """Everything a lab expects of a run."""

    name: str
    steps: tuple[Entry, ...]
    never: tuple[Never, ...] = ()
    facts: tuple[Check, ...] = ()  # evaluated on lab facts and final bindings

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        _check_order(self.steps, set())


def _check_order(entries: tuple[Entry, ...], before: set[str]) -> set[str]:
    """Every `after` names an entry listed before it; names are unique (within a way of an Either)."""
    for entry in entries:
        if not isinstance(entry, (Step, InAnyOrder, Either, Phase)):
            raise AuthorError(f"an expectation lists steps, InAnyOrder groups, Either alternatives and phases, "
                              f"not {type(entry).__name__}")
        if entry.after not in (None, START) and entry.after not in before:
            raise AuthorError(f"'{entry.name}' comes after '{entry.after}', which is not a step listed before it")
        if entry.name in before:
            raise AuthorError(f"two entries are named '{entry.name}': each step needs a name of its own")
        if isinstance(entry, InAnyOrder):
            _check_order(entry.steps, before)
        elif isinstance(entry, Phase):
            _check_order(entry.entries, before)
        elif isinstance(entry, Either):
            names = set()
            for way in entry.ways:
                names |= _check_order(way, set(before))
            before |= names
        before.add(entry.name)
    return before


def all_steps(entries: tuple[Entry, ...]) -> Iterator[Step]:
    """Every step, those of groups and of every way included, in the order listed."""
    for entry in entries:
        if isinstance(entry, Step):
            yield entry
        elif isinstance(entry, InAnyOrder):
            yield from entry.steps
        elif isinstance(entry, Phase):
            yield from all_steps(entry.entries)
        else:
            for way in entry.ways:
                yield from all_steps(way)
