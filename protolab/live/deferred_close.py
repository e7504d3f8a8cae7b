"""Close packet sockets off the caller's path.

Closing an AF_PACKET socket waits for an RCU grace period in the kernel
(synchronize_net), 8-20 ms here, while nothing in the lab depends on the
moment it completes. A daemon thread does the closing; whatever it has not
closed when the process exits, the kernel closes.
"""

from __future__ import annotations

import queue
import socket
import threading

_pending: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
_worker: threading.Thread | None = None
_lock = threading.Lock()


def close_soon(sock: socket.socket) -> None:
    """Hand `sock` to the closing thread (started on first use)."""
    global _worker
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_close_forever, name="socket-closer", daemon=True)
            _worker.start()
    _pending.put(sock)


def _close_forever() -> None:
    while True:
        _pending.get().close()
