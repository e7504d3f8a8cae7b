"""An application on one accepted TCP connection: it reads what the peer sends and
closes its side (a FIN) when told to, once it has read enough, or at end-of-file.

    with TcpListener(web, 80) as listener:
        accepted = listener.wait_accept(0.5)
        with ConnectionApp(accepted.conn, close_after=10) as app:
            ...                      # the peer sends; app.read grows
            app.finish(grace=0.05)   # let it run on a moment, then stop it
        app.read, app.eof_note, app.fin_at

It runs in a thread of the lab process, on the kernel's socket, so the peer
talks to a real TCP stack and the lab sees what its application saw.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

POLL = 0.01  # seconds between looks at the stop and close commands while reading


class ConnectionApp:
    """Read `conn` until told to stop; close it (shutdown(SHUT_WR), then close) on `close()`,
    after `close_after` bytes, or when the peer's FIN arrives (end-of-file).

    `on_eof` is called the moment end-of-file is read (before closing): what it
    returns is kept as `eof_note`, e.g. the socket's state then. At end-of-file the
    socket asks for a quick ACK of the peer's FIN (Linux would delay it ~40 ms
    hoping to send it with its own FIN), so every segment of the close is seen."""

    def __init__(self, conn: socket.socket, *, close_after: int | None = None,
                 on_eof: Callable[[], Any] | None = None) -> None:
        self.conn = conn
        self.close_after = close_after
        self.on_eof = on_eof
        self.read = bytearray()
        self.eof = False  # the peer's FIN was read
        self.eof_note: Any = None
        # time.monotonic() just before shutdown() sent the FIN: taken before the FIN can leave, so anything
        # sent in answer to it comes later (a time taken after shutdown() returns may come after the answer:
        # the thread may wait for the CPU or the interpreter lock in between); None if no FIN was sent
        self.fin_at: float | None = None
        self._stop = threading.Event()
        self._close = threading.Event()
        self._thread = threading.Thread(target=self._run, name="connection-app", daemon=True)

    def __enter__(self) -> ConnectionApp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish(0)

    def close(self) -> None:
        """Have the application close its side now (it sends its FIN)."""
        self._close.set()

    def finish(self, grace: float) -> None:
        """Let the application run on for up to `grace` s, then stop it (the socket is left as it is)."""
        self._thread.join(grace)
        self._stop.set()
        self._thread.join()

    @property
    def closed(self) -> bool:
        return self.fin_at is not None

    def _run(self) -> None:
        self.conn.settimeout(POLL)
        while not self._stop.is_set():
            if self._close.is_set():
                self._shutdown()
                return
            try:
                chunk = self.conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.read += chunk
            if not chunk:
                self.eof = True
                self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                if self.on_eof is not None:
                    self.eof_note = self.on_eof()
            if not chunk or (self.close_after is not None and len(self.read) >= self.close_after):
                self._shutdown()
                return

    def _shutdown(self) -> None:
        # shutdown() sends the FIN at once; a bare close() would wait for every copy of the
        # descriptor (a forked process, such as a student's sandbox, may hold one)
        self.fin_at = time.monotonic()
        try:
            self.conn.shutdown(socket.SHUT_WR)
        except OSError:  # reset in the meantime: no FIN left to send
            self.fin_at = None
        self.conn.close()
