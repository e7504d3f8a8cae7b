"""Every TCP socket of a node's kernel on one local port, from one sock_diag dump.

    for s in tcp_sockets(web, port=80, states={"CLOSE_WAIT"}):
        s.peer, s.state          # ("10.0.1.10", 45120), "CLOSE_WAIT"

sockstate.py looks one connection up by its 4-tuple; a server's leaks need
all of them at once (a CLOSE_WAIT socket is one whose peer has closed and
whose owner never did).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Iterable

from ..backends.base import NodeHandle
from .sockstate import NETLINK_SOCK_DIAG, NLMSG_ERROR, SOCK_DIAG_BY_FAMILY, TCP_STATES

NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE = 3
_NLMSG = struct.Struct("=IHHII")
_REQ = struct.Struct("=BBBxI")  # family, protocol, extensions, states
_SOCKID = struct.Struct("!HH16s16s")
_SOCKID_TAIL = struct.Struct("=III")
_HEAD = struct.Struct("=BBBB")
STATE_NUMBERS = {name: number for number, name in TCP_STATES.items()}


@dataclass(frozen=True)
class SockEntry:
    local: tuple[str, int]
    peer: tuple[str, int]
    state: str


def tcp_sockets(node: NodeHandle, port: int | None = None, states: Iterable[str] | None = None) -> list[SockEntry]:
    """The node's IPv4 TCP sockets (on local `port`, in `states`), as its kernel has them now."""
    wanted = 0xFFFFFFFF if states is None else sum(1 << STATE_NUMBERS[s] for s in states)
    sock = node.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    try:
        sock.settimeout(2.0)
        body = (_REQ.pack(socket.AF_INET, socket.IPPROTO_TCP, 0, wanted)
                + _SOCKID.pack(0, 0, bytes(16), bytes(16)) + _SOCKID_TAIL.pack(0, 0xFFFFFFFF, 0xFFFFFFFF))
        sock.send(_NLMSG.pack(_NLMSG.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
        found: list[SockEntry] = []
        while True:
            data = sock.recv(1 << 20)
            for kind, payload in _messages(data):
                if kind == NLMSG_DONE:
                    return [s for s in found if port is None or s.local[1] == port]
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    raise OSError(code, f"sock_diag dump in {node.name} failed")
                found.append(parse_entry(payload))
    finally:
        sock.close()


def _messages(data: bytes):
    offset = 0
    while offset + _NLMSG.size <= len(data):
        length, kind, _flags, _seq, _pid = _NLMSG.unpack_from(data, offset)
        if length < _NLMSG.size:
            return
        yield kind, data[offset + _NLMSG.size: offset + length]
        offset += (length + 3) & ~3


def parse_entry(body: bytes) -> SockEntry:
    """One inet_diag_msg → SockEntry."""
    _family, state, _timer, _retrans = _HEAD.unpack_from(body)
    sport, dport, src, dst = _SOCKID.unpack_from(body, _HEAD.size)
    return SockEntry((socket.inet_ntoa(src[:4]), sport), (socket.inet_ntoa(dst[:4]), dport),
                     TCP_STATES.get(state, str(state)))
