"""Real HTTP clients in a node: kernel TCP sockets of its namespace, driven by the lab.

    reply = fetch(client, "10.0.2.80", 80, b"GET / HTTP/1.1\\r\\nHost: web\\r\\n\\r\\n")
    slow = SlowClient(client, "10.0.2.80", 80, first_half)   # connects, sends half, waits
    replies = fetch_many(client, "10.0.2.80", 80, requests)  # all connected at once, then all asked

Each client reads one response (by its Content-Length, or to the server's
close), then closes its socket, as a browser that is done with a page does.
The lab checks what the server sent on the wire (wire/http.py); a `Reply`
only tells the lab when a client is done and what it saw.
"""

from __future__ import annotations

import selectors
import socket
import time
from dataclasses import dataclass, field

from ..backends.base import NodeHandle

HEAD_END = b"\r\n\r\n"


@dataclass
class Reply:
    """What one client saw: its port, the bytes it received, and how it ended."""

    port: int = 0
    data: bytearray = field(default_factory=bytearray)
    error: str = ""  # "refused", "timed out", "reset", ...
    done: bool = False  # a whole response arrived (or the server closed)
    closed_by_server: bool = False

    @property
    def status(self) -> int | None:
        line = bytes(self.data).split(b"\r\n", 1)[0].split()
        return int(line[1]) if len(line) >= 2 and line[1].isdigit() else None

    def complete(self) -> bool:
        """A whole response is in `data`: its head, and the body its Content-Length announces."""
        end = self.data.find(HEAD_END)
        if end < 0:
            return False
        length = content_length(bytes(self.data[:end]))
        return length is not None and len(self.data) - end - len(HEAD_END) >= length


def content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return None


def _connect(node: NodeHandle, server: str, port: int) -> socket.socket:
    sock = node.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each send() its own segment
    sock.connect_ex((server, port))
    return sock


class _Conn:
    def __init__(self, sock: socket.socket, request: bytes) -> None:
        self.sock, self.out, self.reply = sock, request, Reply()
        self.connected = False


def fetch_many(node: NodeHandle, server: str, port: int, requests: list[bytes], timeout: float = 10.0,
               together: bool = True) -> list[Reply]:
    """One connection per request. `together`: every connection is open before any request is sent
    (C clients at the same moment), and none is closed before every response is in."""
    sel = selectors.DefaultSelector()
    conns = [_Conn(_connect(node, server, port), r) for r in requests]
    deadline = time.monotonic() + timeout
    try:
        for c in conns:
            sel.register(c.sock, selectors.EVENT_WRITE, c)
        pending_connect = len(conns)
        while pending_connect and time.monotonic() < deadline:
            for key, _ in sel.select(min(0.2, max(0.0, deadline - time.monotonic()))):
                c = key.data
                if c.connected:
                    continue
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                c.connected, pending_connect = True, pending_connect - 1
                if err:
                    c.reply.error, c.reply.done = ("refused" if err == 111 else f"connect error {err}"), True
                    sel.unregister(c.sock)
                    continue
                c.reply.port = c.sock.getsockname()[1]
                if not together:
                    _send_and_watch(sel, c)
                else:
                    sel.unregister(c.sock)  # asked once every connection is open
        if together:
            for c in conns:
                if c.connected and not c.reply.done:
                    _send_and_watch(sel, c)
        while any(not c.reply.done for c in conns) and time.monotonic() < deadline:
            for key, _ in sel.select(min(0.2, max(0.0, deadline - time.monotonic()))):
                _read(sel, key.data)
        for c in conns:
            if not c.reply.done:
                c.reply.error = c.reply.error or ("timed out" if c.connected else "no connection within the time")
    finally:
        for c in conns:
            c.sock.close()
        sel.close()
    return [c.reply for c in conns]


def _send_and_watch(sel: selectors.BaseSelector, c: _Conn) -> None:
    try:
        c.sock.setblocking(True)
        c.sock.settimeout(2.0)
        c.sock.sendall(c.out)
        c.sock.setblocking(False)
    except OSError as exc:
        c.reply.error, c.reply.done = f"send failed: {exc.strerror or exc}", True
        sel.unregister(c.sock)
        return
    try:
        sel.modify(c.sock, selectors.EVENT_READ, c)
    except KeyError:
        sel.register(c.sock, selectors.EVENT_READ, c)


def _read(sel: selectors.BaseSelector, c: _Conn) -> None:
    try:
        chunk = c.sock.recv(65536)
    except BlockingIOError:
        return
    except OSError as exc:
        c.reply.error, c.reply.done = ("reset" if isinstance(exc, ConnectionResetError) else str(exc)), True
        sel.unregister(c.sock)
        return
    if not chunk:
        c.reply.done = c.reply.closed_by_server = True
        sel.unregister(c.sock)
        return
    c.reply.data += chunk
    if c.reply.complete():
        c.reply.done = True
        sel.unregister(c.sock)


def fetch(node: NodeHandle, server: str, port: int, request: bytes, timeout: float = 3.0) -> Reply:
    """One request on a connection of its own; closed once the response is in."""
    return fetch_many(node, server, port, [request], timeout, together=False)[0]


class SlowClient:
    """A client that connects, sends the first part of its request and waits: `finish()` sends the rest."""

    def __init__(self, node: NodeHandle, server: str, port: int, first: bytes) -> None:
        self.sock = node.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(3.0)
        self.reply = Reply()
        self.sock.connect((server, port))
        self.reply.port = self.sock.getsockname()[1]
        self.sock.sendall(first)

    def early(self, wait: float = 0.0) -> bytes:
        """What the server sent before the request was complete (it should be nothing)."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536) if wait else b""
        except (TimeoutError, socket.timeout, BlockingIOError):
            data = b""
        except OSError:
            data = b""
        self.reply.data += data
        return data

    def finish(self, rest: bytes, timeout: float = 5.0) -> Reply:
        deadline = time.monotonic() + timeout
        try:
            self.sock.sendall(rest)
            while not self.reply.complete() and time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.reply.closed_by_server = True
                    break
                self.reply.data += chunk
            self.reply.done = True
        except (TimeoutError, socket.timeout):
            self.reply.error = "timed out"
        except OSError as exc:
            self.reply.error = "reset" if isinstance(exc, ConnectionResetError) else str(exc)
        finally:
            self.sock.close()
        return self.reply
