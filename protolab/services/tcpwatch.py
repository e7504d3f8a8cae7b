"""Watch one TCP connection in the peer's kernel while a hand-made side drives it.

The peer's states come from `sockstate.SockProbe` (sock_diag, exact lookup:
one netlink request, one answer, ~10 µs), on a socket opened once in the
node's namespace, so it also works in a forked child (see sockstate.py).

`WatchedHost` catches states that last only until the hand-made side's next
segment (LAST_ACK until the final ACK, FIN_WAIT1 until the ACK of the FIN):
nobody could look at the right moment from outside, since the student's code
answers within a millisecond. So the host looks itself: before a segment of
the watched connection leaves, it lets the peer's kernel take in the earlier
ones, asks for the peer socket's state and writes a note to a pipe, which the
lab reads after the call (the student's function runs in a forked child).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet

from ..backends.base import NodeHandle
from ..wire.host import Host
from .sockstate import SockProbe, TcpConn

GONE = "gone"  # the state word for "the kernel has no socket for the connection"
SETTLE_S = 0.02  # longest wait for the peer's kernel to take in earlier segments
FLAG_ORDER = "FSRPAUEC"


@dataclass(frozen=True)
class Note:
    """A segment of the watched connection about to leave, and the peer's state then."""

    time: float  # time.monotonic() before the peer's state was read (comparable between processes)
    flags: str  # in the order FSRPAUEC, like the trace
    seq: int
    ack: int
    length: int  # data bytes
    peer_state: str  # the peer socket's state, read at `time` or later and before the segment left, or "gone"


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
            # the time first, then the state: anything another process did before `noted_at` (say, the peer's
            # application closing) is in the state read, so notes compare safely with its times
            noted_at = time.monotonic()
            found = self.settled()
            tcp = pkt[TCP]
            flags = "".join(f for f in FLAG_ORDER if f in str(tcp.flags))
            note = Note(noted_at, flags, tcp.seq, tcp.ack, len(bytes(tcp.payload)), found.state if found else GONE)
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
