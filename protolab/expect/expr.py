"""A tiny expression language for expectations, able to explain itself.

    F("tcp.ack") == V("isn") + 1

builds a condition that, evaluated on a frame with bindings, is true or false
and can say in words why it failed: "tcp.ack is 1000, expected isn + 1 = 1001".
Expressions are data (frozen, comparable by identity only because == builds a
condition), so expectations can be printed and stored.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .trace import Frame, MissingField


class Unbound(LookupError):
    """An expression uses a variable no earlier step has bound."""


class Unknowable(LookupError):
    """The capture cannot answer the question (e.g. who sent a frame of a raw-IP capture)."""


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
    def __eq__(self, other: Any) -> Cond:  # type: ignore[override]
        return Cmp("==", self, lift(other))

    def __ne__(self, other: Any) -> Cond:  # type: ignore[override]
        return Cmp("!=", self, lift(other))

    def __lt__(self, other: Any) -> Cond:
        return Cmp("<", self, lift(other))

    def __le__(self, other: Any) -> Cond:
        return Cmp("<=", self, lift(other))

    def __gt__(self, other: Any) -> Cond:
        return Cmp(">", self, lift(other))

    def __ge__(self, other: Any) -> Cond:
        return Cmp(">=", self, lift(other))

    def isin(self, values: Any) -> Cond:
        return Cmp("in", self, lift(tuple(values)))

    def is_(self, value: bool | None) -> Cond:
        """The value is exactly True, False or None (not merely equal: 1 is not True)."""
        return Cmp("is", self, lift(value))

    __hash__ = object.__hash__


@dataclass(frozen=True, eq=False)
class Field(Expr):
    """A field of the frame under test, by dotted path ("tcp.seq")."""

    path: str

    def eval(self, ctx: Context) -> Any:
        if ctx.frame is None:
            raise MissingField(self.path)
        return ctx.frame.get(self.path)

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
        return repr(self.value) if isinstance(self.value, str) else str(self.value)

    def is_literal(self) -> bool:
        return True


_ARITH: dict[str, Callable[[Any, Any], Any]] = {"+": operator.add, "-": operator.sub}
SEQ_MOD = 2**32


@dataclass(frozen=True, eq=False)
class Arith(Expr):
    """Sum or difference; integer results wrap modulo 2**32 like TCP sequence numbers."""

    op: str
    left: Expr
    right: Expr

    def eval(self, ctx: Context) -> Any:
        value = _ARITH[self.op](self.left.eval(ctx), self.right.eval(ctx))
        return value % SEQ_MOD if isinstance(value, int) and not isinstance(value, bool) else value

    def text(self) -> str:
        right = self.right.text()
        if isinstance(self.right, Arith):  # a - (b + 1) is not a - b + 1
            right = f"({right})"
        return f"{self.left.text()} {self.op} {right}"


def lift(value: Any) -> Expr:
    return value if isinstance(value, Expr) else Lit(value)


class Cond:
    """A yes/no question about a frame (and the bindings and facts)."""

    def test(self, ctx: Context) -> bool:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def explain(self, ctx: Context) -> str:
        """Why the condition is false, in words; assumes test() was False."""
        return f"not {self.text()}"

    def __and__(self, other: Cond) -> Cond:
        return All((self, other))

    def __or__(self, other: Cond) -> Cond:
        return AnyOf((self, other))

    def __invert__(self) -> Cond:
        return Not(self)


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
    "is": operator.is_,
}
_CMP_WORDS = {"==": "", "!=": "anything but ", "<": "below ", "<=": "at most ", ">": "above ", ">=": "at least ", "in": "one of ", "is": ""}


@dataclass(frozen=True, eq=False)
class Cmp(Cond):
    op: str
    left: Expr
    right: Expr

    def test(self, ctx: Context) -> bool:
        try:
            return bool(_CMP[self.op](self.left.eval(ctx), self.right.eval(ctx)))
        except MissingField:
            return False
        except TypeError:
            return False

    def text(self) -> str:
        return f"{self.left.text()} {self.op} {self.right.text()}"

    def explain(self, ctx: Context) -> str:
        try:
            actual = self.left.eval(ctx)
            expected = self.right.eval(ctx)
        except MissingField as exc:
            return _missing(exc.args[0], ctx.frame)
        except TypeError:
            return f"{self.text()} cannot be computed on these values"
        wanted = _show(expected)
        if not self.right.is_literal():
            wanted = f"{self.right.text()} = {wanted}"
        return f"{self.left.text()} is {_show(actual)}, expected {_CMP_WORDS[self.op]}{wanted}"


@dataclass(frozen=True, eq=False)
class All(Cond):
    parts: tuple[Cond, ...]

    def test(self, ctx: Context) -> bool:
        return all(p.test(ctx) for p in self.parts)

    def text(self) -> str:
        return " and ".join(p.text() for p in self.parts)

    def explain(self, ctx: Context) -> str:
        return "; ".join(p.explain(ctx) for p in self.parts if not p.test(ctx))


@dataclass(frozen=True, eq=False)
class AnyOf(Cond):
    """Either of these (`Flags("A") | Flags("FA")`): for what TCP may legally do in more than one way."""

    parts: tuple[Cond, ...]

    def test(self, ctx: Context) -> bool:
        unknown: Unknowable | None = None
        for part in self.parts:
            try:
                if part.test(ctx):
                    return True
            except Unknowable as exc:
                unknown = exc
        if unknown is not None:
            raise unknown
        return False

    def text(self) -> str:
        return " or ".join(f"({p.text()})" if isinstance(p, All) else p.text() for p in self.parts)

    def explain(self, ctx: Context) -> str:
        return ", nor ".join(p.explain(ctx) for p in self.parts)


@dataclass(frozen=True, eq=False)
class Not(Cond):
    inner: Cond

    def test(self, ctx: Context) -> bool:
        return not self.inner.test(ctx)  # an Unknowable inner stays unknowable

    def text(self) -> str:
        return f"not ({self.inner.text()})"

    def explain(self, ctx: Context) -> str:
        return f"{self.inner.text()} holds, expected it not to"


@dataclass(frozen=True, eq=False)
class Flags(Cond):
    """TCP flags: exactly `flags`, or at least them when `exact` is False."""

    flags: str
    exact: bool = True

    def test(self, ctx: Context) -> bool:
        if ctx.frame is None or not ctx.frame.has("tcp"):
            return False
        have = set(ctx.frame.get("tcp.flags"))
        return have == set(self.flags) if self.exact else set(self.flags) <= have

    def text(self) -> str:
        return f"tcp.flags {'==' if self.exact else 'has'} {self.flags}"

    def explain(self, ctx: Context) -> str:
        if ctx.frame is None or not ctx.frame.has("tcp"):
            cut = _cut(ctx.frame)
            return f"{cut}: its TCP header was cut off" if cut and ctx.frame.has("ip") else "it is not a TCP segment"
        have = ctx.frame.get("tcp.flags") or "none"
        return f"flags are {have}, expected {'exactly ' if self.exact else 'at least '}{self.flags}"


@dataclass(frozen=True, eq=False)
class Layer(Cond):
    """The frame carries this layer (e.g. "arp", "tcp")."""

    name: str

    def test(self, ctx: Context) -> bool:
        return ctx.frame is not None and ctx.frame.has(self.name)

    def text(self) -> str:
        return f"has {self.name}"

    def explain(self, ctx: Context) -> str:
        cut = _cut(ctx.frame)
        return f"{cut}: no {self.name.upper()} header is left" if cut else f"it is not {self.name.upper()}"


@dataclass(frozen=True, eq=False)
class SentBy(Cond):
    """The frame was put on its link by this node (the L2 sender)."""

    node: str

    def test(self, ctx: Context) -> bool:
        if ctx.frame is None:
            return False
        if ctx.frame.sender in UNKNOWN_SENDERS:
            raise Unknowable(f"the capture cannot tell whether {self.node} sent frame #{ctx.frame.index}")
        return ctx.frame.sender == self.node

    def text(self) -> str:
        return f"sent by {self.node}"

    def explain(self, ctx: Context) -> str:
        sender = ctx.frame.sender if ctx.frame else None
        if sender in UNKNOWN_SENDERS:
            return f"the capture cannot tell whether {self.node} sent it"
        return f"it was sent by {sender}, not {self.node}"


@dataclass(frozen=True, eq=False)
class OnLink(Cond):
    link: str

    def test(self, ctx: Context) -> bool:
        if ctx.frame is not None and not ctx.frame.link_known:
            raise Unknowable(f"the capture does not say which of the lab's links frame #{ctx.frame.index} was on "
                             f"(it was captured on {ctx.frame.link}; say it with --as {self.link}={ctx.frame.link})")
        return ctx.frame is not None and ctx.frame.link == self.link

    def text(self) -> str:
        return f"on {self.link}"

    def explain(self, ctx: Context) -> str:
        return f"it was on {ctx.frame.link if ctx.frame else '?'}, not {self.link}"


UNKNOWN_SENDERS = (None, "?")  # a frame whose sender neither a comment, a MAC nor a role mapping names


def _missing(what: str, frame: Frame | None = None) -> str:
    if what.startswith("fact "):  # raised by Fact.eval
        return f"the lab did not report {what[5:]}"
    cut = _cut(frame)
    return f"{cut}: its {what} was cut off" if cut else f"the frame has no {what}"


def _cut(frame: Frame | None) -> str:
    """"frame #3 was captured only up to 40 bytes (of 74)", for a frame the capture cut short."""
    info = frame.layers.get("frame") if frame is not None else None
    if not info or not info.get("cut"):
        return ""
    return f"frame #{frame.index} was captured only up to {info['caplen']} bytes (of {info['len']})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return repr(value) if len(value) <= 40 else f"{len(value)} bytes"
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value)
    return str(value)


F = Field
V = Var
