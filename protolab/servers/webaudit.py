"""What the wire shows of a static web server under test: pure functions over the capture's HTTP.

The lab's clients each use a connection of their own and the procedure
reports which client port asked what (the plan); `audit()` reads every
connection to the server port from the reassembled streams (wire/http.py)
and says, per test, what is wrong, each problem naming its frames. An empty
list is a pass; `Clean(name)` is the expectation's check of one list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..expect.cond import Cond
from ..expect.expr import Context
from ..wire import http

SHOWN = 3  # problems of one kind named in full; the rest are counted


@dataclass(frozen=True)
class Site:
    """The docroot as the lab wrote it: URL path → (bytes, media type), and what lies outside it."""

    files: Mapping[str, tuple[bytes, str]]
    outside: Sequence[bytes]  # marks of files outside the docroot (their content must never be served)


def audit(frames: Iterable[Any], port: int, plan: Mapping[str, Any], site: Site) -> dict[str, list[str]]:
    """{test: [problem, ...]} for the tests the plan names (see the webserver lab's procedure)."""
    by_port = {c.client.port: c for c in http.connections(list(frames), port=port)}
    out: dict[str, list[str]] = {}
    out["files"] = [p for client, path in plan.get("files", ()) for p in _file(by_port, client, path, site)]
    out["missing"] = [p for client, path in plan.get("missing", ()) for p in _status(by_port, client, path, 404)]
    out["malformed"] = [p for client, line in plan.get("malformed", ()) for p in _status(by_port, client, line, 400)]
    out["traversal"] = [p for client, path in plan.get("traversal", ()) for p in _traversal(by_port, client, path, site)]
    if "slow" in plan:
        out["slow"] = _slow(by_port, plan["slow"], plan.get("fast", ()), int(plan.get("split", 0)))
    if "many" in plan:
        out["many"] = _many(by_port, plan["many"], plan.get("many_path", "/index.html"), site)
    return out


def _first_exchange(by_port: Mapping[int, http.HttpConnection], client: int, asked: str) -> tuple[Any, list[str]]:
    conn = by_port.get(client)
    if conn is None:
        return None, [f"{asked}: no connection from client port {client} was captured"]
    response = conn.responses[0] if conn.responses else None
    final = next((r for r in conn.responses if not r.informational), response)
    if final is None:
        how = _ending(conn)
        return None, [f"{asked}: your server sent no response{how} (the connection: "
                      f"{_frames(conn.tcp.frames[0], conn.tcp.frames[-1])})"]
    return final, []


def _frames(first: int | None, last: int | None) -> str:
    return f"frame #{first}" if first == last else f"frames #{first}–#{last}"


def _ending(conn: http.HttpConnection) -> str:
    down = conn.tcp.downstream
    if down.rst_frame is not None:
        return f"; it reset the connection (frame #{down.rst_frame})"
    if down.fin_frame is not None:
        return f"; it closed the connection (FIN, frame #{down.fin_frame})"
    if conn.problems:
        return f" that could be read: {conn.problems[0]}"
    return ""


def _file(by_port, client: int, path: str, site: Site) -> list[str]:
    asked = f"GET {path}"
    response, problems = _first_exchange(by_port, client, asked)
    if response is None:
        return problems
    name = "/index.html" if path == "/" else path
    body, media = site.files[name]
    where = f"({_frames(response.first_frame, response.last_frame)})"
    if response.status != 200:
        return [f"{asked}: the status is {response.status}, expected 200 {where}"]
    out = []
    if response.problems:
        out.append(f"{asked}: the response cannot be read as HTTP: {response.problems[0]} {where}")
    length = response.header("content-length")
    if length is None:
        out.append(f"{asked}: the response has no Content-Length, so a client cannot tell where the body ends {where}")
    elif not length.strip().isdigit() or int(length) != len(body):
        out.append(f"{asked}: Content-Length says {length.strip()} but the file has {len(body)} bytes {where}")
    if response.body != body and not out:
        out.append(f"{asked}: the body ({response.body_len} bytes) is not the file's {len(body)} bytes {where}")
    ctype = (response.header("content-type") or "").split(";")[0].strip().lower()
    if ctype != media:
        shown = repr(ctype) if ctype else "missing"
        out.append(f"{asked}: Content-Type is {shown}, expected {media!r} for a {name.rsplit('.', 1)[-1]} file {where}")
    return out


def _status(by_port, client: int, asked: str, wanted: int) -> list[str]:
    response, problems = _first_exchange(by_port, client, asked)
    if response is None:
        return problems
    if response.status != wanted:
        return [f"{asked}: the status is {response.status}, expected {wanted} "
                f"({_frames(response.first_frame, response.last_frame)})"]
    return []


def _traversal(by_port, client: int, path: str, site: Site) -> list[str]:
    conn = by_port.get(client)
    if conn is None:
        return [f"GET {path}: no connection from client port {client} was captured"]
    sent = conn.tcp.downstream.data()
    for mark in site.outside:
        if mark in sent:
            frames = conn.responses[0].frames if conn.responses else conn.tcp.frames
            return [f"GET {path} returned a file outside the docroot ({_frames(frames[0], frames[-1])}): "
                    "decode %xx, then refuse a path that leaves the docroot"]
    return []


def _slow(by_port, slow: int, fast: Sequence[int], split: int) -> list[str]:
    conn = by_port.get(slow)
    if conn is None:
        return [f"the slow client's connection (port {slow}) was not captured"]
    rest = conn.tcp.upstream.frames(split, split + 1)
    if not rest:
        return ["the slow client never sent the rest of its request"]
    rest_frame = rest[0]
    problems = []
    early = [r for r in conn.responses if r.first_frame is not None and r.first_frame < rest_frame]
    if early:
        problems.append(f"your server answered the slow client (frame #{early[0].first_frame}) before its request was "
                        f"complete (the rest came in frame #{rest_frame}): read until the blank line that ends "
                        "the head, a request may come in several segments")
    late, unanswered, syns = [], [], []
    for port in fast:
        other = by_port.get(port)
        response = next((r for r in other.responses if not r.informational), None) if other else None
        if response is None or response.last_frame is None:
            unanswered.append(port)
        elif response.last_frame > rest_frame:
            late.append(response.last_frame)
        if other is not None and (response is None or response.last_frame is None or response.last_frame > rest_frame):
            syns.append(other.tcp.frames[0])
    waiting = len(late) + len(unanswered)
    if waiting:
        first = conn.tcp.upstream.frames(0, 1)
        see = ", ".join(f"#{f}" for f in syns[:SHOWN]) + (f" and {len(syns) - SHOWN} more" if len(syns) > SHOWN else "")
        when = (f"got their responses only after frame #{rest_frame}, when the slow client sent the rest"
                if late else "got no response")
        if late and unanswered:
            when += f" ({len(unanswered)} got none)"
        who = f"all {len(fast)} other clients" if waiting == len(fast) else f"{waiting} of the {len(fast)} other clients"
        problems.append(
            f"while the slow client (port {slow}, first half in frame #{first[0] if first else '?'}) waited, {who} "
            f"{when}: your server was still waiting in recv() on that first connection; their SYNs ({see}) were "
            "answered by web's kernel from the listen backlog, not by your code")
    return problems


def _many(by_port, ports: Sequence[int], path: str, site: Site) -> list[str]:
    body = site.files[path][0]
    missing, wrong = [], []
    for port in ports:
        conn = by_port.get(port)
        response = next((r for r in conn.responses if not r.informational), None) if conn else None
        if response is None:
            missing.append(port)
        elif response.status != 200 or response.body != body:
            wrong.append(response.first_frame)
    out = []
    if missing:
        out.append(f"{len(missing)} of the {len(ports)} simultaneous clients got no response")
    if wrong:
        out.append(f"{len(wrong)} of the {len(ports)} simultaneous clients got something else than {path} "
                   f"(first in frame #{wrong[0]})")
    return out


class Clean(Cond):
    """The fact (a list of problems) is empty; a miss reads as the problems themselves."""

    def __init__(self, key: str) -> None:
        self.key = key

    def _problems(self, ctx: Context) -> list[str] | None:
        value = ctx.facts.get(self.key)
        return list(value) if isinstance(value, (list, tuple)) else None

    def test(self, ctx: Context) -> bool:
        return self._problems(ctx) == []

    def text(self) -> str:
        return f"{self.key} has no problem"

    def explain(self, ctx: Context) -> str:
        problems = self._problems(ctx)
        if problems is None:
            return f"the lab did not report {self.key}"
        shown = "; ".join(problems[:SHOWN])
        return shown + (f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")
