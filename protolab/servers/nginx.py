"""nginx as the lab's web server, serving the files of webroot.py for one run.

    with NginxServer(deployment.node("web"), NginxConfig(keepalive_requests=3)) as web:
        web.url(INDEX)                 # http://10.0.2.80:80/index.html
        web.change_file(INDEX, b"...") # the file changes: a new ETag from the next request on
        web.wait_log(3)                # the access log: which requests shared a connection

Everything lives in one folder of the run's work directory, http/<node> (one
server per node at a time), which the compose backend shares with its
containers at the same path: nginx.conf, the docroot, the pid file, the error
and access logs and nginx's temp folders. nginx runs in the foreground inside
the node (on compose: the container's own nginx, through its mount namespace),
its master as root, its one worker as an unprivileged user (www-data: Debian's
base system has it, on the host and in the image). It listens on one IPv4
address of the node only.

What it answers (paths from webroot.py):
    INDEX, BIG, CACHED   200 with ETag and Last-Modified; 304 to If-None-Match /
                         If-Modified-Since; CACHED also with Cache-Control: max-age=N
    REDIRECT             301, Location: INDEX (relative: absolute_redirect off)
    /private/...         403 (deny all)
    anything else        404
    COOKIE               200, Set-Cookie: <cookie>; the body echoes the Cookie header sent
    a static file with a method other than GET/HEAD
                         405 with Allow: GET, HEAD. nginx itself answers 405 to POST
                         or DELETE on a static file but without Allow; its 405 goes
                         through `error_page 405` to a named location that adds it.
    READY                200 (a copy of INDEX), not logged: the readiness probe's path
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..backends.base import NodeHandle
from . import webroot
from .process import FolderService, NodeProgram, ServiceError

PROGRAM = "nginx"
REDIRECT = "/old"
COOKIE = "/cookie"
READY = "/.ready"
ALLOW = "GET, HEAD"
LOG_POLL = 0.005  # seconds between reads of the access log while waiting for entries

# One JSON object per request (escape=json makes the request line safe to embed).
LOG_FORMAT = (
    '{"time":$msec,"connection":$connection,"connection_requests":$connection_requests,'
    '"client":"$remote_addr","client_port":$remote_port,"request":"$request",'
    '"status":$status,"body_bytes_sent":$body_bytes_sent}'
)
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_COOKIE = re.compile(r"[A-Za-z0-9_-]+=[A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class NginxConfig:
    """What the web server does; `address` None means the node's first address."""

    address: str | None = None
    port: int = 80
    user: str = "www-data"  # the workers' user
    keepalive_requests: int = 5  # requests per connection; nginx closes it after the last
    keepalive_timeout: float = 5.0  # seconds an idle kept-alive connection stays open (0: no keep-alive)
    client_header_timeout: float = 60.0  # seconds a request head may take to arrive; then nginx closes (408, logged)
    max_age: int = 60  # Cache-Control: max-age of CACHED
    cookie: str = "session=lab1"  # what COOKIE sets

    def __post_init__(self) -> None:
        if self.address is not None:
            try:
                ipaddress.IPv4Address(self.address)
            except ValueError:
                raise ServiceError(f"nginx: listen address {self.address!r} is not an IPv4 address") from None
        if not 1 <= self.port <= 65535:
            raise ServiceError(f"nginx: port {self.port} is not a TCP port (1 to 65535)")
        if not _USER.fullmatch(self.user):
            raise ServiceError(f"nginx: {self.user!r} is not a user name")
        if self.keepalive_requests < 1:
            raise ServiceError(f"nginx: keepalive_requests must be 1 or more, not {self.keepalive_requests}")
        if not 0 <= self.keepalive_timeout <= 3600:
            raise ServiceError(f"nginx: keepalive_timeout must be 0 to 3600 s, not {self.keepalive_timeout}")
        if not 0.001 <= self.client_header_timeout <= 3600:
            raise ServiceError(f"nginx: client_header_timeout must be 0.001 to 3600 s, not {self.client_header_timeout}")
        if self.max_age < 0:
            raise ServiceError(f"nginx: max_age must be 0 or more, not {self.max_age}")
        if not _COOKIE.fullmatch(self.cookie):
            raise ServiceError(f"nginx: cookie {self.cookie!r} is not NAME=VALUE (letters, digits, _ - .)")

    def render(self, directory: Path) -> str:
        """The nginx.conf text, with every file nginx writes inside `directory`."""
        if self.address is None:
            raise ServiceError("nginx: no listen address (NginxServer fills in the node's)")
        d = directory
        lines = [
            "# written by protolab for one run",
            "daemon off;",
            f"user {self.user};",
            "worker_processes 1;",
            f"pid {d}/nginx.pid;",
            f"lock_file {d}/nginx.lock;",
            f"error_log {d}/error.log notice;",
            "events {",
            "    worker_connections 64;",
            "}",
            "http {",
            "    server_tokens off;",
            "    types { text/html html; text/css css; text/plain txt; }",
            "    default_type application/octet-stream;",
            f"    log_format lab escape=json '{LOG_FORMAT}';",
            f"    access_log {d}/access.log lab;",
            *(f"    {kind}_temp_path {d}/{kind}_temp;" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
            f"    keepalive_requests {self.keepalive_requests};",
            f"    keepalive_timeout {round(self.keepalive_timeout * 1000)}ms;",
            f"    client_header_timeout {round(self.client_header_timeout * 1000)}ms;",
            "    absolute_redirect off;",
            "    server {",
            f"        listen {self.address}:{self.port};",
            "        server_name web;",
            f"        root {d}/docroot;",
            "        index index.html;",
            "        error_page 405 @not_allowed;",
            "        location / {",
            "        }",
            f"        location {Path(webroot.CACHED).parent}/ {{",
            f'            add_header Cache-Control "max-age={self.max_age}";',
            "        }",
            f"        location {Path(webroot.FORBIDDEN).parent}/ {{",
            "            deny all;",
            "        }",
            f"        location = {REDIRECT} {{",
            f"            return 301 {webroot.INDEX};",
            "        }",
            f"        location = {COOKIE} {{",
            f'            add_header Set-Cookie "{self.cookie}; Path=/";',
            "            default_type text/plain;",
            '            return 200 "Cookie: $http_cookie\\n";',
            "        }",
            f"        location = {READY} {{",  # proves the workers can read the docroot
            "            access_log off;",
            f"            alias {d}/docroot{webroot.INDEX};",
            "        }",
            "        location @not_allowed {",
            f'            add_header Allow "{ALLOW}" always;',
            "            return 405;",
            "        }",
            "    }",
            "}",
        ]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class AccessEntry:
    """One line of nginx's access log: which connection served which request."""

    time: float  # the request's end, Unix time (ms resolution)
    connection: int  # nginx's serial number of the connection
    connection_requests: int  # this request's number on that connection, from 1
    client: tuple[str, int]
    request: str  # the request line, e.g. "GET /index.html HTTP/1.1"
    status: int
    body_bytes_sent: int

    @property
    def method(self) -> str:
        return self.request.split(" ", 1)[0]

    @property
    def path(self) -> str:
        parts = self.request.split(" ")
        return parts[1] if len(parts) > 1 else ""


def parse_access_log(text: str) -> list[AccessEntry]:
    """The complete lines of an access log in the `lab` format (a line still being written is skipped)."""
    entries = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        raw = json.loads(line)
        entries.append(AccessEntry(
            float(raw["time"]), raw["connection"], raw["connection_requests"], (raw["client"], raw["client_port"]),
            raw["request"], raw["status"], raw["body_bytes_sent"]))
    return entries


class NodeHTTPConnection(http.client.HTTPConnection):
    """http.client over a kernel TCP socket opened inside `node`'s namespace."""

    def __init__(self, node: NodeHandle, host: str, port: int = 80, timeout: float = 2.0) -> None:
        super().__init__(host, port, timeout=timeout)
        self.node = node

    def connect(self) -> None:
        sock = self.node.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect((self.host, self.port))
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class HttpProbe:
    """True once `GET READY` from inside the server's own node is answered 200 (never crosses a link)."""

    def __init__(self, node: NodeHandle, address: str, port: int, wait: float = 0.2) -> None:
        self.node, self.address, self.port, self.wait = node, address, port, wait
        self.status: int | None = None  # the last answer's status, once nginx answers at all

    def __call__(self) -> bool:
        conn = NodeHTTPConnection(self.node, self.address, self.port, timeout=self.wait)
        try:
            conn.request("GET", READY, headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            self.status = response.status
            return response.status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()


class NginxServer(FolderService):
    """nginx in `node` for the length of a `with` block, configured by `config`."""

    def __init__(self, node: NodeHandle, config: NginxConfig | None = None, *, ready_timeout: float = 3.0) -> None:
        super().__init__(node, "http", ready_timeout)
        config = config or NginxConfig()
        if config.address is None:
            config = replace(config, address=str(node.node.ip))
        self.config = config
        self._probe: HttpProbe | None = None

    @property
    def docroot(self) -> Path:
        return self.directory / "docroot"

    def url(self, path: str = webroot.INDEX) -> str:
        return f"http://{self.config.address}:{self.config.port}{path}"

    def __enter__(self) -> NginxServer:
        self.fresh_folder()
        try:
            for folder in (self.directory, self.directory.parent):
                folder.chmod(0o755)
            _reachable_by_workers(self.directory)
            webroot.write_docroot(self.docroot)
            conf = self.directory / "nginx.conf"
            conf.write_text(self.config.render(self.directory))
            probe = self._probe = HttpProbe(self.node, self.config.address, self.config.port)
            self.program = NodeProgram(
                self.node, [PROGRAM, "-p", f"{self.directory}/", "-e", "stderr", "-c", str(conf)],
                what="nginx", log=self.directory / "nginx.log", probe=probe, ready_timeout=self.ready_timeout,
            )
            self.program.__enter__()
        except ServiceError as exc:
            problem = self._start_problem()
            self.__exit__()
            if problem is None:
                raise
            raise ServiceError(f"nginx in node {self.node.name} could not start: {problem}") from exc
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_problem(self) -> str | None:
        """Why nginx did not start: its first fatal complaint, or the wrong answer it gave the probe."""
        first = _first_emergency(self.directory / "nginx.log")
        if first is not None:
            return first
        status = self._probe.status if self._probe else None
        if status is not None:
            return f"it answered {status} to GET {READY} (a copy of {webroot.INDEX}) instead of 200"
        return None

    def connection(self, node: NodeHandle, timeout: float = 2.0) -> NodeHTTPConnection:
        """An http.client connection to this server from a socket in `node` (not connected yet)."""
        return NodeHTTPConnection(node, self.config.address, self.config.port, timeout=timeout)

    def change_file(self, path: str, content: bytes) -> str:
        """Change the file at URL `path` while nginx runs; the ETag nginx sends for it from now on."""
        return webroot.etag_of(webroot.replace_file(self.docroot, path, content))

    def etag(self, path: str) -> str:
        """The ETag nginx sends for the file at URL `path`."""
        return webroot.etag_of(webroot.file_of(self.docroot, path))

    def last_modified(self, path: str) -> str:
        return webroot.last_modified_of(webroot.file_of(self.docroot, path))

    def access_log(self) -> list[AccessEntry]:
        """Every request logged so far, in order (the readiness probe's are not)."""
        try:
            text = (self.directory / "access.log").read_text()
        except FileNotFoundError:
            return []
        return parse_access_log(text)

    def wait_log(self, count: int, timeout: float = 1.0) -> list[AccessEntry]:
        """The access log once it has `count` entries, or as it is after `timeout` s.

        nginx logs a request just after it has sent the response, so a client
        that has read its answer may look before the line is there."""
        deadline = time.monotonic() + timeout
        while True:
            entries = self.access_log()
            if len(entries) >= count or time.monotonic() > deadline:
                return entries
            time.sleep(LOG_POLL)


def _first_emergency(log: Path) -> str | None:
    """nginx's first fatal complaint at start, without its prefix (it retries a busy port and
    ends with 'still could not bind()', which names no cause)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    found = re.search(r"\[emerg\] (?:\d+#\d+: )?(.+)", text)
    return found.group(1).strip() if found else None


def _reachable_by_workers(directory: Path) -> None:
    """The workers run unprivileged: every folder above the docroot must let others pass."""
    for folder in [directory, *directory.parents]:
        if not folder.stat().st_mode & 0o001:
            raise ServiceError(f"nginx: its workers cannot reach {directory}: {folder} is closed to other users")
