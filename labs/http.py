"""HTTP/1.1 by hand: six requests written byte by byte to a real nginx, six responses read back.

The lab opens a TCP connection from the client to nginx on `web` (the client's
kernel makes the segments, so the lesson is the bytes of HTTP, not TCP's
numbers) and hands the connected socket to the student's `fetch`. The capture
is read as HTTP: each request and each response is checked where it travelled,
and nginx's access log says what nginx made of each request.
"""

from __future__ import annotations

import socket

from protolab.expect import (Check, Expectation, F, Fact, Flags, Header, Never, Request, Response, SentBy, V)
from protolab.lab import Lab, LabContext
from protolab.lab.api import Range
from protolab.servers import webroot
from protolab.servers.nginx import ALLOW, REDIRECT, NginxConfig, NginxServer

MISSING = "/nowhere.html"
FORM = b"note=hello"
REQUESTS = (  # (method, target, body), sent in this order on one connection
    ("GET", webroot.INDEX, b""),
    ("GET", webroot.BIG, b""),
    ("HEAD", webroot.INDEX, b""),
    ("GET", REDIRECT, b""),
    ("GET", MISSING, b""),
    ("POST", webroot.INDEX, FORM),
)
STATUSES = (200, 200, 200, 301, 404, 405)
SIZES = {path: len(content) for path, content in webroot.files().items()}

INSTRUCTIONS = """\
HTTP is text a client writes into a TCP connection, and text the server writes
back. A request is:

    GET /index.html HTTP/1.1        the request line: method, target, version
    Host: web                       header lines, "Name: value"
                                    an empty line: the head ends here
    (a body, only if the headers announce one with Content-Length)

Every line ends with the two bytes CR LF ("\\r\\n"), and the head ends with an
empty line, so a head always ends with "\\r\\n\\r\\n". An HTTP/1.1 request must
carry a Host header: one server may host many sites on one address, and Host
says which one you want. The response has the same shape, with a status line
("HTTP/1.1 200 OK": version, status code, reason) instead of the request
line. The status code's first digit is its class: 2xx it worked, 3xx look
elsewhere (301 moved for good: the Location header says where), 4xx the
client asked wrongly (400 a request the server cannot read, 403 forbidden,
404 no such thing, 405 this method is not allowed here: the Allow header lists
those that are), 5xx the server failed.

A response says how long its body is in Content-Length, and that is the only
way to know where it ends: HTTP/1.1 keeps the connection open for the next
request, so "read until the connection closes" waits for nothing. TCP hands
you bytes, not messages: a body of 8 KB arrives in several segments, and one
recv() returns whatever has arrived so far, perhaps only part of the head. A
response to HEAD is the head GET would get, Content-Length included, without
the body.

Your task: write `fetch(sock, host, requests)`.
  - `sock` is a TCP socket already connected to nginx on web (blocking; the lab
    opened it, and closes it after your function returns). Use sock.sendall()
    and sock.recv().
  - `requests` is a list of (method, target, body): send them in order, on
    this one connection. Each request is the request line with HTTP/1.1, a
    Host header with `host`, and, when body is not empty, a Content-Length
    header with its length (and a Content-Type, e.g.
    application/x-www-form-urlencoded), the empty line, then the body.
  - Read each response whole before sending the next request: the head up to
    "\\r\\n\\r\\n", then exactly Content-Length bytes of body (none after HEAD),
    however many recv() calls that takes. Keep bytes that arrive beyond them:
    they belong to what comes next.
  - Return one dict per response, in order:
        {"status": 200, "reason": "OK", "headers": {"content-length": "3130", ...},
         "body": b"..."}
    with the header names in lower case.

The requests: GET /index.html, GET /big.html (one response over several
segments), HEAD /index.html, GET /old (301), GET /nowhere.html (404) and
POST /index.html with a small form (405: nginx serves files, it takes no
posts).

    protolab run http --solution my_http.py

Checked on the wire: each request (method, target, version, Host, CRLF line
ends, the empty line, the body's Content-Length), each response (status,
Location, Allow, HEAD without a body), all on one connection, no reset.
Checked in nginx's access log: the requests nginx read and its answers. And
what you returned: each status, each body exactly as long as the one nginx
sent, Location and Allow.
"""


def fetch(sock, host: str, requests):
    """Send each request on `sock`, read each response whole; return them as dicts."""
    pending = b""  # bytes received but not used yet

    def receive() -> None:
        nonlocal pending
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("web closed the connection")
        pending += data

    responses = []
    for method, target, body in requests:
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
        if body:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(head.encode("ascii") + b"\r\n" + body)

        while b"\r\n\r\n" not in pending:
            receive()
        raw, pending = pending.split(b"\r\n\r\n", 1)
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        _version, status, reason = status_line.split(" ", 2)
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

        length = 0 if method == "HEAD" else int(headers.get("content-length", "0"))
        while len(pending) < length:
            receive()
        content, pending = pending[:length], pending[length:]
        responses.append({"status": int(status), "reason": reason, "headers": headers, "body": content})
    return responses


def procedure(ctx: LabContext) -> None:
    p, web_ip = ctx.params, ctx.ip("web")
    config = NginxConfig(port=p["port"], keepalive_requests=len(REQUESTS) + 2, keepalive_timeout=p["idle_timeout"],
                         client_header_timeout=p["idle_timeout"])
    nginx = ctx.use(NginxServer(ctx.node("web"), config))
    ctx.say(f"web: nginx on {web_ip}:{p['port']}; it drops a connection idle for {p['idle_timeout']:g} s, "
            f"or whose request head takes longer than that")
    sock = ctx.node("client").socket(socket.AF_INET, socket.SOCK_STREAM)
    ctx.stack.callback(sock.close)
    sock.settimeout(1.0)
    sock.connect((web_ip, p["port"]))
    sock.settimeout(None)  # the student's copy is blocking
    ctx.say(f"client: the lab connected {':'.join(map(str, sock.getsockname()))} → {web_ip}:{p['port']} "
            f"(the kernel's handshake) and hands you the socket")
    answers = ctx.call_student(sock, p["host"], [list(r) for r in REQUESTS])
    log = nginx.wait_log(len(REQUESTS), timeout=0.2)
    sock.close()  # the lab's copy: the connection closes now (a FIN, or a RST if bytes were left unread)
    _report(ctx, answers, log)


def _report(ctx: LabContext, answers, log) -> None:
    got = list(answers) if isinstance(answers, (list, tuple)) else []
    got += [None] * (len(REQUESTS) - len(got))

    def field(answer, key):
        return answer.get(key) if isinstance(answer, dict) else None

    def header(answer, name):
        headers = field(answer, "headers")
        return headers.get(name) if isinstance(headers, dict) else None

    statuses = [field(a, "status") for a in got[:len(REQUESTS)]]
    ctx.fact("your.statuses", statuses)
    for n, answer in enumerate(got[:len(REQUESTS)], start=1):
        body = field(answer, "body")
        ctx.fact(f"your.body_len({n})", len(body) if isinstance(body, (bytes, str)) else None)
    ctx.fact("your.location", header(got[3], "location"))
    ctx.fact("your.allow", header(got[5], "allow"))
    ctx.fact("web.log", [f"{e.request} → {e.status}" for e in log])
    ctx.fact("web.connections", len({e.connection for e in log}))
    ctx.say(f"web: nginx logged {len(log)} request(s) on {len({e.connection for e in log})} connection(s): "
            + ("; ".join(f"{e.request} → {e.status}" for e in log) or "none"))
    ctx.say(f"client: your fetch() returned the statuses {statuses}")


def expectation(topology, params) -> Expectation:
    host, port = params["host"], params["port"]
    first = _request_name(1)
    steps = []
    for n, ((method, target, body), status) in enumerate(zip(REQUESTS, STATUSES), start=1):
        checks = [
            Check(F("http.method") == method, f"request {n} asks with {method}"),
            Check(F("http.target") == target, f"request {n} names the target {target}"),
            Check(F("http.version") == "1.1", "the request line ends with the version HTTP/1.1"),
            Check(Header("host") == host, f"an HTTP/1.1 request names the site in a Host header: Host: {host}"),
        ]
        if body:
            checks += [Check(F("http.content_length") == len(body),
                             f"a body is announced by its exact length: Content-Length: {len(body)}"),
                       Check(F("http.body") == body, "the body follows the empty line, exactly")]
        if n > 1:
            checks.append(Check(F("http.first_frame") > V(f"response {n - 1} ends"),
                                f"request {n} leaves once response {n - 1} has come whole (read all of it first)"))
        # each request follows the one before it, whether or not the response between them came
        steps.append(Request(_request_name(n), number=n, on=first if n > 1 else None, match=(SentBy("client"),),
                             checks=tuple(checks), hint=_request_hint(n),
                             after=_request_name(n - 1) if n > 1 else None))
        steps.append(Response(_response_name(n, status), to=_request_name(n), match=(SentBy("web"),),
                              checks=_response_checks(n, method, target, status),
                              bind={f"body_len {n}": "http.body_len", f"response {n} ends": "http.last_frame"},
                              hint=_response_hint(n)))
    facts = [
        Check(Fact("web.log") == [f"{m} {t} HTTP/1.1 → {s}" for (m, t, _), s in zip(REQUESTS, STATUSES)],
              "nginx read the six requests, in order, and answered them as the tour expects"),
        Check(Fact("web.connections") == 1, "nginx served them all on the one connection the lab opened"),
        Check(Fact("your.statuses") == list(STATUSES), "your fetch() returns each response's status code, in order"),
    ]
    for n, (method, target, _) in enumerate(REQUESTS, start=1):
        says = ("you return no body for HEAD: its Content-Length only tells what GET would send" if method == "HEAD"
                else f"the body you return for {method} {target} is the one web sent, exactly Content-Length bytes")
        facts.append(Check(Fact(f"your.body_len({n})") == V(f"body_len {n}"), says))
    facts += [Check(Fact("your.location") == webroot.INDEX, "you return the 301's Location header"),
              Check(Fact("your.allow") == ALLOW, "you return the 405's Allow header")]
    never = (Never("no reset of the connection", match=(Flags("R", exact=False), (F("tcp.sport") == port) | (F("tcp.dport") == port)),
                   why="A RST ends a connection at once. From the client: the lab closed its socket with bytes of a "
                   "response still unread (read every body whole). From web: a request came after nginx had "
                   "closed the connection."),)
    return Expectation("HTTP/1.1 by hand", steps=tuple(steps), never=never, facts=tuple(facts))


def _request_name(n: int) -> str:
    method, target, _ = REQUESTS[n - 1]
    return f"request {n}: {method} {target}"


def _response_name(n: int, status: int) -> str:
    return f"response {n}: {status}"


def _request_hint(n: int) -> str:
    if n == 1:
        return ('Write "GET /index.html HTTP/1.1\\r\\nHost: ...\\r\\n\\r\\n": every line ends with \\r\\n, and '
                "an empty line ends the head.")
    return "Send each request on the same socket, once you have read the previous response whole."


def _response_hint(n: int) -> str:
    return ("Read a body by its Content-Length, then stop: on HTTP/1.1 the server keeps the connection open for "
            "the next request, so waiting for it to close stalls until nginx drops the idle connection, and a "
            "request after that finds it closed.") if n > 1 else ""


def _response_checks(n: int, method: str, target: str, status: int) -> tuple[Check, ...]:
    checks = [Check(F("http.status") == status, f"web answers {method} {target} with {status}")]
    if method == "GET" and status == 200:
        checks.append(Check(F("http.content_length") == SIZES[target], f"the body of {target} is {SIZES[target]} bytes"))
    if method == "HEAD":
        checks += [Check(F("http.body_len") == 0, "a response to HEAD has no body"),
                   Check(F("http.content_length") == SIZES[target], "its Content-Length is the size GET would send")]
    if status == 301:
        checks.append(Check(Header("location") == webroot.INDEX, f"a 301 says in Location where {target} went"))
    if status == 405:
        checks.append(Check(Header("allow") == ALLOW, "a 405 lists the methods the target allows, in Allow"))
    return tuple(checks)


LAB = Lab(
    name="http",
    title="HTTP/1.1 by hand",
    summary="Write six HTTP/1.1 requests by hand to a real nginx and read the responses: CRLF, Host, Content-Length, HEAD, 301/404/405",
    instructions=INSTRUCTIONS,
    student=fetch,
    procedure=procedure,
    expectation=expectation,
    columns=("client", "router", "web"),
    params={"port": 80, "host": "web", "idle_timeout": 1.0},
    limits={"port": Range(1, 65535), "idle_timeout": Range(0.2, 10.0, note="seconds nginx waits on a silent client")},
    timeout=5.0,
    facts={
        "your.statuses": ("the status codes your fetch() returned, in order (None where it returned none)", list),
        "your.body_len(*)": "the length of the body your fetch() returned for request n (None: none)",
        "your.location": "the Location header your fetch() returned for GET /old",
        "your.allow": "the Allow header your fetch() returned for the POST",
        "web.log": ("nginx's access log: each request line nginx read and its status", list),
        "web.connections": ("how many connections nginx served those requests on", int),
    },
)
