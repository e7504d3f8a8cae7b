"""What a lab file declares, and the context its procedure acts through."""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

from ..backends.base import Deployment, NodeHandle
from ..confine.limits import Limits
from ..expect.model import Expectation
from ..topology.model import Topology

T = TypeVar("T")


@dataclass(frozen=True)
class Range:
    """The values a number parameter may take, both ends included (None: unbounded).

    `note` says what a special value means, for the error message: e.g.
    `Range(0, 65535, note="0 picks a free port")`."""

    low: float | None = None
    high: float | None = None
    note: str = ""

    def problem(self, value: Any) -> str | None:
        """Why `value` is out of range (None if it is fine)."""
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            return f"expected {self.describe()}"
        return None

    def describe(self) -> str:
        if self.low is None and self.high is None:
            text = "any number"
        elif self.high is None:
            text = f"at least {_number(self.low)}"
        elif self.low is None:
            text = f"at most {_number(self.high)}"
        else:
            text = f"{_number(self.low)} to {_number(self.high)}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class OneOf:
    """The only values a parameter may take: `OneOf("client", "server")`."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", values)

    def problem(self, value: Any) -> str | None:
        return None if value in self.values else f"expected {self.describe()}"

    def describe(self) -> str:
        words = [str(v) for v in self.values]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


Limit = Range | OneOf


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Lab:
    """A lab: instructions, the student's part (reference solution), the
    procedure that drives the network, and what the capture must show."""

    name: str
    title: str
    summary: str
    instructions: str
    student: Callable[..., Any]  # the reference implementation of the student's part
    procedure: Callable[["LabContext"], None]
    expectation: Callable[[Topology, Mapping[str, Any]], Expectation]
    columns: tuple[str, ...]  # node lanes of the ladder diagram, left to right
    params: Mapping[str, Any] = field(default_factory=dict)  # defaults, overridable with --set
    limits: Mapping[str, Limit] = field(default_factory=dict)  # valid values of params, checked on --set
    param_help: Mapping[str, str] = field(default_factory=dict)  # param → what it means, for `protolab show`
    timeout: float = 5.0  # seconds a call of the student's function may take
    source: str = ""  # the lab file, filled in by the catalogue
    views: tuple[Callable[[Any, Topology], Any], ...] = ()  # (trace, topology) → more to print after the ladder
    student_node: str = "client"  # the node a student's code runs in, confined (see protolab/confine)
    student_limits: Limits = field(default_factory=Limits)  # what a student's code may use per call
    points: Mapping[str, float] = field(default_factory=dict)  # expectation item name → points when graded (default 1)
    variants: Mapping[str, Limit] = field(default_factory=dict)  # params drawn per student (see variants.py)
    fresh_topology: bool = False  # graded on a new network per submission (state no run can reset)
    topology: str = ""  # a topology file beside the lab file (see network.py); "": the packaged default
    # facts the procedure may report with ctx.fact(): name (or "pattern*") → meaning, or (meaning, type);
    # every Fact("name") of the expectation must be declared (see facts.py)
    facts: Mapping[str, Any] = field(default_factory=dict)
    # what limits cannot say (two parameters that must differ): params → why they cannot be used, or None
    check_params: Callable[[Mapping[str, Any]], str | None] | None = None
    # facts read from the capture once the run is over, before the check: (trace, params, facts so far)
    # → {name: value}, each declared in `facts` (what an HTTP server sent, read from the reassembled streams)
    wire_facts: Callable[[Any, Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]] | None = None

    @property
    def student_name(self) -> str:
        return self.student.__name__

    def parameter_lines(self) -> list[str]:
        """One line per parameter for `protolab show`: name=default, what it means, its valid values."""
        width = max((len(f"{k}={v!r}") for k, v in self.params.items()), default=0)
        lines = []
        for key, value in self.params.items():
            limit = self.limits.get(key)
            words = [self.param_help.get(key, "")] + ([f"values: {limit.describe()}"] if limit is not None else [])
            lines.append(f"{key}={value!r}".ljust(width) + "  " + "; ".join(w for w in words if w))
        return [line.rstrip() for line in lines]

    def where_text(self) -> str:
        """What a student's file may and may not do, for the end of the instructions."""
        limits = self.student_limits
        return (
            f"Where your code runs: inside the {self.student_node} machine, as an unprivileged user allowed "
            f"raw sockets, in a sandbox of its own for each call of {self.student_name}(). It sees the "
            f"{self.student_node}'s network and nothing else: nothing outside the lab, no file of the lab or "
            f"of other students, no other process. Each call may take {self.timeout:g} s and "
            f"{limits.memory // (1024 * 1024)} MiB; /tmp is yours to write ({limits.scratch // (1024 * 1024)} MiB). "
            f"What it prints is shown after the verdict (the first {limits.output // 1024} KiB are kept). "
            "Return plain values (numbers, strings, bytes, tuples, lists, dicts), not objects."
        )


@dataclass
class LabContext:
    """Handed to a lab's procedure: the running network and a place for facts."""

    lab: Lab
    deployment: Deployment
    params: dict[str, Any]
    call_student: Callable[..., Any]  # runs the student's function: confined in its node, time-bounded
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # what went wrong in the run itself
    doubts: list[str] = field(default_factory=list)  # why this run cannot prove anything either way
    narration: list[str] = field(default_factory=list)
    # seconds the last call_student() took from the sandbox's start to the answer: without
    # the wait for the launcher's first start, which is the grader's time, not the student's
    last_call_seconds: float | None = None
    on_say: Callable[[str], None] | None = None
    # starts the student's function in the background, confined like call_student (a server the lab then
    # uses); returns a confine.background.StudentServer, stopped when the run ends if the lab did not
    start_student: Callable[..., Any] | None = None
    stack: ExitStack = field(default_factory=ExitStack)
    _hosts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from .facts import FactBook

        self.facts = FactBook(self.lab.name, self.lab.facts, self.facts)  # an undeclared name is refused

    def fact(self, name: str, value: Any) -> None:
        """Report a fact for the expectation's Fact(name) checks; `name` must be in Lab(facts=...)."""
        self.facts[name] = value

    @property
    def topology(self) -> Topology:
        return self.deployment.topology

    def node(self, name: str) -> NodeHandle:
        return self.deployment.node(name)

    def host(self, name: str):
        """Packet I/O in a node (opened once per run, closed at the end)."""
        from ..live.host import Host

        if name not in self._hosts:
            host = Host(self.node(name))
            self.stack.callback(host.close)
            self._hosts[name] = host
        return self._hosts[name]

    def ip(self, name: str) -> str:
        return str(self.topology.node(name).ip)

    def use(self, manager: AbstractContextManager[T]) -> T:
        """Enter a service or guard; it is left when the run ends, whatever happens."""
        return self.stack.enter_context(manager)

    def inconclusive(self, reason: str) -> None:
        """Mark the run as unable to prove or disprove anything (e.g. the kernel
        held back a packet the lab relies on): the verdict becomes INCONCLUSIVE."""
        self.doubts.append(reason)

    def say(self, text: str) -> None:
        """Narrate a step of the lab for the person watching."""
        self.narration.append(text)
        if self.on_say:
            self.on_say(text)
