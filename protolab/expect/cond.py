"""Conditions of the expectation language: yes/no questions about a frame that explain a "no".

    (F("tcp.ack") == V("isn") + 1).explain(ctx)  →  "tcp.ack is 1000, expected isn + 1 = 1001"

A field the frame does not carry makes a condition plainly false (the
student's frame lacks it). A condition that cannot mean anything raises
AuthorError instead, because the lab file is wrong, not the student's code:
used as a truth value (`and`, `or`, `not`, `if`, `0 < x < 5`, `x in (...)`),
comparing a field with a literal of a type the field never has (`F("tcp.dport")
== "80"`), or comparing values whose types cannot be compared when it is
evaluated (bytes < int). Conditions combine with & (all), | (AnyOf) and ~ (not).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import AuthorError
from ..wire.fields import DOCS, NoneType, check_layer
from .expr import TRUTH_FIX, Context, Expr, Field, Lit, TypeClash, Unknowable, show, type_name
from .trace import Frame, MissingField

TCP_FLAG_LETTERS = "FSRPAUEC"


class Cond:
    """A yes/no question about a frame (and the bindings and facts)."""

    def test(self, ctx: Context) -> bool:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def explain(self, ctx: Context) -> str:
        """Why the condition is false, in words; assumes test() was False."""
        return f"not {self.text()}"

    def __bool__(self) -> bool:
        raise AuthorError(f"the condition {self.text()} was used as a truth value (with and, or, not, if, "
                          f"a chained comparison such as 0 < x < 5, or in), which drops conditions silently: {TRUTH_FIX}")

    def __and__(self, other: Cond) -> Cond:
        return All((self, _cond(other, "&")))

    def __or__(self, other: Cond) -> Cond:
        return AnyOf((self, _cond(other, "|")))

    def __invert__(self) -> Cond:
        return Not(self)


def _cond(value: Any, op: str) -> Cond:
    if not isinstance(value, Cond):
        raise AuthorError(f"{op} combines conditions, not {type_name(value)} {show(value)}")
    return value


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
_CMP_WORDS = {"==": "", "!=": "anything but ", "<": "below ", "<=": "at most ", ">": "above ", ">=": "at least ",
              "in": "one of ", "is": ""}
ORDERING = ("<", "<=", ">", ">=")


def _kind(t: type) -> str:
    """What values of type `t` compare with: numbers with numbers, str with str, ..."""
    if issubclass(t, (int, float)):
        return "number"
    for kind in (str, bytes, tuple, NoneType):
        if issubclass(t, kind):
            return kind.__name__
    return "other"


def _author(cond: Cond, reason: str) -> AuthorError:
    return AuthorError(f"the condition {cond.text()} cannot be tested: {reason} (the lab file is wrong, not the student's code)")


@dataclass(frozen=True, eq=False)
class Cmp(Cond):
    op: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if isinstance(self.left, Field) and isinstance(self.right, (Lit, Field)):
            self._check_types(self.left, self.right)

    def _check_types(self, field: Field, other: Lit | Field) -> None:
        """A literal (or field) of a type the field never has makes a condition that can never hold."""
        kinds = {_kind(t) for t in field.info.types}
        if isinstance(other, Field):
            theirs = {_kind(t) for t in other.info.types}
            if not (kinds & theirs) - {"NoneType"}:
                raise _author(self, f"{field.path} is {field.info.type_text()}, {other.path} is {other.info.type_text()} "
                                    f"(see {DOCS})")
            return
        value = other.value
        if self.op == "is":
            if not any(issubclass(t, NoneType if value is None else bool) for t in field.info.types):
                raise _author(self, f"{field.path} is {field.info.type_text()}, never {show(value)} (see {DOCS})")
            return
        values = value if self.op == "in" and isinstance(value, tuple) else (value,)
        for v in values:
            kind = _kind(type(v))
            if kind not in kinds or (self.op in ORDERING and kind == "NoneType"):
                raise _author(self, f"it compares {field.path}, which is {field.info.type_text()} (see {DOCS}), "
                                    f"with {type_name(v)} {show(v)}")

    def test(self, ctx: Context) -> bool:
        try:
            left, right = self.left.eval(ctx), self.right.eval(ctx)
        except MissingField:
            return False
        except TypeClash as exc:
            raise _author(self, str(exc)) from None
        if self.op in ORDERING and (left is None or right is None):
            return False  # a field the frame leaves empty (tcp.mss without the option) is not below anything
        try:
            return bool(_CMP[self.op](left, right))
        except TypeError:
            raise _author(self, f"it compares {type_name(left)} {show(left)} with {type_name(right)} {show(right)}") from None

    def text(self) -> str:
        return f"{self.left.text()} {self.op} {self.right.text()}"

    def explain(self, ctx: Context) -> str:
        try:
            actual = self.left.eval(ctx)
            expected = self.right.eval(ctx)
        except MissingField as exc:
            return _missing(exc.args[0], ctx.frame)
        except TypeClash as exc:
            raise _author(self, str(exc)) from None
        return f"{self.left.text()} is {show(actual)}, expected {_CMP_WORDS[self.op]}{_wanted(self.right, expected)}"


def _wanted(expr: Expr, value: Any) -> str:
    return show(value) if expr.is_literal() else f"{expr.text()} = {show(value)}"


@dataclass(frozen=True, eq=False)
class Between(Cond):
    """low <= value <= high: `F("ip.ttl").between(1, 64)`."""

    value: Expr
    low: Expr
    high: Expr

    def __post_init__(self) -> None:
        for bound in (self.low, self.high):
            Cmp("<=", self.value, bound)  # the same type check as a comparison

    def test(self, ctx: Context) -> bool:
        return Cmp(">=", self.value, self.low).test(ctx) and Cmp("<=", self.value, self.high).test(ctx)

    def text(self) -> str:
        return f"{self.value.text()} between {self.low.text()} and {self.high.text()}"

    def explain(self, ctx: Context) -> str:
        try:
            actual, low, high = self.value.eval(ctx), self.low.eval(ctx), self.high.eval(ctx)
        except MissingField as exc:
            return _missing(exc.args[0], ctx.frame)
        except TypeClash as exc:
            raise _author(self, str(exc)) from None
        return f"{self.value.text()} is {show(actual)}, expected between {_wanted(self.low, low)} and {_wanted(self.high, high)}"


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

    def __post_init__(self) -> None:
        if not isinstance(self.flags, str) or set(self.flags) - set(TCP_FLAG_LETTERS):
            raise AuthorError(f"Flags({self.flags!r}): TCP flags are letters of {TCP_FLAG_LETTERS!r} "
                              f"(F FIN, S SYN, R RST, P PSH, A ACK, U URG, E ECE, C CWR), e.g. Flags('SA')")

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
    """The frame carries this layer (e.g. "arp", "tcp"); the name must be one the decoder gives."""

    name: str

    def __post_init__(self) -> None:
        check_layer(self.name)

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
