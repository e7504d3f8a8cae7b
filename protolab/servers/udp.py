"""A kernel UDP service inside a node that records every datagram (and may echo it).

    echo = ctx.use(UdpService(ctx.node("web"), 7, echo=True))
    ...
    echo.wait_for(3, timeout=0.5)       # the first three datagrams, waiting up to 0.5 s
    [d.payload for d in echo.received]  # what web's application read, in order

The socket lives in the node's namespace and is owned by the lab process; a
thread reads it. Ready as soon as bind() returns: the kernel queues whatever
arrives from then on, so the lab may act at once.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from dataclasses import dataclass

from ..backends.base import NodeHandle
from .process import ServiceError

MAX_DATAGRAM = 65535


@dataclass(frozen=True)
class Datagram:
    """One datagram the service read: who sent it, what it held, when (time.monotonic())."""

    source: tuple[str, int]
    payload: bytes
    time: float
    echoed: bool = False  # the service sent the payload back to `source`


class UdpService:
    """Records every datagram to `port` in `node`; with `echo`, sends each one back to its sender."""

    def __init__(self, node: NodeHandle, port: int, *, echo: bool = False, address: str = "0.0.0.0") -> None:
        if not 1 <= port <= 65535:
            raise ServiceError(f"cannot serve UDP on port {port} in node {node.name}: a UDP port is 1 to 65535")
        self.node, self.port, self.echo, self.address = node, port, echo, address
        self.received: list[Datagram] = []
        self._arrived = threading.Condition()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = -1

    def __enter__(self) -> UdpService:
        sock = self.node.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.address, self.port))
        except OSError as exc:
            sock.close()
            raise ServiceError(f"cannot serve UDP on {self.address}:{self.port} in node {self.node.name}: "
                               f"{exc.strerror or exc}") from None
        self._sock = sock
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)  # written at exit: wakes the thread now
        self._thread = threading.Thread(target=self._serve, name=f"udp-{self.node.name}-{self.port}", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._sock is not None
        while True:
            ready = select.select([self._sock, self._wake_r], [], [])[0]
            if self._wake_r in ready:
                return
            try:
                payload, source = self._sock.recvfrom(MAX_DATAGRAM)
            except OSError:  # an ICMP error for an earlier echo, reported on this socket: not a datagram
                continue
            echoed = False
            if self.echo:
                try:
                    self._sock.sendto(payload, source)
                    echoed = True
                except OSError:
                    pass
            with self._arrived:
                self.received.append(Datagram((source[0], source[1]), payload, time.monotonic(), echoed))
                self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float) -> list[Datagram]:
        """The datagrams read so far once there are `count` of them, or after `timeout` s."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            os.write(self._wake_w, b"x")
            self._thread.join()
            self._thread = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        if self._sock is not None:
            self._sock.close()
            self._sock = None

