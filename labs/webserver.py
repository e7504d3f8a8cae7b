"""A static web server on sockets, written by the student, proven on the wire: files, errors, concurrency, leaks.

The student's `serve(listener, docroot)` runs confined on `web` (as every
student's code does, see docs/security.md) for the whole run; real kernel
TCP clients on `client` use it; the capture's HTTP (wire/http.py) and web's
kernel (its tasks, its sockets) say whether it is right.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from urllib.parse import unquote

from protolab.confine.limits import Limits
from protolab.expect import Check, Expectation, F, Flags, SentBy, Step
from protolab.kernel.sockdump import tcp_sockets
from protolab.kernel.tasks import Tally, tasks_of
from protolab.lab.api import Lab, LabContext, OneOf, Range
from protolab.servers import webroot
from protolab.servers.webaudit import Clean, Site, audit
from protolab.servers.webclients import SlowClient, fetch, fetch_many

PORT = 80
BACKLOG = 1024
SANDBOX_SITE = "/srv"  # where the lab's folder appears in the student's sandbox
DOCROOT = SANDBOX_SITE + "/www"
SECRET = "secret.txt"  # beside the docroot, never to be served
MODELS = ("blocking", "process", "thread", "nonblocking", "epoll", "asyncio")
MANY = {"blocking": 100, "process": 100, "thread": 100, "nonblocking": 1000, "epoll": 1000, "asyncio": 1000}
SLOW_HEAD = b"GET /index.html HTTP/1.1\r\nHost: web\r\n"  # half a request: the blank line never comes...
SLOW_REST = b"User-Agent: protolab-slow\r\n\r\n"  # ... until the other clients had their chance
SLOW_WAIT = 1.5  # seconds the slow client waits with half a request
LEFT_AFTER = 16  # processes or threads a server may keep once every client has gone
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + bytes(range(256))
FILES = {  # URL path → (bytes, the media type a Content-Type must name)
    "/index.html": (webroot.files()[webroot.INDEX], "text/html"),
    "/big.html": (webroot.files()[webroot.BIG], "text/html"),
    "/style.css": (webroot.files()[webroot.CACHED], "text/css"),
    "/logo.png": (PNG, "image/png"),
    "/notes.txt": (b"plain text, served as it is\n" * 20, "text/plain"),
}
TRAVERSALS = ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2E%2E%2Fsecret.txt",
              "/../../etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd")
PASSWD_MARK = b"root:x:0:0:"

INSTRUCTIONS = """\
A web server is a loop around accept(). The lab has made web's listening
socket for you: bound to port 80 (with SO_REUSEADDR, so a restart does not
wait for old connections in TIME_WAIT) and listening, with a backlog of 1024:
the kernel completes up to that many handshakes on its own and queues them
until your code calls accept(), which returns a new socket for one client.

Your task: write `serve(listener, docroot)`, a static HTTP/1.1 server that
runs until the lab stops it (it never returns). For every connection:
  1. read the request: recv() until the blank line (b"\\r\\n\\r\\n") that ends
     the head, since a request may arrive in several segments;
  2. parse the request line "GET /path HTTP/1.1": anything else is answered
     "400 Bad Request";
  3. decode %xx escapes (urllib.parse.unquote), map "/" to /index.html, and
     refuse any path that leaves `docroot` (normalise it and check; a file
     outside the docroot is never sent, whether the path says .. or %2e%2e);
  4. answer "200 OK" with the file's bytes, a Content-Type for its kind
     (mimetypes.guess_type: text/html, text/css, image/png, text/plain) and
     a Content-Length equal to the body; "404 Not Found" if there is no file;
  5. close the connection (or, with keep-alive, close it when the client
     has: recv() returns b""). A socket the peer closed and you did not
     stays in CLOSE_WAIT for ever.

--set model=... picks the server you write (default: thread):
  blocking     one loop: accept, serve, close, accept again. One client at a
               time: while it reads a slow client, everyone else waits.
  process      a child process per connection (os.fork()): the child serves
               and exits; the parent closes its copy of the connection
               socket and reaps its children (waitpid, or SIGCHLD ignored),
               or they stay as zombies.
  thread       a thread per connection (threading.Thread), all in one
               process; each thread closes its own socket.
  nonblocking  one thread, no waiting: listener.setblocking(False); accept()
               and recv() raise BlockingIOError when there is nothing yet;
               keep a list of open connections and try each in turn.
  epoll        one thread, select.epoll(): register the listener and every
               connection for EPOLLIN, and serve whichever the kernel says
               is ready (with EPOLLET, edge-triggered, read until
               BlockingIOError: the kernel tells about new data only once).
  asyncio      one thread, coroutines: asyncio.start_server(handler,
               sock=listener), and an asyncio.Event().wait() to run forever.

What the lab does, from the client machine, with real kernel TCP sockets:
each file, a missing file, a malformed request line and six path-traversal
tricks, one connection each; then a slow client sends half a request and
waits 1.5 s while 5 others must be served; then 100 clients (1000 for
nonblocking, epoll and asyncio) connect at the same moment and must all be
served. It reads from web's kernel how many processes and threads your
server runs (does it match the model?) and, once every client has closed,
whether any of your sockets is left in CLOSE_WAIT.

    protolab run webserver --set model=epoll --solution my_server.py
"""


# -- the reference solution: a thread per connection ------------------------------------------------

def serve(listener, docroot):
    """Accept for ever; each connection is served by a thread of its own."""
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(conn, docroot), daemon=True).start()


def serve_connection(conn, docroot):
    with conn:
        conn.settimeout(10)
        try:
            head = read_head(conn)
        except OSError:
            return
        if head is not None:
            conn.sendall(respond(head, docroot))


def read_head(conn):
    """The request's head (up to the blank line), or None if the client closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data or None
        data += chunk
        if len(data) > 65536:
            break
    return data


def respond(head, docroot):
    """The whole response to a request head."""
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[1].startswith("/") or not parts[2].startswith("HTTP/"):
        return message(400, "Bad Request", b"bad request\n", "text/plain")
    path = unquote(parts[1].split("?", 1)[0])
    if path == "/":
        path = "/index.html"
    root = os.path.realpath(docroot)
    file = os.path.realpath(os.path.join(root, path.lstrip("/")))
    if not file.startswith(root + os.sep) or not os.path.isfile(file):
        return message(404, "Not Found", b"not found\n", "text/plain")
    with open(file, "rb") as f:
        body = f.read()
    return message(200, "OK", body, mimetypes.guess_type(file)[0] or "application/octet-stream")


def message(status, reason, body, ctype):
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


# -- the procedure ------------------------------------------------------------------------------------

def limits_for(model: str) -> Limits:
    """What the student's server may use: the sandbox's defaults, raised only as far as its model needs."""
    if model in ("thread", "process"):  # 100 connections at once, a thread or process each, and a margin
        return Limits(processes=256, open_files=512, memory=1536 * 1024 * 1024)  # thread stacks are 8 MiB each
    if MANY[model] > 100:  # 1000 connections at once in one process
        return Limits(open_files=2048)
    return Limits()


@contextmanager
def site_folder():
    """The lab's files: www/ (the docroot) and, beside it, a secret no request may reach."""
    folder = tempfile.mkdtemp(prefix="protolab-webserver-")
    try:
        os.chmod(folder, 0o755)
        www = os.path.join(folder, "www")
        os.makedirs(www)
        os.chmod(www, 0o755)
        for path, (content, _) in FILES.items():
            with open(www + path, "wb") as f:
                f.write(content)
            os.chmod(www + path, 0o644)
        canary = "protolab-secret-" + secrets.token_hex(8)
        with open(os.path.join(folder, SECRET), "w") as f:
            f.write(canary + "\n")
        os.chmod(os.path.join(folder, SECRET), 0o644)
        yield folder, canary
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Sampler:
    """The peak of the server's processes and threads, read from the kernel every few ms."""

    def __init__(self, uid: int | None) -> None:
        self.uid, self.peak = uid, Tally()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = self.peak.most(tasks_of(self.uid))

    def __enter__(self) -> Sampler:
        if self.uid is not None:
            self.peak = tasks_of(self.uid)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def procedure(ctx: LabContext) -> None:
    model, many = ctx.params["model"], ctx.params["clients"] or MANY[ctx.params["model"]]
    web, client, server_ip = ctx.node("web"), ctx.node("client"), ctx.ip("web")
    folder, canary = ctx.use(site_folder())
    listener = web.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", PORT))
    listener.listen(BACKLOG)
    flags_view = os.dup(listener.fileno())  # the same open file: shows the O_NONBLOCK the student sets
    ctx.stack.callback(os.close, flags_view)
    ctx.say(f"web: a listening socket on port {PORT} (backlog {BACKLOG}) handed to your serve(), model={model}")
    server = ctx.start_student(listener, DOCROOT, binds={SANDBOX_SITE: folder}, limits=limits_for(model))
    listener.close()  # the student's copy is the only one that accepts
    if not server.wait_ready(10.0):
        server.stop()
        return
    plan: dict = {"canary": canary}
    ctx.fact("plan", plan)

    def get(target: str, raw: bytes | None = None) -> int:
        reply = fetch(client, server_ip, PORT, raw or f"GET {target} HTTP/1.1\r\nHost: web\r\n\r\n".encode())
        return reply.port

    ctx.say("client: each file, a missing file, a malformed request line and path-traversal tricks, one at a time")
    plan["files"] = [(get(path), path) for path in ("/", *FILES)]
    plan["missing"] = [(get("/nothing-here.html"), "GET /nothing-here.html")]
    plan["malformed"] = [(get("", b"HELLO\r\n\r\n"), "the request line HELLO")]
    plan["traversal"] = [(get(path), path) for path in TRAVERSALS]

    uid = server.uid()
    with Sampler(uid) as sampler:
        ctx.say(f"client: a slow client sends half a request and waits {SLOW_WAIT:g} s; 5 others ask meanwhile")
        slow = SlowClient(client, server_ip, PORT, SLOW_HEAD)
        fast: list = []
        asking = threading.Thread(target=lambda: fast.extend(fetch_many(
            client, server_ip, PORT, [b"GET /style.css HTTP/1.1\r\nHost: web\r\n\r\n"] * 5, SLOW_WAIT + 4,
            together=False)))
        asking.start()
        asking.join(SLOW_WAIT)
        slow.early()
        slow.finish(SLOW_REST)
        asking.join()
        plan.update(slow=slow.reply.port, fast=[r.port for r in fast], split=len(SLOW_HEAD))
        ctx.say(f"client: {many} clients connect at the same moment, then ask for /big.html")
        replies = fetch_many(client, server_ip, PORT, [b"GET /big.html HTTP/1.1\r\nHost: web\r\n\r\n"] * many, 20.0)
        plan.update(many=[r.port for r in replies], many_path="/big.html")
    nonblocking = not os.get_blocking(flags_view)
    ctx.fact("server.peak", {"processes": sampler.peak.processes, "threads": sampler.peak.threads,
                             "epoll": sampler.peak.eventpoll, "nonblocking_listener": nonblocking})
    ctx.fact("model", model_problems(model, sampler.peak, nonblocking, many) if uid is not None else
             ["the lab could not find your server's processes"])
    ctx.fact("leaks", leak_problems(web, uid))
    ctx.fact("server.running", server.running)
    server.stop()


def model_problems(model: str, peak: Tally, nonblocking: bool, many: int) -> list[str]:
    """What the kernel showed of the server that does not fit the model asked for."""
    seen = f"your server ran {peak.processes} process(es) and {peak.threads} thread(s) at most while {many} clients were connected"
    if model == "process":
        return [] if peak.processes >= 2 else [f"{seen}: model=process asks for a child process per connection (os.fork())"]
    if peak.processes > 1:
        return [f"{seen}: it forks, which is the process model; model={model} asks for one process"]
    if model == "thread":
        return [] if peak.threads >= 2 else [f"{seen}: one thread serves everyone, so model=thread is not what it does "
                                             "(start a threading.Thread per connection)"]
    if peak.threads > 1:
        return [f"{seen}: it starts threads, which is the thread model; model={model} asks for one thread"]
    if model in ("epoll", "asyncio") and not peak.eventpoll:
        return [f"your server holds no epoll instance: model={model} waits for the kernel's readiness events "
                "(select.epoll(), or asyncio's event loop)"]
    if model == "nonblocking" and not nonblocking:
        return ["the listening socket stayed blocking: model=nonblocking asks for listener.setblocking(False)"]
    if model == "blocking" and (nonblocking or peak.eventpoll):
        return ["your server uses non-blocking sockets or epoll: model=blocking asks for plain blocking accept() and recv()"]
    return []


def leak_problems(web, uid: int | None, wait: float = 2.0) -> list[str]:
    """Sockets of port 80 left in CLOSE_WAIT, and tasks left, once every client has closed."""
    end = time.monotonic() + wait
    while True:
        left = tcp_sockets(web, port=PORT, states={"CLOSE_WAIT"})
        after = tasks_of(uid) if uid is not None else Tally()
        settled = not left and after.zombies == 0 and max(after.processes, after.threads) <= LEFT_AFTER
        if settled or time.monotonic() >= end:
            break
        time.sleep(0.05)
    problems = []
    if left:
        problems.append(f"{len(left)} socket(s) of your server are still in CLOSE_WAIT {wait:g} s after their clients "
                        f"closed (e.g. the one to {left[0].peer[0]}:{left[0].peer[1]}): the client sent its FIN, your "
                        "code never closed its socket")
    if after.zombies:
        problems.append(f"{after.zombies} child process(es) of your server ended and were never waited for (zombies): "
                        "reap them with os.waitpid() or signal.signal(signal.SIGCHLD, signal.SIG_IGN)")
    if max(after.processes, after.threads) > LEFT_AFTER:
        problems.append(f"once every client had gone your server still ran {after.processes} process(es) and "
                        f"{after.threads} thread(s) (at most {LEFT_AFTER} may stay): each connection's worker must end")
    return problems


def wire_facts(trace, params, facts) -> dict:
    """The HTTP each client got, read from the capture (not from what the clients said)."""
    plan = facts.get("plan")
    if not plan:
        return {}
    site = Site(FILES, (plan["canary"].encode(), PASSWD_MARK))
    return {f"wire.{name}": problems for name, problems in audit(trace.frames, PORT, plan, site).items()}


def expectation(topology, params) -> Expectation:
    web = str(topology.node("web").ip)
    many = params["clients"] or MANY[params["model"]]
    steps = (
        Step("a client connects to web:80", match=(SentBy("client"), F("ip.dst") == web, F("tcp.dport") == PORT,
                                                   Flags("S"))),
        Step("web's kernel accepts the connection", match=(SentBy("web"), F("tcp.sport") == PORT, Flags("SA"))),
    )
    facts = [
        Check(Clean("wire.files"), "200 with the file's bytes, its Content-Type and a Content-Length equal to the body"),
        Check(Clean("wire.missing"), "404 for a file that does not exist"),
        Check(Clean("wire.malformed"), "400 for a malformed request line"),
        Check(Clean("wire.traversal"), "no file outside the docroot, however the path is written (.., %2e%2e, %2f)"),
        Check(Clean("wire.many"), f"all {many} clients connected at the same moment are served"),
        Check(Clean("model"), f"web's kernel shows the {params['model']} model (processes, threads, epoll)"),
        Check(Clean("leaks"), "no socket left in CLOSE_WAIT after the clients closed, no zombie, workers end"),
    ]
    if params["model"] != "blocking":  # the lesson of the blocking model is that it cannot pass this one
        facts.insert(4, Check(Clean("wire.slow"), "while one client sends half a request and waits, the others are served"))
    return Expectation("a static web server on sockets", steps=steps, facts=tuple(facts))


LAB = Lab(
    name="webserver", title="A static web server on sockets",
    summary="Write the server on web (blocking, process, thread, nonblocking, epoll, asyncio); real clients prove it",
    instructions=INSTRUCTIONS, student=serve, procedure=procedure, expectation=expectation,
    columns=("client", "router", "web"),
    params={"model": "thread", "clients": 0},
    limits={"model": OneOf(*MODELS), "clients": Range(0, 1000, note="0: 100, or 1000 for nonblocking, epoll, asyncio")},
    param_help={"model": "which server you write (see above)",
                "clients": "how many clients connect at the same moment"},
    timeout=90.0,  # the longest the server runs: the whole procedure
    student_node="web",
    wire_facts=wire_facts,
    facts={
        "plan": ("which client port asked what (the lab's own record)", dict),
        "wire.*": ("what the capture shows wrong in that test (empty: nothing)", list),
        "server.peak": ("the most processes and threads your server ran, read from web's kernel", dict),
        "server.running": ("your server still ran when the lab was done", bool),
        "model": ("how the server's processes and threads differ from the model asked for", list),
        "leaks": ("sockets in CLOSE_WAIT, zombies and workers left once the clients had gone", list),
    },
)
