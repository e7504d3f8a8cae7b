"""HTTP/1.1 messages read (with h11) from a TCP connection's reassembled streams.

    from protolab.wire import http
    for conn in http.connections(trace.frames):     # or http.parse(tcp_connection)
        ex = conn.exchange(1)                        # the first request and its response (from 1, as frames)
        ex.request.method, ex.request.target         # "GET", "/index.html"
        ex.response.status, ex.response.header("etag")
        ex.response.body_len, ex.response.segments   # 1270, 2
        ex.response.first_frame, ex.response.last_frame
        ex.response.problems                         # () when it was read whole and regular

API:
- `connections(frames, port=None) -> list[HttpConnection]`: every TCP connection of the frames
  (to that server port), read as HTTP.
- `parse(conn: streams.Connection) -> HttpConnection`: one connection.
- `HttpConnection`: `client`, `server`, `requests`, `responses` (1xx included), `exchanges`,
  `exchange(n)` (from 1), `problems` (what stopped the reading), `tcp` (the streams.Connection).
- `Message` (frozen): `kind` ("request"/"response"), `number` (from 1 per kind), `method`,
  `target`, `version`, `status`, `reason`, `headers` (as received: names as sent, in order),
  `header(name)` (case-insensitive, several values joined by ", "), `header_values(name)`,
  `body` (chunked encoding removed), `body_len`, `chunked`, `start`/`end` (its bytes in the
  stream, half-open), `frames` (the frames whose bytes make it), `first_frame`,
  `last_frame`, `segments`, `retransmissions`, `complete`, `problems`, `keep_alive`,
  `answers` (a response: the number of the request it answers).
- `Exchange` (frozen): `number`, `request`, `response` (the final one), `informational` (1xx).

How it reads: the client's stream is read as requests one after the other (pipelined
or not) and the server's as responses, each by a fresh h11 connection on the bytes
left after the previous message, so no state of ours is invented. The n-th final
response answers the n-th request: h11 is told that request's method (HEAD: no
body), and knows that 1xx, 204 and 304 have no body and that a response without
Content-Length or chunked runs until the server closes. The stream's FIN (or RST)
is the close. A message that says `Connection: close` (or an HTTP/1.0 one
without `Connection: keep-alive`) is the last one its side may send; a 101
(Switching Protocols) ends the HTTP/1.1 part (it is in its exchange's
`informational`). Blank lines before a request are skipped (RFC 9112 2.2).

What cannot be read is said in `problems`, in plain words: an h11 error
("Content-Length says 120 but the connection closed after 80 body bytes"), a hole
in the stream ("the stream has a hole at bytes 1448–2895 (never captured), so the
response cannot be read whole"), a capture that ends mid-message. h11 accepts a
bare LF as a line end; that is a problem too (RFC 9112 wants CRLF), though the
message is read. After a message that could not be read, the rest of its stream
cannot be framed and is not read (it is not guessed): `HttpConnection.problems`
says so.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from typing import Iterable

import h11

from . import streams
from .streams import Connection, Endpoint, FrameLike, Stream

FIRST_CHUNK, MAX_CHUNK = 4096, 1 << 20  # bytes fed to h11 at a time: doubled while a message goes on
MAX_HEAD = 1 << 20  # a head longer than this is refused (h11's limit on an incomplete event)


@dataclass(frozen=True)
class Message:
    """One HTTP request or response, as received."""

    kind: str  # "request" or "response"
    number: int  # the n-th of its kind on the connection, from 1
    start: int  # its bytes in the stream: [start, end)
    end: int
    frames: tuple[int, ...]  # frames whose bytes make it, in frame order
    retransmissions: tuple[int, ...] = ()  # frames that carried its bytes again
    method: str | None = None
    target: str | None = None
    version: str | None = None  # "1.1"
    status: int | None = None
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    chunked: bool = False
    complete: bool = True  # read from its first byte to its last
    problems: tuple[str, ...] = ()
    answers: int | None = None  # a response: the number of the request it answers

    @property
    def first_frame(self) -> int | None:
        return self.frames[0] if self.frames else None

    @property
    def last_frame(self) -> int | None:
        return self.frames[-1] if self.frames else None

    @property
    def segments(self) -> int:
        return len(self.frames)

    @property
    def body_len(self) -> int:
        return len(self.body)

    @property
    def informational(self) -> bool:
        return self.status is not None and 100 <= self.status < 200

    def header_values(self, name: str) -> tuple[str, ...]:
        name = name.lower()
        return tuple(v for k, v in self.headers if k.lower() == name)

    def header(self, name: str) -> str | None:
        """The header's value (several: joined by ", "), None if absent; the name in any case."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    @property
    def keep_alive(self) -> bool:
        """Whether its side may send another message after it (HTTP/1.1: unless "close";
        HTTP/1.0: only with "keep-alive")."""
        tokens = {t.strip().lower() for v in self.header_values("connection") for t in v.split(",")}
        if self.version == "1.0":
            return "keep-alive" in tokens and "close" not in tokens
        return "close" not in tokens

    def __str__(self) -> str:
        if self.kind == "request":
            line = f"{self.method} {self.target} HTTP/{self.version}" if self.method else "unreadable request"
        else:
            line = f"HTTP/{self.version} {self.status} {self.reason}" if self.status else "unreadable response"
        return f"{line} (bytes {self.start}–{self.end - 1}, frames {_frames_text(self.frames)})"


@dataclass(frozen=True)
class Exchange:
    """A request and the final response that answers it (either may be missing)."""

    number: int
    request: Message | None
    response: Message | None
    informational: tuple[Message, ...] = ()


@dataclass(frozen=True)
class HttpConnection:
    tcp: Connection
    requests: tuple[Message, ...]
    responses: tuple[Message, ...]  # in order, 1xx included
    exchanges: tuple[Exchange, ...]
    problems: tuple[str, ...]  # what stopped a stream being read to its end

    @property
    def client(self) -> Endpoint:
        return self.tcp.client

    @property
    def server(self) -> Endpoint:
        return self.tcp.server

    def exchange(self, n: int) -> Exchange:
        """The n-th exchange, from 1."""
        if not 1 <= n <= len(self.exchanges):
            raise IndexError(f"no exchange #{n} (the connection {self.client} → {self.server} has "
                             f"{len(self.exchanges)})")
        return self.exchanges[n - 1]


def connections(frames: Iterable[FrameLike], port: int | None = None) -> list[HttpConnection]:
    """Every TCP connection of `frames` (to server port `port`, if given), read as HTTP;
    a connection with no data has no messages."""
    return [parse(c) for c in streams.connections(frames) if port is None or c.server.port == port]


def parse(conn: Connection) -> HttpConnection:
    problems: list[str] = []
    requests = _read(conn.upstream, "request", [], problems)
    asked = [(r.method, r.header("upgrade"), r.keep_alive) for r in requests]
    responses = _read(conn.downstream, "response", asked, problems)
    exchanges, finals, info = [], [], {}
    for r in responses:
        if r.informational:
            info.setdefault(r.answers, []).append(r)
        else:
            finals.append(r)
    for n in range(1, max(len(requests), len(finals)) + 1):
        exchanges.append(Exchange(n, requests[n - 1] if n <= len(requests) else None,
                                  finals[n - 1] if n <= len(finals) else None, tuple(info.get(n, ()))))
    return HttpConnection(conn, tuple(requests), tuple(responses), tuple(exchanges), tuple(problems))


def _read(stream: Stream, kind: str, asked: list[tuple[str | None, str | None, bool]],
          problems: list[str]) -> list[Message]:
    """The messages of one direction, until its end or the first one that cannot be read;
    `asked`: (method, Upgrade header, keep-alive) of each request, for the responses."""
    data = stream.data()
    hole = next((h for h in stream.holes if h.start == len(data)), None)
    closed = hole is None and (stream.fin is not None or stream.rst is not None)
    last = False  # the previous message said it was the last of its side
    out: list[Message] = []
    pos, answering = 0, 1
    while True:
        skipped = _blank_lines(data, pos) if kind == "request" else 0  # RFC 9112 2.2: ignore them before a request
        pos += skipped
        if pos >= len(data):
            if hole is not None:
                out.append(_unreadable(stream, kind, len(out) + 1, pos, hole))
                problems.append(f"the {_side(kind)}'s stream has a hole at bytes {hole.start}–{hole.end - 1}"
                                f" (never captured): nothing after it can be read")
            break
        if last:
            problems.append(f"{len(data) - pos} bytes follow {kind} {out[-1].number}, which was the last its"
                            f" side may send ({_closing(out[-1], kind, asked)}): not read")
            break
        method, upgrade, asked_keep_alive = asked[answering - 1] if answering <= len(asked) else (None, None, True)
        message = _message(stream, data, pos, kind, len(out) + 1, closed, hole, method, upgrade)
        if kind == "response":
            if answering <= len(asked):
                message = replace(message, answers=answering)
            else:
                message = replace(message, problems=message.problems + ("it answers no request the capture holds",))
            if not message.informational:
                answering += 1
                last = not (message.keep_alive and asked_keep_alive)
        else:
            last = not message.keep_alive
        out.append(message)
        if not message.complete:
            problems.append(f"{kind} {message.number} could not be read: {message.problems[-1]}")
            break
        if message.status == 101:
            if message.end < stream.end:
                problems.append(f"the connection switched protocols ({message.header('upgrade')}) after response"
                                f" {message.number}: the rest is not HTTP/1.1 and is not read")
            break
        pos = message.end
    return out


def _message(stream: Stream, data: bytes, pos: int, kind: str, number: int, closed: bool,
             hole: streams.Hole | None, method: str | None, upgrade: str | None) -> Message:
    """The message that starts at `pos`, read by a fresh h11 connection."""
    conn = h11.Connection(h11.SERVER if kind == "request" else h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
    if kind == "response":
        headers = [("Host", "-")] + ([("Connection", "upgrade"), ("Upgrade", upgrade)] if upgrade else [])
        conn.send(h11.Request(method=method or "GET", target="/", headers=headers))
        conn.send(h11.EndOfMessage())
    fed, chunk = pos, FIRST_CHUNK
    head: h11.Request | h11.Response | h11.InformationalResponse | None = None
    head_end = None
    body: list[bytes] = []
    problem = None
    end = None
    try:
        while end is None:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                if fed < len(data):
                    conn.receive_data(data[fed:fed + chunk])
                    fed = min(fed + chunk, len(data))
                    chunk = min(chunk * 2, MAX_CHUNK)
                    continue
                if closed:
                    conn.receive_data(b"")
                    closed = False  # said once
                    continue
                problem = _cut(stream, kind, data, pos, head, head_end, sum(map(len, body)), hole)
                break
            if isinstance(event, (h11.Request, h11.Response, h11.InformationalResponse)):
                head = event
                head_end = fed - len(conn.trailing_data[0])
                if isinstance(event, h11.InformationalResponse):
                    end = head_end
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                end = fed - len(conn.trailing_data[0])
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                problem = _cut(stream, kind, data, pos, head, head_end, sum(map(len, body)), hole)
                break
    except h11.RemoteProtocolError as error:
        problem = _explain(str(error), kind, data, pos, head, sum(map(len, body)))
    complete = end is not None
    if end is None:
        end = stream.end  # what follows cannot be framed: it is all this message's, as far as anyone can tell
    problems = (_bare_lf(data[pos:head_end], kind) if head_end is not None else ()) + ((problem,) if problem else ())
    fields: dict = {}
    if head is not None:
        fields["headers"] = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers.raw_items())
        fields["version"] = head.http_version.decode("ascii")
        if isinstance(head, h11.Request):
            fields.update(method=head.method.decode("ascii"), target=head.target.decode("latin-1"))
        else:
            fields.update(status=head.status_code, reason=head.reason.decode("latin-1"))
        fields["chunked"] = any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower()
                                for k, v in head.headers.raw_items())
    return Message(kind, number, pos, end, stream.frames(pos, end), stream.retransmissions(pos, end),
                   body=b"".join(body), complete=complete, problems=problems, **fields)


def _unreadable(stream: Stream, kind: str, number: int, pos: int, hole: streams.Hole) -> Message:
    text = (f"the stream has a hole at bytes {hole.start}–{hole.end - 1} (never captured), so the {kind}"
            f" cannot be read")
    return Message(kind, number, pos, stream.end, stream.frames(pos, stream.end), complete=False, problems=(text,))


def _cut(stream: Stream, kind: str, data: bytes, pos: int, head, head_end: int | None, got: int,
         hole: streams.Hole | None) -> str:
    """Why a message that h11 still waits for ends where the readable bytes end."""
    if hole is not None:
        return (f"the stream has a hole at bytes {hole.start}–{hole.end - 1} (never captured), so the {kind}"
                f" cannot be read whole")
    ended = "the connection closed" if stream.fin is not None or stream.rst is not None else "the capture ends"
    if head is None:
        return f"the {kind} head never ends: {ended} after {len(data) - pos} bytes without the blank line that ends it"
    length = _content_length(head)
    if length is not None:
        return f"Content-Length says {length} but {ended} after {got} body bytes"
    if _is_chunked(head):
        return f"the chunked body never ends: {ended} after {len(data) - head_end} bytes of it, before the last chunk"
    return f"the body runs until the connection closes, and {ended} first ({got} bytes of it)"


_EXPLANATIONS: tuple[tuple[str, str], ...] = (
    (r"peer closed connection without sending complete message body \(received (\d+) bytes, expected (\d+)\)",
     "Content-Length says {1} but the connection closed after {0} body bytes"),
    (r"peer closed connection without sending complete message body \(incomplete chunked read\)",
     "the connection closed in the middle of the chunked body"),
    (r"Missing mandatory Host: header", "the HTTP/1.1 request has no Host header"),
    (r"conflicting Content-Length headers", "its Content-Length headers disagree"),
    (r"bad Content-Length", "its Content-Length is not a number"),
    (r"Receive buffer too long", "its head is longer than 1 MiB"),
)


def _explain(error: str, kind: str, data: bytes, pos: int, head, got: int) -> str:
    """h11's error as a plain sentence about the bytes."""
    line = data[pos:].split(b"\n", 1)[0].rstrip(b"\r")
    if error.startswith("illegal request line"):
        return f"the request line {_text(line)} is not METHOD TARGET HTTP/x.y"
    if error.startswith("illegal status line"):
        return f"the status line {_text(line)} is not HTTP/x.y CODE REASON"
    if error.startswith("illegal header line"):
        return f"the header line {_quoted(error)} is not NAME: VALUE"
    if error.startswith("illegal chunk header"):
        return f"the chunk size line {_quoted(error)} is not a hexadecimal size"
    if error == "peer unexpectedly closed connection":
        return (f"the connection closed in the middle of the {kind} head ({len(data) - pos} bytes,"
                f" without the blank line that ends it)")
    for pattern, text in _EXPLANATIONS:
        m = re.fullmatch(pattern, error)
        if m:
            return text.format(*m.groups())
    return f"h11 could not read it: {error}"


def _bare_lf(head_bytes: bytes, kind: str) -> tuple[str, ...]:
    """Each line of a head that ends with a bare LF instead of CRLF."""
    lines = head_bytes.split(b"\n")[:-1]
    found = []
    for i, line in enumerate(lines):
        if line.endswith(b"\r"):
            continue
        if i == 0:
            found.append(f"the {kind} line ends with a bare LF" if kind == "request"
                         else "the status line ends with a bare LF")
        elif i == len(lines) - 1:
            found.append("the blank line that ends the head is a bare LF")
        else:
            found.append(f"header line {i} ({_text(line.split(b':', 1)[0])}) ends with a bare LF")
    if len(found) > 4:
        found[3:] = [f"and {len(found) - 3} more lines end with a bare LF"]
    return tuple(found)


def _blank_lines(data: bytes, pos: int) -> int:
    n = pos
    while n < len(data) and data[n] in b"\r\n":
        n += 1
    return n - pos


def _content_length(head) -> int | None:
    for k, v in head.headers:
        if k == b"content-length":
            return int(v)
    return None


def _is_chunked(head) -> bool:
    return any(k == b"transfer-encoding" and b"chunked" in v for k, v in head.headers)


def _closing(message: Message, kind: str, asked: list[tuple[str | None, str | None, bool]]) -> str:
    if not message.keep_alive:
        return "Connection: close" if message.version != "1.0" else "HTTP/1.0 without keep-alive"
    return f"request {message.answers} said Connection: close" if kind == "response" else "?"


def _side(kind: str) -> str:
    return "client" if kind == "request" else "server"


def _text(raw: bytes) -> str:
    text = raw[:80].decode("latin-1")
    return repr(text + ("…" if len(raw) > 80 else ""))


def _quoted(error: str) -> str:
    m = re.search(r"bytearray\((b['\"].*['\"])\)", error)
    if not m:
        return "?"
    return _text(ast.literal_eval(m.group(1)).rstrip(b"\r\n"))


def _frames_text(frames: tuple[int, ...]) -> str:
    if not frames:
        return "none"
    return f"#{frames[0]}" if len(frames) == 1 else f"#{frames[0]}–#{frames[-1]} ({len(frames)})"

