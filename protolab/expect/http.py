"""Expectations over HTTP/1.1 messages: the n-th request on a connection, the response to it.

    Request("GET the page", number=1, match=(SentBy("client"),), checks=(
        Check(F("http.method") == "GET", "the page is fetched with GET"),
        Check(Header("host") == "web", "an HTTP/1.1 request names the server in Host"),
    )),
    Response("the page", to="GET the page", checks=(
        Check(F("http.status") == 200, "web has the page"),
    ), bind={"etag": Header("etag")}),
    Request("HEAD", number=2, on="GET the page", checks=(Check(F("http.method") == "HEAD", "..."),)),

A Request or Response is a Step whose candidates are the trace's HTTP messages
(`Trace.messages`, read once from the reassembled TCP streams by
protolab.wire.http) instead of its frames. Each candidate is a `MessageView`: a
Frame whose one layer, `http`, holds the fields of docs/fields.md ("Fields of an
HTTP message"); its number is the frame that carried the message's last byte,
so steps order as usual ("after the previous step's frame"), and a frame Step
may follow a message step. A verdict names a message as "request 2 of
connection 1 (HEAD /index.html HTTP/1.1, frame #10)" and marks all its frames.

    number=n       the n-th request (response) of its connection
    on="step"      on the same connection as the message of that step (SameConnection)
    to="step"      (Response) the final response that answers that step's request (AnswersTo)
    wellformed     (default True) the message must read as regular HTTP/1.1: what
                   wire/http.py found wrong with it (a bare LF, a head that never
                   ends, a body shorter than Content-Length) fails the step, in its words

Every message step binds "<name>.connection" and "<name>.number" (plain ints) for
the steps after it. When no response answers a `to=` request, or a connection
carries fewer requests than `number=` asks for, the miss says what the stream
holds instead ("no response to request 1 ...: web sent nothing after the
handshake and closed the connection (FIN, frame #12) 1.00 s after the
request's last byte; the request never ended: ...").

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import AuthorError
from .cond import Cmp, Cond
from .expr import Context, Expr, Field, Unbound, lift, show
from .model import Check, Step
from .trace import Frame, MissingField

if TYPE_CHECKING:
    from ..wire.http import HttpConnection, Message
    from .trace import Trace

_START = re.compile(r"([A-Za-z]+) (\S+) HTTP/(\d\.\d)")  # a start line h11 could not take, read for its parts
HEAD_PEEK = 8192  # bytes of a message read for its start line


@dataclass(frozen=True)
class MessageView(Frame):
    """One HTTP message as an expectation sees it: a Frame with an `http` layer."""

    message: Any = None  # protolab.wire.http.Message
    http_connection: Any = None  # protolab.wire.http.HttpConnection
    connection: int = 0  # its number in the trace, from 1

    @property
    def label(self) -> str:
        frames = self.message.frames
        where = (f"frame #{frames[0]}" if len(frames) == 1 else f"frames #{frames[0]}–#{frames[-1]}") if frames \
            else "no frame"
        return f"{self.message.kind} {self.message.number} of connection {self.connection} ({self.summary}, {where})"

    @property
    def numbers(self) -> tuple[int, ...]:
        return tuple(self.message.frames) or (self.index,)


def message_views(trace: Trace) -> tuple[MessageView, ...]:
    """Every HTTP message of the trace's TCP connections, in the order their last frames came."""
    out = []
    for number, conn in enumerate(trace.http, start=1):
        for message in (*conn.requests, *conn.responses):
            out.append(_view(trace, conn, number, message))
    order = {"request": 0, "response": 1}
    return tuple(sorted(out, key=lambda v: (v.index, v.connection, order[v.message.kind], v.message.number)))


def _view(trace: Trace, conn: HttpConnection, number: int, message: Message) -> MessageView:
    stream = conn.tcp.upstream if message.kind == "request" else conn.tcp.downstream
    last = message.last_frame or (conn.tcp.frames[-1] if conn.tcp.frames else 1)
    if not message.complete and message.first_frame is not None:
        last = message.first_frame  # what cannot be framed runs to the stream's end: it came with its first bytes
    first = message.first_frame or last
    end_frame, first_frame = trace[last], trace[first]
    start_line = _start_line(stream, message)
    fields = _fields(conn, number, message, start_line)
    message = replace(message, method=fields["method"], target=fields["target"], version=fields["version"])
    sender = first_frame.sender if first_frame.sender not in (None, "?") else trace.addresses.get(stream.src.address)
    receiver = trace.addresses.get(stream.dst.address) or end_frame.receiver
    return MessageView(index=last, time=end_frame.time, link=end_frame.link, sender=sender, receiver=receiver,
                       layers=MappingProxyType({"http": MappingProxyType(fields)}),
                       summary=_summary(message, start_line), link_known=end_frame.link_known,
                       message=message, http_connection=conn, connection=number)


def _start_line(stream, message: Message) -> str:
    try:
        head = stream.read(message.start, min(message.end, message.start + HEAD_PEEK))
    except ValueError:
        return ""
    return head.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")


def _fields(conn: HttpConnection, number: int, message: Message, start_line: str) -> dict[str, Any]:
    method, target, version, status, reason = message.method, message.target, message.version, message.status, \
        message.reason
    if message.kind == "request" and method is None:  # h11 refused the head: its start line may still say these
        parts = _START.fullmatch(start_line)
        if parts:
            method, target, version = parts.groups()
    length = message.header("content-length")
    return {
        "kind": message.kind, "number": message.number, "connection": number,
        "client": str(conn.client), "server": str(conn.server), "start_line": start_line,
        "method": method, "target": target, "version": version, "status": status, "reason": reason,
        "headers": tuple(message.headers),
        "content_length": int(length) if length is not None and length.strip().isdigit() else None,
        "chunked": message.chunked, "body": message.body, "body_len": message.body_len,
        "length": message.end - message.start, "segments": message.segments,
        "first_frame": message.first_frame, "last_frame": message.last_frame,
        "complete": message.complete, "problems": tuple(message.problems), "keep_alive": message.keep_alive,
        "answers": message.answers,
    }


def _summary(message: Message, start_line: str) -> str:
    if message.kind == "request":
        line = f"{message.method} {message.target} HTTP/{message.version}" if message.method else None
        text = line or (f"unreadable: {start_line[:60]!r}" if start_line else "unreadable")
        return text + (f", {message.body_len} B body" if message.body_len else "")
    if message.status is None:
        return f"unreadable: {start_line[:60]!r}" if start_line else "unreadable"
    return f"{message.status} {message.reason}, {message.body_len} B body"


# -- values and conditions ------------------------------------------------------------------------


class Header(Expr):
    """A header of the message under test, by name in any case: its value (several: joined
    by ", "), None when the message has none. `Header("etag") == V("etag")`."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
            raise AuthorError(f"Header({name!r}): a header name is a token such as 'content-length'")
        self.name = name

    def eval(self, ctx: Context) -> str | None:
        if ctx.frame is None:
            raise MissingField(f"{self.name} header")
        values = [v for k, v in ctx.frame.get("http.headers") if k.lower() == self.name.lower()]
        return ", ".join(values) if values else None

    def text(self) -> str:
        return f"header {self.name}"

    def present(self) -> Cond:
        """The message has this header (whatever its value)."""
        return _HeaderCmp("is not", self, lift(None))

    def __eq__(self, other: Any) -> Cond:  # type: ignore[override]
        return _HeaderCmp("==", self, lift(other))

    def __ne__(self, other: Any) -> Cond:  # type: ignore[override]
        return _HeaderCmp("!=", self, lift(other))

    def isin(self, values: Any) -> Cond:
        return _HeaderCmp("in", self, lift(tuple(values)))

    __hash__ = Expr.__hash__


class _HeaderCmp(Cmp):
    """A comparison of a header that says "the request has no Host header" when it is absent."""

    def test(self, ctx: Context) -> bool:
        if self.op == "is not":
            try:
                return self.left.eval(ctx) is not None
            except MissingField:
                return False
        return super().test(ctx)

    def text(self) -> str:
        return f"has {self.left.text()}" if self.op == "is not" else super().text()

    def explain(self, ctx: Context) -> str:
        try:
            value = self.left.eval(ctx)
        except MissingField:
            return "it is not an HTTP message"
        if value is None and self.op != "!=":
            kind = ctx.frame.get("http.kind") if ctx.frame is not None else "message"
            unread = ctx.frame.get("http.problems") if not ctx.frame.get("http.headers") else ()
            if unread:
                return f"the {kind}'s headers could not be read ({unread[-1]})"
            return f"the {kind} has no {_title(self.left.name)} header"  # type: ignore[attr-defined]
        return super().explain(ctx)


_SPELLED = {"etag": "ETag", "www-authenticate": "WWW-Authenticate", "te": "TE"}


def _title(name: str) -> str:
    """A header name as RFCs spell it: "content-length" → "Content-Length", "etag" → "ETag"."""
    return _SPELLED.get(name.lower()) or "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _bound(ctx: Context, key: str) -> Any:
    try:
        return ctx.bindings[key]
    except KeyError:
        raise Unbound(key) from None


def _http(ctx: Context, name: str) -> Any:
    if ctx.frame is None:
        raise MissingField(f"http.{name}")
    return ctx.frame.get(f"http.{name}")


@dataclass(frozen=True, eq=False)
class Nth(Cond):
    """The message is the n-th of its kind on its connection (from 1)."""

    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 1:
            raise AuthorError(f"number={self.n!r}: the n-th message of a connection counts from 1")

    def test(self, ctx: Context) -> bool:
        try:
            return _http(ctx, "number") == self.n
        except MissingField:
            return False

    def text(self) -> str:
        return f"the {ordinal(self.n)} on its connection"

    def explain(self, ctx: Context) -> str:
        try:
            kind, have = _http(ctx, "kind"), _http(ctx, "number")
        except MissingField:
            return "it is not an HTTP message"
        return f"it is the {ordinal(have)} {kind} of its connection, expected the {ordinal(self.n)}"


@dataclass(frozen=True, eq=False)
class SameConnection(Cond):
    """The message is on the TCP connection of the message an earlier step matched."""

    step: str

    def test(self, ctx: Context) -> bool:
        want = _bound(ctx, f"{self.step}.connection")
        try:
            return _http(ctx, "connection") == want
        except MissingField:
            return False

    def text(self) -> str:
        return f"on the connection of '{self.step}'"

    def explain(self, ctx: Context) -> str:
        try:
            have = _http(ctx, "connection")
            ends = f"{_http(ctx, 'client')} → {_http(ctx, 'server')}"
        except MissingField:
            return "it is not an HTTP message"
        want = ctx.bindings.get(f"{self.step}.connection")
        return f"it is on connection {have} ({ends}), not on connection {want}, the one of '{self.step}'"


@dataclass(frozen=True, eq=False)
class AnswersTo(Cond):
    """The response answers the request an earlier step matched (same connection, its number)."""

    step: str

    def test(self, ctx: Context) -> bool:
        conn, number = _bound(ctx, f"{self.step}.connection"), _bound(ctx, f"{self.step}.number")
        try:
            return _http(ctx, "connection") == conn and _http(ctx, "answers") == number
        except MissingField:
            return False

    def text(self) -> str:
        return f"answers '{self.step}'"

    def explain(self, ctx: Context) -> str:
        try:
            have, answers = _http(ctx, "connection"), _http(ctx, "answers")
        except MissingField:
            return "it is not an HTTP message"
        conn, number = ctx.bindings.get(f"{self.step}.connection"), ctx.bindings.get(f"{self.step}.number")
        if have != conn:
            return f"it is on connection {have}, not on connection {conn}, the one of '{self.step}'"
        if answers is None:
            return "it answers no request the capture holds"
        return f"it answers request {answers}, not request {number} ('{self.step}')"


@dataclass(frozen=True, eq=False)
class WellFormed(Cond):
    """wire/http.py found nothing wrong with the message (its `problems` are empty)."""

    def test(self, ctx: Context) -> bool:
        try:
            return not _http(ctx, "problems")
        except MissingField:
            return False

    def text(self) -> str:
        return "well-formed HTTP/1.1"

    def explain(self, ctx: Context) -> str:
        try:
            return "; ".join(_http(ctx, "problems"))
        except MissingField:
            return "it is not an HTTP message"


WELLFORMED_SAYS = "it must read as regular HTTP/1.1"


# -- the entries ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _MessageStep(Step):
    """A Step over the trace's HTTP messages of one kind (Request or Response)."""

    match: tuple[Cond, ...] = ()
    number: int | None = None
    on: str | None = None
    wellformed: bool = True
    kind = "message"

    def __post_init__(self) -> None:
        extra: list[Cond] = []
        if self.number is not None:
            extra.append(Nth(self.number))
        if self.on is not None:
            extra.append(SameConnection(_step_name(self.on, "on")))
        extra += self._own()
        object.__setattr__(self, "match", (*extra, *tuple(self.match)))
        if self.wellformed:
            object.__setattr__(self, "checks", (Check(WellFormed(), WELLFORMED_SAYS), *self.checks))
        super().__post_init__()
        binders = dict(self._binders)  # type: ignore[attr-defined]
        binders.setdefault(f"{self.name}.connection", Field("http.connection"))
        binders.setdefault(f"{self.name}.number", Field("http.number"))
        object.__setattr__(self, "_binders", binders)

    def _own(self) -> list[Cond]:
        return []

    @property
    def noun(self) -> str:
        return f"HTTP {self.kind}"

    def pool(self, trace: Trace) -> tuple[Frame, ...]:
        """The candidates: the trace's messages of this kind."""
        return tuple(v for v in trace.messages if v.message.kind == self.kind)

    def absent(self, trace: Trace, bindings: Mapping[str, Any]) -> str | None:
        """Why no message can match at all, when the stream says so (else None: the nearest miss explains)."""
        return None


@dataclass(frozen=True, eq=False)
class Request(_MessageStep):
    """An HTTP request that must appear (see the module's notes)."""

    kind = "request"

    def absent(self, trace: Trace, bindings: Mapping[str, Any]) -> str | None:
        if self.number is None or self.on is None:
            return None
        number = bindings.get(f"{self.on}.connection")
        if not isinstance(number, int) or not 1 <= number <= len(trace.http):
            return None
        conn = trace.http[number - 1]
        if len(conn.requests) >= self.number:
            return None
        sent = ", ".join(_line(trace, conn, m) for m in conn.requests) or "none"
        text = (f"connection {number} ({conn.client} → {conn.server}) carries {len(conn.requests)} "
                f"request{'' if len(conn.requests) == 1 else 's'} ({sent}), no {ordinal(self.number)} one")
        return f"{text}: {_stream_end(trace, conn, 'request')}"


@dataclass(frozen=True, eq=False)
class Response(_MessageStep):
    """An HTTP response that must appear; `to` names the Request step it answers."""

    to: str | None = None
    kind = "response"

    def _own(self) -> list[Cond]:
        return [AnswersTo(_step_name(self.to, "to"))] if self.to is not None else []

    def absent(self, trace: Trace, bindings: Mapping[str, Any]) -> str | None:
        if self.to is None:
            return None
        number, asked = bindings.get(f"{self.to}.connection"), bindings.get(f"{self.to}.number")
        if not isinstance(number, int) or not 1 <= number <= len(trace.http) or not isinstance(asked, int):
            return None
        conn = trace.http[number - 1]
        if asked > len(conn.requests) or any(r.answers == asked for r in conn.responses if not r.informational):
            return None
        request = conn.requests[asked - 1]
        text = f"no response to request {asked} ({_line(trace, conn, request)}): {_stream_end(trace, conn, 'response')}"
        waited = _waited(trace, conn, request)
        if waited:
            text += f", {waited}"
        if request.problems:
            text += f"; the request itself: {'; '.join(request.problems)}"
        return text


def _step_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise AuthorError(f"{what}= names an earlier Request or Response step, not {show(value)}")
    return value


def _line(trace: Trace, conn: HttpConnection, message: Message) -> str:
    stream = conn.tcp.upstream if message.kind == "request" else conn.tcp.downstream
    return _start_line(stream, message) or "nothing readable"


def _stream_end(trace: Trace, conn: HttpConnection, kind: str) -> str:
    """What the side that sends `kind` messages did after its last one, in words."""
    tcp = conn.tcp
    stream = tcp.upstream if kind == "request" else tcp.downstream
    end = tcp.client if kind == "request" else tcp.server
    side = trace.addresses.get(end.address) or f"the {'client' if kind == 'request' else 'server'}"
    sent = conn.requests if kind == "request" else conn.responses
    after = f"{kind} {sent[-1].number}" if sent else "the handshake" if tcp.handshake else "the capture's start"
    more = stream.end - (sent[-1].end if sent else 0)
    text = f"{side} sent nothing after {after}" if more <= 0 else f"{side} sent {more} more bytes after {after}"
    if stream.fin_frame is not None:
        text += f" and closed the connection (FIN, frame #{stream.fin_frame})"
        if stream.rst_frame is not None:
            text += f", then reset it (RST, frame #{stream.rst_frame})"
    elif stream.rst_frame is not None:
        text += f" and reset the connection (RST, frame #{stream.rst_frame})"
    else:
        text += "; the capture ends there"
    return text


def _waited(trace: Trace, conn: HttpConnection, request: Message) -> str:
    """When the server closed: so long after the request's last byte, or before the request came."""
    down = conn.tcp.downstream
    end = down.fin_frame if down.fin_frame is not None else down.rst_frame
    if end is None or request.last_frame is None:
        return ""
    if end < (request.first_frame or request.last_frame):
        before = max((r.last_frame for r in conn.responses if r.last_frame is not None and r.last_frame < end),
                     default=None)
        if before is None:
            return "before the request came"
        return f"{_duration(trace[end].time - trace[before].time)} after its last response, before the request came"
    return f"{_duration(trace[end].time - trace[request.last_frame].time)} after the request's last byte"


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


__all__ = ["AnswersTo", "Header", "MessageView", "Nth", "Request", "Response", "SameConnection", "WellFormed",
           "message_views", "ordinal"]
