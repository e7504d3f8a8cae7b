"""Read TCP socket states from a node's kernel: sock_diag over a plain netlink socket.

`SockProbe` looks one connection up by its 4-tuple (an exact lookup: one
request, one answer, ~10 µs) on a socket opened once in the node's namespace,
so it also works in a forked child and costs no pyroute2 import.
"""

from __future__ import annotations

import errno
import os
import random
import socket
import struct
import threading
from dataclasses import dataclass

from ..backends.base import NodeHandle
from ..errors import BackendError

TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
    7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}
GONE = "gone"  # the state word for "the kernel has no socket for the connection"
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLMSG_ERROR = 2
INET_DIAG_INFO = 2  # attribute carrying struct tcp_info
NOCOOKIE = 0xFFFFFFFF
TIMERS = {0: "", 1: "retransmit", 2: "keepalive", 3: "time-wait", 4: "zero-window probe"}

_NLMSG = struct.Struct("=IHHII")
_REQ = struct.Struct("=BBBxI")  # family, protocol, extensions, states
_SOCKID = struct.Struct("!HH16s16s")  # ports and addresses in network order
_SOCKID_TAIL = struct.Struct("=III")  # interface, cookie
_MSG_HEAD = struct.Struct("=BBBB")  # family, state, timer, retransmits
_MSG_TAIL = struct.Struct("=IIIII")  # expires, rqueue, wqueue, uid, inode
_MSG_LEN = _MSG_HEAD.size + _SOCKID.size + _SOCKID_TAIL.size + _MSG_TAIL.size
_NLA = struct.Struct("=HH")
# offsets in struct tcp_info (linux/tcp.h)
_TI_RTO, _TI_SEGS_IN = 8, 140


@dataclass(frozen=True)
class TcpConn:
    """What the kernel reports about one TCP socket."""

    peer: tuple[str, int]
    state: str  # "ESTABLISHED", "TIME_WAIT", ... (names as in TCP_STATES)
    timer: str  # "retransmit", "time-wait", ... or "" when no timer runs
    expires_ms: int  # time left on that timer
    retransmits: int  # retransmissions of the timer's current round
    rto_ms: int | None  # retransmission timeout (None for a TIME_WAIT socket: no tcp_info)
    segs_in: int | None  # segments the socket has received (None for TIME_WAIT)


class SockProbe:
    """`with SockProbe(web) as probe: probe.lookup(("10.0.2.80", 80), ("10.0.1.10", 45000))`

    Safe between threads; a forked child may use an inherited probe while its
    parent does not (the answers go to whoever reads first): give each
    concurrent user its own probe."""

    def __init__(self, node: NodeHandle) -> None:
        self.node = node
        self._sock = node.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
        self._sock.settimeout(1.0)  # the kernel answers in microseconds; never hang a lab on it
        self._count = 0
        self._lock = threading.Lock()

    def __enter__(self) -> SockProbe:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def free_port(self, local: tuple[str, int], peer_ip: str, ports: range = range(40000, 61000), tries: int = 50) -> int:
        """A random port of `peer_ip` for which this node holds no socket to `local`
        (an earlier connection may linger in TIME_WAIT, and would not take a new SYN
        with a lower ISN)."""
        for _ in range(tries):
            candidate = random.choice(ports)
            if self.lookup(local, (peer_ip, candidate)) is None:
                return candidate
        raise BackendError(f"{self.node.name} holds a socket to {local[0]}:{local[1]} for every port of {peer_ip} tried")

    def state(self, local: tuple[str, int], peer: tuple[str, int]) -> str:
        """The state of the node's socket for this connection ("ESTABLISHED", ...), or "gone"."""
        found = self.lookup(local, peer)
        return found.state if found else GONE

    def lookup(self, local: tuple[str, int], peer: tuple[str, int]) -> TcpConn | None:
        """The node's socket for this connection, or None if the kernel has none."""
        with self._lock:
            return self._lookup(local, peer)

    def _lookup(self, local: tuple[str, int], peer: tuple[str, int]) -> TcpConn | None:
        self._count += 1
        # the process id in the sequence number: a forked child's answers are never taken for ours
        number = ((os.getpid() & 0xFFFF) << 16 | self._count & 0xFFFF)
        self._sock.send(_request(local, peer, number))
        while True:
            data = self._sock.recv(65536)
            length, kind, _flags, seq, _pid = _NLMSG.unpack_from(data)
            if seq != number:
                continue  # an answer to an earlier, abandoned request
            body = data[_NLMSG.size : length]
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", body)[0]
                if code == errno.ENOENT:
                    return None
                raise OSError(code, f"sock_diag: {errno.errorcode.get(code, code)}")
            found = parse_answer(body)
            # with no socket for the 4-tuple the kernel answers with the listener of the port
            return found if found.peer == peer else None


def _request(local: tuple[str, int], peer: tuple[str, int], seq: int) -> bytes:
    body = (
        _REQ.pack(socket.AF_INET, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), 0xFFFFFFFF)
        + _SOCKID.pack(local[1], peer[1], _addr(local[0]), _addr(peer[0]))
        + _SOCKID_TAIL.pack(0, NOCOOKIE, NOCOOKIE)
    )
    return _NLMSG.pack(_NLMSG.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, seq, 0) + body


def _addr(ip: str) -> bytes:
    return socket.inet_aton(ip) + bytes(12)


def parse_answer(body: bytes) -> TcpConn:
    """An inet_diag_msg (and its tcp_info attribute, if any) → TcpConn."""
    _family, state, timer, retrans = _MSG_HEAD.unpack_from(body)
    _sport, dport, _src, dst = _SOCKID.unpack_from(body, _MSG_HEAD.size)
    expires = _MSG_TAIL.unpack_from(body, _MSG_LEN - _MSG_TAIL.size)[0]
    rto = segs_in = None
    offset = _MSG_LEN
    while offset + _NLA.size <= len(body):
        nla_len, nla_type = _NLA.unpack_from(body, offset)
        if nla_len < _NLA.size:
            break
        if nla_type == INET_DIAG_INFO:
            info = body[offset + _NLA.size : offset + nla_len]
            if len(info) >= _TI_SEGS_IN + 4:
                rto = struct.unpack_from("=I", info, _TI_RTO)[0] // 1000
                segs_in = struct.unpack_from("=I", info, _TI_SEGS_IN)[0]
        offset += (nla_len + 3) & ~3
    peer = (socket.inet_ntoa(dst[:4]), dport)
    return TcpConn(peer, TCP_STATES.get(state, str(state)), TIMERS.get(timer, str(timer)), expires, retrans, rto, segs_in)


def state_of(node: NodeHandle, local_port: int, peer: tuple[str, int]) -> str | None:
    """The state of the node's socket for one connection (on its first address), or None."""
    with SockProbe(node) as probe:
        conn = probe.lookup((str(node.node.ip), local_port), peer)
    return conn.state if conn else None
