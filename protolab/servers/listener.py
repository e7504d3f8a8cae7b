"""A plain kernel TCP listener inside a node, owned by the lab process.

The socket lives in the node's namespace; a thread accepts connections and
records who connected and when. Ready as soon as listen() returns.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from ..backends.base import NodeHandle
from .process import ServiceError


@dataclass
class Accepted:
    peer: tuple[str, int]
    time: float
    conn: socket.socket = field(repr=False)


class TcpListener:
    """`with TcpListener(web, 80) as srv: ...; srv.wait_accept(0.5)`"""

    def __init__(self, node: NodeHandle, port: int, backlog: int = 16) -> None:
        if not 0 <= port <= 65535:  # bind() would raise OverflowError
            raise ServiceError(f"cannot listen on port {port} in node {node.name}: a TCP port is 0 to 65535")
        self.node = node
        self.port = port
        self.backlog = backlog
        self.accepted: list[Accepted] = []
        self._event = threading.Condition()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> TcpListener:
        sock = self.node.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", self.port))
        sock.listen(self.backlog)
        sock.settimeout(0.05)
        self._sock = sock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"listener-{self.node.name}", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with self._event:
                self.accepted.append(Accepted(peer, time.monotonic(), conn))
                self._event.notify_all()

    def wait_accept(self, timeout: float) -> Accepted | None:
        """The first accepted connection, waiting up to `timeout` s for one."""
        with self._event:
            self._event.wait_for(lambda: bool(self.accepted), timeout)
            return self.accepted[0] if self.accepted else None

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._sock:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept() now, not at its next poll
            except OSError:
                pass
        if self._thread:
            self._thread.join()
        for acc in self.accepted:
            acc.conn.close()
        if self._sock:
            self._sock.close()
