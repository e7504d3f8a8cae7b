"""What a server application reads from an accepted TCP connection, and data it sends on one.

    with TcpListener(web, 80) as listener:
        ...                                        # the peer connects and sends
        conn = accepted_from(listener, peer, 0.3)  # the accepted socket of that peer, or None
        queued_reads(conn, 11, timeout=0.3)        # [b"onetwothree"]: each recv() once 11 bytes are queued

    with SendOnAccept(listener, peer, b"x" * 2000):  # web writes 2000 bytes as soon as it accepts peer
        ...

A TCP socket hands its application bytes, not messages: one recv() returns
everything the kernel has queued, however many segments (or send() calls of
the peer) carried it. `queued_reads` waits until the kernel holds the bytes,
then reads as an application would, and returns each recv()'s result.
"""

from __future__ import annotations

import fcntl
import select
import socket
import struct
import termios
import threading
import time

from .listener import Accepted, TcpListener

POLL = 0.005  # seconds between looks at the receive queue
READ_SIZE = 65536


def queued_bytes(conn: socket.socket) -> int:
    """How many bytes the kernel holds for the application to read (SIOCINQ)."""
    return struct.unpack("i", fcntl.ioctl(conn.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def queued_reads(conn: socket.socket, expect: int, timeout: float) -> list[bytes]:
    """The application's reads once `expect` bytes are queued (or after `timeout` s): each recv()
    until nothing more is there, end-of-file left out."""
    deadline = time.monotonic() + timeout
    try:
        while queued_bytes(conn) < expect and time.monotonic() < deadline:
            time.sleep(POLL)
    except OSError:
        return []
    reads: list[bytes] = []
    while select.select([conn], [], [], 0)[0]:
        try:
            chunk = conn.recv(READ_SIZE, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:  # reset by the peer: what was read stays
            break
        if not chunk:
            break
        reads.append(chunk)
    return reads


def accepted_from(listener: TcpListener, peer: tuple[str, int] | None, timeout: float) -> Accepted | None:
    """The connection `listener` accepted from `peer` (any peer if None), waiting up to `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = next((a for a in list(listener.accepted) if peer is None or a.peer == peer), None)
        left = deadline - time.monotonic()
        if found is not None or left <= 0:
            return found
        time.sleep(min(POLL, left))  # the listener's condition cannot wait for one particular peer


class SendOnAccept:
    """While in the block: as soon as `listener` accepts `peer`, its application writes `data` (once).

    `sent_at` is time.monotonic() just before the write, None if the peer never connected."""

    def __init__(self, listener: TcpListener, peer: tuple[str, int], data: bytes) -> None:
        self.listener, self.peer, self.data = listener, peer, data
        self.sent_at: float | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="send-on-accept", daemon=True)

    def __enter__(self) -> SendOnAccept:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            accepted = accepted_from(self.listener, self.peer, POLL)
            if accepted is None:
                continue
            self.sent_at = time.monotonic()
            try:
                accepted.conn.sendall(self.data)
            except OSError as exc:
                self.error = exc.strerror or str(exc)
            return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
