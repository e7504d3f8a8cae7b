"""Watch one TCP connection in the peer's kernel while a hand-made side drives it.

`SockProbe` looks one connection up by its 4-tuple (sock_diag, exact lookup):
one netlink request, one answer, ~10 µs; a plain socket opened once in the
node's namespace, so it also works in a forked child. (`sockstate.tcp_sockets`
dumps a whole table through pyroute2: fine once, too slow to watch with.)

`WatchedHost` catches states that last only until the hand-made side's next
segment (LAST_ACK until the final ACK, FIN_WAIT1 until the ACK of the FIN):
nobody could look at the right moment from outside, since the student's code
answers within a millisecond. So the host looks itself: before a segment of
the watched connection leaves, it lets the peer's kernel take in the earlier
ones, asks for the peer socket's state and writes a note to a pipe, which the
lab reads after the call (the student's function runs in a forked child).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import threading
import time
from dataclasses import asdict, dataclass

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet

from ..backends.base import NodeHandle
from ..wire.host import Host
from .sockstate import TCP_STATES

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
    state: str  # "ESTABLISHED", "TIME_WAIT", ... (names as in sockstate.TCP_STATES)
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


GONE = "gone"  # the state word for "the kernel has no socket for the connection"
SETTLE_S = 0.02  # longest wait for the peer's kernel to take in earlier segments
FLAG_ORDER = "FSRPAUEC"


@dataclass(frozen=True)
class Note:
    """A segment of the watched connection about to leave, and the peer's state then."""

    time: float  # time.monotonic(), comparable between processes
    flags: str  # in the order FSRPAUEC, like the trace
    seq: int
    ack: int
    length: int  # data bytes
    peer_state: str  # the peer socket's state just before the segment left, or "gone"


class WatchedHost(Host):
    """A Host that notes the peer's socket state before each segment of one connection.

    `watch(sport, remote)` arms it (in this process and in children forked
    later); `notes()` returns what every process noted, in order."""

    def __init__(self, handle: NodeHandle, peer: NodeHandle, iface: str | None = None) -> None:
        super().__init__(handle, iface)
        self._probe = SockProbe(peer)
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)  # a full pipe loses a note, never blocks a send
        self._flow: tuple[tuple[str, int], tuple[str, int]] | None = None  # (ours, the peer's)
        self._baseline = 0  # segments the peer's socket had received when watching began
        self._noted = 0  # watched segments sent since then (by this process and its parent)
        self._notes: list[Note] = []
        self._partial = b""

    def watch(self, sport: int, remote: tuple[str, int]) -> None:
        self._flow = ((self.ip, sport), remote)
        found = self.peer_conn()
        self._baseline = found.segs_in if found and found.segs_in is not None else 0
        self._noted = 0

    def peer_conn(self) -> TcpConn | None:
        """The peer's socket for the watched connection, as its kernel reports it now."""
        if self._flow is None:
            raise RuntimeError("watch() a connection first")
        ours, theirs = self._flow
        return self._probe.lookup(theirs, ours)

    def settled(self, timeout: float = SETTLE_S) -> TcpConn | None:
        """The peer's socket once its kernel has taken in every watched segment sent so far
        (normally at once; a busy machine may defer it to a kernel thread)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.peer_conn()
            if found is None or found.segs_in is None or found.segs_in - self._baseline >= self._noted:
                return found
            if time.monotonic() >= deadline:
                return found
            time.sleep(0.0002)

    def send(self, pkt: Packet) -> None:
        if self._flow is not None and self._watched(pkt):
            found = self.settled()
            tcp = pkt[TCP]
            flags = "".join(f for f in FLAG_ORDER if f in str(tcp.flags))
            note = Note(time.monotonic(), flags, tcp.seq, tcp.ack, len(bytes(tcp.payload)), found.state if found else GONE)
            try:
                os.write(self._write_fd, json.dumps(asdict(note)).encode() + b"\n")  # one write < PIPE_BUF: atomic
            except BlockingIOError:
                pass
            self._noted += 1
        super().send(pkt)

    def _watched(self, pkt: Packet) -> bool:
        if IP not in pkt or TCP not in pkt:
            return False
        (_, sport), (rip, rport) = self._flow
        return pkt[IP].dst == rip and pkt[TCP].sport == sport and pkt[TCP].dport == rport

    def notes(self) -> list[Note]:
        """Every note so far, from this process and the children it forked, oldest first."""
        while True:
            try:
                chunk = os.read(self._read_fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._partial += chunk
        *lines, self._partial = self._partial.split(b"\n")
        self._notes.extend(Note(**json.loads(line)) for line in lines if line)
        self._notes.sort(key=lambda n: n.time)
        self._noted = max(self._noted, len(self._notes))
        return list(self._notes)

    def close(self) -> None:
        self._probe.close()
        os.close(self._read_fd)
        os.close(self._write_fd)
        super().close()
