"""Values of the expectation language: fields, bindings, facts, literals and their sums.

    F("tcp.ack") == V("isn") + 1

builds a condition (cond.py) that, evaluated on a frame with bindings, is true
or false and can say in words why it failed: "tcp.ack is 1000, expected
isn + 1 = 1001". Expressions are data (frozen, comparable by identity only,
because == builds a condition), so expectations can be printed and stored.

A condition or expression has no truth value: `F("a") == 1 and F("b") == 2`,
`0 < F("x") < 5` and `F("x") in (1, 2)` would silently keep one part or none,
so they raise AuthorError saying what to write instead.

A field path is checked against protolab/wire/fields.py when the Field is
built. A value read from a field the registry marks as a TCP sequence number
(tcp.seq, tcp.ack) is a SeqNumber, and so is a binding of one: + and - on it
wrap modulo 2**32. Every other number does ordinary arithmetic; `Seq(expr)`
makes a sequence number of a value that is one (an ISN a lab reports as a fact).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import AuthorError
from ..wire.fields import FieldInfo, field_info
from .trace import Frame, MissingField

SEQ_MOD = 2**32
LONG_BYTES = 40  # longer bytes are shown as their length and first SHOWN_BYTES
SHOWN_BYTES = 16
TRUTH_FIX = ('list conditions in match=(...) or combine them with & | ~; write a range as F("x").between(lo, hi), '
             'a choice as F("x").isin((a, b)), a truth test as F("x").is_(True)')


class Unbound(LookupError):
    """An expression uses a variable no earlier step has bound."""


class Unknowable(LookupError):
    """The capture cannot answer the question (e.g. who sent a frame of a raw-IP capture)."""


class TypeClash(TypeError):
    """Arithmetic on values of types that do not add up (bytes + int): the lab's mistake.
    A condition turns it into an AuthorError naming itself."""


class SeqNumber(int):
    """A TCP sequence number (0 .. 2**32 - 1): + and - wrap modulo 2**32, and the result is one too."""

    __slots__ = ()

    def __new__(cls, value: int) -> SeqNumber:
        return super().__new__(cls, int(value) % SEQ_MOD)

    def __add__(self, other: Any) -> Any:
        return SeqNumber(int(self) + int(other)) if isinstance(other, int) else NotImplemented

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return SeqNumber(int(self) - int(other)) if isinstance(other, int) else NotImplemented

    def __rsub__(self, other: Any) -> Any:
        return SeqNumber(int(other) - int(self)) if isinstance(other, int) else NotImplemented

    def __repr__(self) -> str:
        return int.__repr__(self)

    __str__ = __repr__


@dataclass(frozen=True)
class Context:
    """What an expression is evaluated against."""

    frame: Frame | None = None
    bindings: Mapping[str, Any] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)


class Expr:
    """A value computed from a frame, the bindings or the facts."""

    def eval(self, ctx: Context) -> Any:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def is_literal(self) -> bool:
        return False

    def __bool__(self) -> bool:
        raise AuthorError(f"the value {self.text()} was used as a truth value (with and, or, not, if, "
                          f"a chained comparison or in), which drops a condition silently: {TRUTH_FIX}")

    # arithmetic builds expressions
    def __add__(self, other: Any) -> Expr:
        return Arith("+", self, lift(other))

    def __radd__(self, other: Any) -> Expr:
        return Arith("+", lift(other), self)

    def __sub__(self, other: Any) -> Expr:
        return Arith("-", self, lift(other))

    def __rsub__(self, other: Any) -> Expr:
        return Arith("-", lift(other), self)

    # comparisons build conditions
    def __eq__(self, other: Any) -> _cond.Cond:  # type: ignore[override]
        return _cond.Cmp("==", self, lift(other))

    def __ne__(self, other: Any) -> _cond.Cond:  # type: ignore[override]
        return _cond.Cmp("!=", self, lift(other))

    def __lt__(self, other: Any) -> _cond.Cond:
        return _cond.Cmp("<", self, lift(other))

    def __le__(self, other: Any) -> _cond.Cond:
        return _cond.Cmp("<=", self, lift(other))

    def __gt__(self, other: Any) -> _cond.Cond:
        return _cond.Cmp(">", self, lift(other))

    def __ge__(self, other: Any) -> _cond.Cond:
        return _cond.Cmp(">=", self, lift(other))

    def isin(self, values: Any) -> _cond.Cond:
        """The value is one of `values` (literal values: `F("tcp.dport").isin((80, 443))`)."""
        return _cond.Cmp("in", self, lift(tuple(values)))

    def is_(self, value: bool | None) -> _cond.Cond:
        """The value is exactly True, False or None (not merely equal: 1 is not True)."""
        if value is not True and value is not False and value is not None:
            raise AuthorError(f"{self.text()}.is_({show(value)}): is_ takes True, False or None; "
                              f"compare other values with ==")
        return _cond.Cmp("is", self, Lit(value))

    def between(self, low: Any, high: Any) -> _cond.Cond:
        """low <= value <= high (both ends included)."""
        return _cond.Between(self, lift(low), lift(high))

    __hash__ = object.__hash__


@dataclass(frozen=True, eq=False)
class Field(Expr):
    """A field of the frame under test, by dotted path ("tcp.seq"); the path must be in the registry."""

    path: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_info", field_info(self.path))

    @property
    def info(self) -> FieldInfo:
        return self._info  # type: ignore[attr-defined]

    def eval(self, ctx: Context) -> Any:
        if ctx.frame is None:
            raise MissingField(self.path)
        value = ctx.frame.get(self.path)
        if self._info.seq and type(value) is int and 0 <= value < SEQ_MOD:  # type: ignore[attr-defined]
            return SeqNumber(value)
        return value

    def text(self) -> str:
        return self.path


@dataclass(frozen=True, eq=False)
class Var(Expr):
    """A value bound by an earlier step (e.g. the client's ISN)."""

    name: str

    def eval(self, ctx: Context) -> Any:
        try:
            return ctx.bindings[self.name]
        except KeyError:
            raise Unbound(self.name) from None

    def text(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class Fact(Expr):
    """A fact the lab observed outside the capture (a socket state, a return value)."""

    key: str

    def eval(self, ctx: Context) -> Any:
        try:
            return ctx.facts[self.key]
        except KeyError:
            raise MissingField(f"fact {self.key}") from None

    def text(self) -> str:
        return self.key


@dataclass(frozen=True, eq=False)
class Lit(Expr):
    value: Any

    def eval(self, ctx: Context) -> Any:
        return self.value

    def text(self) -> str:
        return show(self.value)

    def is_literal(self) -> bool:
        return True


@dataclass(frozen=True, eq=False)
class Seq(Expr):
    """The value of `inner` as a TCP sequence number (modulo 2**32), so sums on it wrap:
    `Seq(Fact("web.isn")) + 1`."""

    inner: Expr

    def __init__(self, inner: Any) -> None:
        object.__setattr__(self, "inner", lift(inner))

    def eval(self, ctx: Context) -> Any:
        value = self.inner.eval(ctx)
        if value is None:
            raise MissingField(self.inner.text())
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeClash(f"Seq({self.inner.text()}) makes a sequence number of an int, not of {type_name(value)}")
        return SeqNumber(value)

    def text(self) -> str:
        return f"Seq({self.inner.text()})"


_ARITH: dict[str, Callable[[Any, Any], Any]] = {"+": operator.add, "-": operator.sub}
_ARITH_WORDS = {"+": "adds", "-": "subtracts"}


@dataclass(frozen=True, eq=False)
class Arith(Expr):
    """Sum or difference; it wraps modulo 2**32 only when an operand is a SeqNumber."""

    op: str
    left: Expr
    right: Expr

    def eval(self, ctx: Context) -> Any:
        left, right = self.left.eval(ctx), self.right.eval(ctx)
        for side, value in ((self.left, left), (self.right, right)):
            if value is None:  # a field the frame leaves empty (tcp.mss without the option): no value to sum
                raise MissingField(side.text())
        try:
            return _ARITH[self.op](left, right)
        except TypeError:
            raise TypeClash(f"{self.text()} {_ARITH_WORDS[self.op]} {type_name(left)} and {type_name(right)}") from None

    def text(self) -> str:
        right = self.right.text()
        if isinstance(self.right, Arith):  # a - (b + 1) is not a - b + 1
            right = f"({right})"
        return f"{self.left.text()} {self.op} {right}"


def lift(value: Any) -> Expr:
    if isinstance(value, _cond.Cond):
        raise AuthorError(f"the condition {value.text()} was used as a value: a condition can only be "
                          f"listed in match=(...) or checks, or combined with & | ~")
    return value if isinstance(value, Expr) else Lit(value)


def type_name(value: Any) -> str:
    return "int" if isinstance(value, SeqNumber) else "None" if value is None else type(value).__name__


def show(value: Any) -> str:
    """A value as a message shows it, unambiguously: 'ESTABLISHED', b'GET /', (80, 443), None, 1001."""
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, bytes):
        if len(value) <= LONG_BYTES:
            return repr(value)
        return f"{len(value)} bytes starting {value[:SHOWN_BYTES]!r}"
    if isinstance(value, tuple):
        inner = ", ".join(show(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return repr(value)
    return str(value)


F = Field
V = Var

from . import cond as _cond  # noqa: E402 - the conditions comparisons build; cond imports this module
