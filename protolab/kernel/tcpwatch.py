"""Watch one TCP connection in the peer's kernel while a hand-made side drives it.

The peer's states come from `sockstate.SockProbe` (sock_diag, exact lookup:
one netlink request, one answer, ~10 µs), on a socket opened once in the
node's namespace, so it also works in a forked child (see sockstate.py).

`WatchedHost` catches states that last only until the hand-made side's next
segment (LAST_ACK until the final ACK, FIN_WAIT1 until the ACK of the FIN):
nobody could look at the right moment from outside, since the student's code
answers within a millisecond. So the host looks itself: before a segment of
the watched connection leaves, it lets the peer's kernel take in the earlier
ones, asks for the peer socket's state and keeps a note.

In the student's sandbox the host is a `NotingHost`: it cannot see the peer
(another node), so before each watched segment it asks the lab, over the
call's channel, to take the note, and sends the segment once the lab has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet

from ..backends.base import NodeHandle
from ..live.host import Host, InNode
from ..wire.words import canonical_flags
from .sockstate import GONE, SockProbe, TcpConn

SETTLE_S = 0.02  # longest wait for the peer's kernel to take in earlier segments


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

    `watch(sport, remote)` arms it; `notes()` returns what was noted, in order,
    for segments sent here and by the student's sandbox (through `serve`)."""

    def __init__(self, handle: NodeHandle, peer: NodeHandle, iface: str | None = None) -> None:
        super().__init__(handle, iface)
        self._probe = SockProbe(peer)
        self._flow: tuple[tuple[str, int], tuple[str, int]] | None = None  # (ours, the peer's)
        self._baseline = 0  # segments the peer's socket had received when watching began
        self._noted = 0  # watched segments sent since then
        self._notes: list[Note] = []

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

    def wait_for_retransmission(self, found: TcpConn, limit: float = 1.5) -> TcpConn | None:
        """The peer's socket once its kernel has sent a segment again (its retransmission
        timer ran out), changed state or dropped the socket; waits for the timer plus a
        margin, `limit` s at most. `found` is the socket as last read, its timer running."""
        deadline = time.monotonic() + min(found.expires_ms / 1000 + 0.3, limit)
        now: TcpConn | None = found
        while time.monotonic() < deadline:
            time.sleep(0.005)
            now = self.peer_conn()
            if now is None or now.retransmits > found.retransmits or now.state != found.state:
                break
        return now

    def send(self, pkt: Packet) -> None:
        if self._flow is not None and watched(self._flow, pkt):
            self.note(*segment_facts(pkt))
        super().send(pkt)

    def note(self, flags: str, seq: int, ack: int, length: int) -> None:
        """Note the peer's state now: a segment with these fields is about to leave."""
        # the time first, then the state: anything another process did before `noted_at` (say, the peer's
        # application closing) is in the state read, so notes compare safely with its times
        noted_at = time.monotonic()
        found = self.settled()
        self._notes.append(Note(noted_at, flags, seq, ack, length, found.state if found else GONE))
        self._noted += 1

    def notes(self) -> list[Note]:
        """Every note so far, oldest first."""
        return sorted(self._notes, key=lambda n: n.time)

    # -- across the confinement boundary -----------------------------------
    def confined_handle(self) -> tuple[str, dict]:
        return f"{__name__}:NotingHost", {**self.facts(), "flow": self._flow}

    def serve(self, request: Any) -> bool:
        """A note asked for by the sandbox's NotingHost: {"note": [flags, seq, ack, length]}."""
        fields = request.get("note") if isinstance(request, dict) else None
        if not (isinstance(fields, (list, tuple)) and len(fields) == 4 and isinstance(fields[0], str)
                and all(isinstance(v, int) and 0 <= v < 2**32 for v in fields[1:])):
            return False
        self.note(fields[0][:8], *fields[1:])
        return True

    def close(self) -> None:
        self._probe.close()
        super().close()


class NotingHost(Host):
    """WatchedHost inside the student's sandbox: the lab notes the peer's state before each watched segment."""

    _rpc: Callable[[Any], Any]
    _flow: tuple[tuple[str, int], tuple[str, int]] | None = None

    @classmethod
    def in_node(cls, facts: dict, rpc: Callable[[Any], Any]) -> NotingHost:
        host = cls(InNode.from_facts(facts), facts["iface"])
        host._rpc = rpc
        flow = facts.get("flow")
        host._flow = ((flow[0][0], flow[0][1]), (flow[1][0], flow[1][1])) if flow else None
        return host

    def send(self, pkt: Packet) -> None:
        if self._flow is not None and watched(self._flow, pkt):
            self._rpc({"note": list(segment_facts(pkt))})
        super().send(pkt)


def watched(flow: tuple[tuple[str, int], tuple[str, int]], pkt: Packet) -> bool:
    """Is `pkt` a segment of the watched connection, in the watched direction?"""
    if IP not in pkt or TCP not in pkt:
        return False
    (_, sport), (rip, rport) = flow
    return pkt[IP].dst == rip and pkt[TCP].sport == sport and pkt[TCP].dport == rport


def segment_facts(pkt: Packet) -> tuple[str, int, int, int]:
    tcp = pkt[TCP]
    return canonical_flags(str(tcp.flags)), int(tcp.seq), int(tcp.ack), len(bytes(tcp.payload))
