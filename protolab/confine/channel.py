"""Messages between the grader and a confined process: JSON over a SOCK_SEQPACKET socket.

One datagram is one message, so a message is never half-read; its size is
bounded on receipt, and file descriptors travel with SCM_RIGHTS. Nothing on
these sockets is ever unpickled or evaluated.
"""

from __future__ import annotations

import array
import json
import socket
from typing import Any

MAX_MESSAGE = 1024 * 1024  # bytes: larger messages are refused, not truncated into nonsense
MAX_FDS = 8


class ChannelError(Exception):
    """The other side sent something that is not a message of this protocol."""


def pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for sock in (a, b):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MAX_MESSAGE)
    return a, b


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | tuple[int, ...] = ()) -> None:
    data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    if len(data) > MAX_MESSAGE:
        raise ChannelError(f"message of {len(data)} bytes is larger than {MAX_MESSAGE}")
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(data)


def receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """The next message (None at end of stream) and the descriptors that came with it."""
    fds = array.array("i")
    data, ancillary, flags, _ = sock.recvmsg(MAX_MESSAGE + 1, socket.CMSG_LEN(MAX_FDS * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    received = list(fds)
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        _close_all(received)
        raise ChannelError("message too large")
    if not data:
        _close_all(received)
        return None, []
    try:
        message = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        _close_all(received)
        raise ChannelError("message is not JSON") from None
    if not isinstance(message, dict):
        _close_all(received)
        raise ChannelError("message is not a JSON object")
    return message, received


def _close_all(fds: list[int]) -> None:
    import os

    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
