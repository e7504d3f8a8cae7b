"""Persistent connections: three requests on one kept-alive connection, the same three with HTTP/1.0
(a connection each), and TCP keepalive probes on an idle connection, which are not HTTP at all.

The student opens every connection (the number of connections is the lesson), with the client's
kernel making the segments. The capture proves the handshakes (one for HTTP/1.1, three for HTTP/1.0),
who closed each connection and the probes; nginx's access log proves which requests shared a
connection (its connection ids and connection_requests).
"""

from __future__ import annotations

import socket
import time

from protolab.expect import Check, Expectation, F, Fact, Flags, Header, Never, Request, Response, SentBy, Step, V
from protolab.lab import Lab, LabContext
from protolab.lab.api import Range
from protolab.servers import webroot
from protolab.servers.nginx import NginxConfig, NginxServer

PATHS = (webroot.INDEX, webroot.BIG, webroot.CACHED)
SIZES = {path: len(content) for path, content in webroot.files().items()}
PARTS = ("1.1", "1.0")

INSTRUCTIONS = """\
Does every request need a handshake of its own? In HTTP/1.0 it did: the
server answered one request and closed the connection, so three files cost
three handshakes and three closes. HTTP/1.1 keeps the connection open by
default (a persistent connection, "keep-alive"): the next request goes on the
same connection, and the handshake is paid once. A side that wants to end it
says "Connection: close" in its message; the server then answers that request
and closes (its FIN comes first). Responses on one connection come back in the
order of the requests, so one slow response holds back those behind it
(head-of-line blocking). nginx, too, closes a kept-alive connection that stays
idle for a while (here `idle_timeout` seconds).

TCP keepalive is another thing with a similar name. It is not about requests
at all: once a TCP connection has been silent for TCP_KEEPIDLE seconds, the
kernel sends a probe, an empty ACK whose sequence number is one less than the
next one it would send (seq = snd.nxt - 1, a byte the peer has already
acknowledged). The peer's kernel answers with an ACK, which proves the other
end is still there; no application sees any of it. It is off unless a socket
asks for it with SO_KEEPALIVE, and Linux waits two hours by default.

Your task: write `visit(server_ip, port, host, paths, keepidle)`, three parts in
this order. Open each connection yourself, with
socket.create_connection((server_ip, port), timeout=3), and close it when done.
  1. HTTP/1.1, one connection: send a GET for each of the three `paths`, one
     after the other, each "GET <path> HTTP/1.1" with "Host: <host>". Read each
     response whole (the head up to the empty line, then exactly
     Content-Length bytes) before the next request. Only the third request
     carries "Connection: close": after its response, recv() returns b""
     (web's FIN); then close your socket.
  2. HTTP/1.0, for contrast: the same three GETs, each "GET <path> HTTP/1.0"
     (with the Host header) on a connection of its own. An HTTP/1.0 response
     ends when the server closes: read until recv() returns b"".
  3. TCP keepalive: open one more connection and send nothing on it. Set
     SO_KEEPALIVE (socket.SOL_SOCKET) to 1, and TCP_KEEPIDLE and TCP_KEEPINTVL
     (socket.IPPROTO_TCP) to `keepidle` seconds; then wait keepidle + 0.2
     seconds (time.sleep) and close it. Its kernel sends a probe meanwhile.
Return {"http/1.1": [...], "http/1.0": [...]}: for each part, one dict per
response in order, {"status": 200, "body": b"..."}.

    protolab run keepalive --solution my_keepalive.py

Checked on the wire: one handshake for the HTTP/1.1 requests and web's FIN
after the third; one handshake per HTTP/1.0 request, each closed by web; on
the third part's connection, a probe (an empty ACK with seq = ISN, since
nothing was sent) and web's ACK of it; no reset. Checked in nginx's access
log: the three HTTP/1.1 requests on one connection (requests 1, 2, 3 of it),
the HTTP/1.0 ones on three. And what you returned: each status and body.
"""


def visit(server_ip: str, port: int, host: str, paths, keepidle: int):
    """Three GETs on one HTTP/1.1 connection, the same on three HTTP/1.0 ones, then a TCP keepalive probe."""

    def split(data: bytes):
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split(" ", 2)[1]), headers, rest

    def receive(sock, pending: bytes) -> bytes:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("web closed the connection")
        return pending + data

    result = {"http/1.1": [], "http/1.0": []}
    with socket.create_connection((server_ip, port), timeout=3) as sock:
        pending = b""
        for n, path in enumerate(paths, start=1):
            close = "Connection: close\r\n" if n == len(paths) else ""
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{close}\r\n".encode("ascii"))
            while b"\r\n\r\n" not in pending:
                pending = receive(sock, pending)
            status, headers, pending = split(pending)
            length = int(headers.get("content-length", "0"))
            while len(pending) < length:
                pending = receive(sock, pending)
            result["http/1.1"].append({"status": status, "body": pending[:length]})
            pending = pending[length:]
        while sock.recv(65536):  # after Connection: close, web's FIN: recv() returns b""
            pass

    for path in paths:
        with socket.create_connection((server_ip, port), timeout=3) as sock:
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii"))
            data = b""
            while chunk := sock.recv(65536):  # an HTTP/1.0 response ends where the server closes
                data += chunk
            status, _headers, body = split(data)
            result["http/1.0"].append({"status": status, "body": body})

    with socket.create_connection((server_ip, port), timeout=3) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepidle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, keepidle)
        time.sleep(keepidle + 0.2)
    return result


def procedure(ctx: LabContext) -> None:
    p, web_ip = ctx.params, ctx.ip("web")
    config = NginxConfig(port=p["port"], keepalive_requests=10, keepalive_timeout=p["idle_timeout"],
                         client_header_timeout=p["keepidle"] + 3.0)  # the silent third connection outlives its probe
    nginx = ctx.use(NginxServer(ctx.node("web"), config))
    ctx.say(f"web: nginx on {web_ip}:{p['port']}; it closes a kept-alive connection idle for {p['idle_timeout']:g} s")
    answers = ctx.call_student(web_ip, p["port"], p["host"], list(PATHS), p["keepidle"])
    log = nginx.wait_log(2 * len(PATHS), timeout=0.2)
    answers = answers if isinstance(answers, dict) else {}
    parts = _parts(log, lambda e: e.request.rsplit(" ", 1)[-1][5:])
    for part in PARTS:
        got = answers.get(f"http/{part}")
        got = list(got) if isinstance(got, (list, tuple)) else []
        got = (got + [None] * len(PATHS))[:len(PATHS)]
        ctx.fact(f"your.statuses({part})", [_field(a, "status") for a in got])
        ctx.fact(f"your.body_lens({part})", [len(b) if isinstance(b := _field(a, "body"), (bytes, str)) else None
                                             for a in got])
        entries = parts[part]
        ctx.fact(f"web.log({part})", [f"{e.request} → {e.status}, request {e.connection_requests} of its connection"
                                      for e in entries])
        ctx.fact(f"web.connections({part})", len({e.connection for e in entries}))
        ctx.say(f"web: nginx logged {len(entries)} HTTP/{part} request(s) on "
                f"{len({e.connection for e in entries})} connection(s)")
    ctx.fact("web.log(probe)", [e.request for e in parts["probe"]])


def _parts(items: list, version) -> dict[str, list]:
    """Items (log entries or connections, in order) by part: HTTP/1.1 ones before the first HTTP/1.0 one,
    the HTTP/1.0 ones, and whatever came after the last HTTP/1.0 one (the probe's connection should carry none)."""
    tens = [i for i, item in enumerate(items) if version(item) == "1.0"]
    first, last = (tens[0], tens[-1] + 1) if tens else (len(items), len(items))
    return {"1.1": [x for x in items[:first] if version(x) == "1.1"], "1.0": [items[i] for i in tens],
            "probe": items[last:]}


def _field(answer, key):
    return answer.get(key) if isinstance(answer, dict) else None


def wire_facts(trace, params, facts) -> dict:
    """For each HTTP version: how many handshakes its requests' connections took, and who closed each."""
    conns = [c for c in trace.http if c.server.port == params["port"] and c.requests]
    parts = _parts(conns, lambda c: c.requests[0].version)
    out = {}
    for part in PARTS:
        out[f"wire.handshakes({part})"] = sum(1 for c in parts[part] if c.tcp.handshake)
        out[f"wire.closed_first({part})"] = ["web" if c.tcp.closed_by == "server" else c.tcp.closed_by or "nobody"
                                             for c in parts[part]]
    return out


def expectation(topology, params) -> Expectation:
    port, host, web = params["port"], params["host"], str(topology.node("web").ip)
    syn = (SentBy("client"), Flags("S"), F("ip.dst") == web, F("tcp.dport") == port)
    steps: list = [Step("HTTP/1.1: the handshake's SYN", match=syn, bind={"port 1.1": "tcp.sport"},
                        hint="Open one connection with socket.create_connection((server_ip, port)).")]
    first = _request(1, "1.1")
    for n, path in enumerate(PATHS, start=1):
        last = n == len(PATHS)
        checks = [Check(F("http.method") == "GET", f"request {n} asks with GET"),
                  Check(F("http.target") == path, f"request {n} names {path}"),
                  Check(F("http.version") == "1.1", "the request line ends with HTTP/1.1"),
                  Check(Header("host") == host, f"an HTTP/1.1 request names the site: Host: {host}")]
        checks.append(Check(Header("connection") == "close", "the last request says Connection: close") if last else
                      Check(Header("connection") != "close", f"request {n} is not the last: no Connection: close "
                            "(it ends the connection after this response)"))
        steps += [
            Request(_request(n, "1.1"), number=n, on=first if n > 1 else None, match=(SentBy("client"),),
                    checks=tuple(checks), after=_request(n - 1, "1.1") if n > 1 else None,
                    hint="" if n == 1 else "Send every HTTP/1.1 request on the one connection you opened: it stays "
                                           "open for the next request, no new handshake is needed."),
            Response(_response(n, "1.1"), to=_request(n, "1.1"), match=(SentBy("web"),), checks=(
                Check(F("http.status") == 200, f"web answers GET {path} with 200"),
                Check(F("http.content_length") == SIZES[path], f"the body of {path} is {SIZES[path]} bytes"),
            ), hint="" if n == 1 else _READ_HINT),
        ]
    steps.append(Step("HTTP/1.1: web closes the connection (FIN)", may_share=True,
                      match=(SentBy("web"), F("tcp.sport") == port, F("tcp.dport") == V("port 1.1"),
                             Flags("F", exact=False)),
                      hint="After Connection: close, web answers and then closes; read until recv() returns b''."))
    for n, path in enumerate(PATHS, start=1):
        conn = f"port 1.0 #{n}"
        steps += [
            Step(f"HTTP/1.0 #{n}: a new handshake's SYN", match=syn, bind={conn: "tcp.sport"},
                 hint="Open a new connection for each HTTP/1.0 request: web closes each one after its response."),
            Request(_request(n, "1.0"), number=1, match=(SentBy("client"),), checks=(
                Check(F("http.version") == "1.0", "the request line ends with HTTP/1.0"),
                Check(F("http.method") == "GET", f"request {n} asks with GET"),
                Check(F("http.target") == path, f"request {n} names {path}"),
            ), hint="Each HTTP/1.0 request is the first, and only, one of its connection."),
            Response(_response(n, "1.0"), to=_request(n, "1.0"), match=(SentBy("web"),), checks=(
                Check(F("http.status") == 200, f"web answers GET {path} with 200"),
                Check(Header("connection") == "close", "to HTTP/1.0 without keep-alive, web says Connection: close"),
            )),
            Step(f"HTTP/1.0 #{n}: web closes the connection (FIN)", may_share=True,
                 match=(SentBy("web"), F("tcp.sport") == port, F("tcp.dport") == V(conn), Flags("F", exact=False))),
        ]
    steps += [
        Step("TCP keepalive: the handshake's SYN", match=syn, bind={"probe port": "tcp.sport", "probe isn": "tcp.seq"},
             hint="Open a third kind of connection, after the HTTP/1.0 ones, and send nothing on it."),
        Step("TCP keepalive: a probe from the client", match=(
            SentBy("client"), F("tcp.sport") == V("probe port"), F("tcp.dport") == port, Flags("A"),
            F("tcp.len") == 0, F("tcp.seq") == V("probe isn")),
            hint="No probe came: set SO_KEEPALIVE to 1 and TCP_KEEPIDLE and TCP_KEEPINTVL to keepidle seconds on "
                 "the socket (without TCP_KEEPIDLE Linux waits 7200 s), send nothing on it, and wait keepidle + "
                 "0.2 s before closing. An empty ACK with seq = ISN + 1 is the handshake's, not a probe."),
        Step("TCP keepalive: web's kernel answers the probe", match=(
            SentBy("web"), F("tcp.sport") == port, F("tcp.dport") == V("probe port"), Flags("A"), F("tcp.len") == 0),
            checks=(Check(F("tcp.ack") == V("probe isn") + 1, "web acknowledges what it has (ack = ISN + 1): the "
                          "answer proves the other end is alive"),)),
    ]
    facts = []
    for part, handshakes, connections in (("1.1", 1, 1), ("1.0", 3, 3)):
        facts += [
            Check(Fact(f"wire.handshakes({part})") == handshakes,
                  f"the HTTP/{part} requests took {handshakes} handshake{'s' if handshakes > 1 else ''} on the wire"),
            Check(Fact(f"wire.closed_first({part})") == ["web"] * connections,
                  f"web closed {'its' if connections == 1 else 'each'} HTTP/{part} connection first (its FIN), "
                  "once it had answered the request that ends it"),
            Check(Fact(f"web.log({part})") == [
                f"GET {path} HTTP/{part} → 200, request {n if part == '1.1' else 1} of its connection"
                for n, path in enumerate(PATHS, start=1)],
                f"nginx logged the three HTTP/{part} requests as " + (
                    "requests 1, 2 and 3 of one connection" if part == "1.1" else "the first of a connection each")),
            Check(Fact(f"web.connections({part})") == connections,
                  f"nginx served the HTTP/{part} requests on {connections} connection{'s' if connections > 1 else ''}"),
            Check(Fact(f"your.statuses({part})") == [200] * len(PATHS),
                  f"your visit() returns the status of each HTTP/{part} response"),
            Check(Fact(f"your.body_lens({part})") == [SIZES[path] for path in PATHS],
                  f"the bodies you return for HTTP/{part} are the files web sent, whole"),
        ]
    facts.append(Check(Fact("web.log(probe)") == [], "the TCP keepalive connection carries no HTTP request: "
                       "its probes are the kernel's, and nginx never sees them"))
    never = (Never("no reset of a connection", match=(Flags("R", exact=False),
                                                       (F("tcp.sport") == port) | (F("tcp.dport") == port)),
                   why="A RST ends a connection at once. From web: a request came on a connection nginx had "
                   "already closed. From the client: a socket closed with bytes of a response still unread."),)
    return Expectation("HTTP keep-alive and TCP keepalive", steps=tuple(steps), never=never, facts=tuple(facts))


_READ_HINT = ("Read a body by its Content-Length, then send the next request at once: an HTTP/1.1 server keeps "
              "the connection open, so reading on until it closes waits for nginx to drop the idle connection, "
              "and the next request finds it gone.")


def _request(n: int, part: str) -> str:
    return f"HTTP/{part} request {n}: GET {PATHS[n - 1]}"


def _response(n: int, part: str) -> str:
    return f"HTTP/{part} response {n}: 200"


LAB = Lab(
    name="keepalive",
    title="Persistent connections and TCP keepalive",
    summary="Three GETs on one HTTP/1.1 connection and on three HTTP/1.0 ones, then TCP keepalive probes on a "
            "silent connection",
    instructions=INSTRUCTIONS,
    student=visit,
    procedure=procedure,
    expectation=expectation,
    wire_facts=wire_facts,
    columns=("client", "router", "web"),
    params={"port": 80, "host": "web", "idle_timeout": 1.0, "keepidle": 1},
    limits={"port": Range(1, 65535), "idle_timeout": Range(0.2, 10.0, note="seconds"),
            "keepidle": Range(1, 3, note="whole seconds")},
    param_help={"port": "the TCP port nginx listens on, on web (server_ip)",
                "host": "the site's name, for the Host header of every request",
                "idle_timeout": "seconds nginx keeps an idle HTTP/1.1 connection open before it closes it",
                "keepidle": "seconds of silence before the kernel sends a TCP keepalive probe: set it as "
                            "TCP_KEEPIDLE and TCP_KEEPINTVL"},
    timeout=6.0,
    facts={
        "your.statuses(*)": ("the status codes your visit() returned for that HTTP version, in order", list),
        "your.body_lens(*)": ("the lengths of the bodies your visit() returned for that HTTP version", list),
        "web.log(*)": ("nginx's access log for that HTTP version: each request, its status and its number on "
                       "its connection", list),
        "web.log(probe)": ("the requests nginx logged after the HTTP/1.0 ones (on the keepalive connection)", list),
        "web.connections(*)": ("how many connections nginx served that version's requests on", int),
        "wire.handshakes(*)": ("handshakes on the wire of the connections that carried that version's requests", int),
        "wire.closed_first(*)": ("who sent the first FIN (or RST) of each such connection", list),
    },
)
