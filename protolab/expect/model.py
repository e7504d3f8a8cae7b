"""Expectations as data: ordered steps, checks, bindings and forbidden events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .expr import Cond, Expr, Field


@dataclass(frozen=True, eq=False)
class Check:
    """Something that must hold; `says` is the rule in a student's words."""

    cond: Cond
    says: str


START = ""  # Step(after=START): the step does not wait for any other


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

    def binders(self) -> dict[str, Expr]:
        return {k: Field(v) if isinstance(v, str) else v for k, v in self.bind.items()}


@dataclass(frozen=True, eq=False)
class Never:
    """A frame that must not appear anywhere in the trace (e.g. a kernel RST)."""

    name: str
    match: tuple[Cond, ...]
    why: str = ""  # what it means when it happens


@dataclass(frozen=True, eq=False)
class Expectation:
    """Everything a lab expects of a run."""

    name: str
    steps: tuple[Step, ...]
    never: tuple[Never, ...] = ()
    facts: tuple[Check, ...] = ()  # evaluated on lab facts and final bindings

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        for i, step in enumerate(self.steps):
            if step.after not in (None, START) and step.after not in names[:i]:
                raise ValueError(f"step '{step.name}' comes after '{step.after}', which is not a step listed before it")
