"""One side of a TCP connection made by hand: its two counters and its segments.

TCP numbers the bytes it carries. Each side keeps two counters (RFC 9293 calls
them SND.NXT and RCV.NXT):

    seq  the number of the next byte this side will send;
    ack  the number of the next byte it expects from the other side.

Data advances a counter by its length; a SYN and a FIN carry no data but use
one number each. All arithmetic wraps around modulo 2**32.

`Conn` is the counters as plain numbers (pure arithmetic, no I/O); `Endpoint`
drives a connection through a Host: connect(), send(), fin(), ack(), wait().
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet, Raw

SEQ_SPACE = 2**32


def seq_add(seq: int, n: int) -> int:
    """`seq + n` in TCP's circular number space."""
    return (seq + n) % SEQ_SPACE


def seq_distance(a: int, b: int) -> int:
    """How far `a` lies from `b` in TCP's circular number space: -2**31 .. 2**31 - 1."""
    return (a - b + SEQ_SPACE // 2) % SEQ_SPACE - SEQ_SPACE // 2


def tcp_answers(reply: TCP, question: TCP) -> bool:
    """Scapy's rule for "this segment answers that one", with sequence numbers that
    wrap: its `answers()` compares them as plain integers, so a SYN-ACK whose ack
    wrapped from 2**32 - 1 to 0 answers nothing."""
    r, q = str(reply.flags), str(question.flags)
    if "R" in q or ("S" in r and ("A" not in r or "S" not in q)):
        return False
    if (reply.sport, reply.dport) != (question.dport, question.sport):
        return False
    if not ("S" in q and "A" not in q) and abs(seq_distance(question.ack, reply.seq)) > 2:
        return False
    if "R" in r and "A" not in r:
        return True
    return abs(seq_distance(question.seq, reply.ack)) <= 2 + len(question.payload)


def seq_len(flags: str, length: int = 0) -> int:
    """How many sequence numbers a segment uses: its data bytes, plus one for SYN, plus one for FIN."""
    return length + ("S" in flags) + ("F" in flags)


@dataclass(frozen=True)
class Conn:
    """The facts of one side of a connection: addresses, ports and its two counters."""

    src: str
    sport: int
    dst: str
    dport: int
    seq: int  # next sequence number this side sends (SND.NXT)
    ack: int  # next sequence number expected from the peer (RCV.NXT)

    def sent(self, flags: str, length: int = 0) -> Conn:
        """The counters after sending a segment with these flags and `length` data bytes."""
        return replace(self, seq=seq_add(self.seq, seq_len(flags, length)))

    def received(self, seq: int, flags: str, length: int = 0) -> Conn:
        """The counters after a segment from the peer.

        A SYN sets the count (the peer's ISN + 1). Otherwise only an in-order
        segment (seq == ack) moves `ack`; an old or early one leaves it alone."""
        if "S" in flags:
            return replace(self, ack=seq_add(seq, seq_len(flags, length)))
        if seq != self.ack:
            return self
        return replace(self, ack=seq_add(self.ack, seq_len(flags, length)))


class ConnectError(RuntimeError):
    """The peer did not complete the handshake."""


class Endpoint:
    """A hand-made TCP connection from `host` (a protolab Host) to dst:dport.

    Every segment goes out with the current counters and moves them on;
    every segment taken with wait() moves `ack` on. The host's own kernel knows
    nothing of the connection: keep its RSTs away (protolab.guard.RstGuard)."""

    def __init__(self, host, dst: str, dport: int, sport: int, isn: int | None = None) -> None:
        self.host = host
        first = random.randrange(SEQ_SPACE) if isn is None else isn
        self.conn = Conn(host.ip, sport, dst, dport, seq=first, ack=0)

    def segment(self, flags: str, payload: bytes = b"") -> Packet:
        """The next segment with these flags, built with the current counters (not sent)."""
        c = self.conn
        pkt = IP(src=c.src, dst=c.dst) / TCP(
            sport=c.sport, dport=c.dport, flags=flags, seq=c.seq, ack=c.ack if "A" in flags else 0
        )
        return pkt / Raw(payload) if payload else pkt

    def emit(self, flags: str, payload: bytes = b"") -> Packet:
        """Send the next segment and count the numbers it uses."""
        pkt = self.segment(flags, payload)
        self.host.send(pkt)
        self.conn = self.conn.sent(flags, len(payload))
        return pkt

    def connect(self, timeout: float = 1.0) -> Conn:
        """The three-way handshake: SYN, wait for the SYN-ACK, ACK."""
        self.emit("S")
        if self.wait("SA", timeout) is None:
            raise ConnectError(f"no SYN-ACK from {self.conn.dst}:{self.conn.dport} within {timeout:g} s")
        self.emit("A")
        return self.conn

    def send(self, data: bytes) -> Packet:
        return self.emit("PA", data)

    def fin(self) -> Packet:
        return self.emit("FA")

    def ack(self) -> Packet:
        return self.emit("A")

    def wait(self, flags: str = "", timeout: float = 1.0) -> Packet | None:
        """The next segment of this connection having at least `flags` (its IP packet), or None."""
        frame = self.host.recv(lambda f: self.is_mine(f) and set(flags) <= set(str(f[TCP].flags)), timeout=timeout)
        if frame is None:
            return None
        tcp = frame[TCP]
        self.conn = self.conn.received(tcp.seq, str(tcp.flags), payload_len(frame))
        return frame[IP]

    def is_mine(self, frame: Packet) -> bool:
        """A segment from the peer to this connection."""
        if IP not in frame or TCP not in frame:
            return False
        ip, tcp, c = frame[IP], frame[TCP], self.conn
        return (ip.src, tcp.sport, ip.dst, tcp.dport) == (c.dst, c.dport, c.src, c.sport)


def payload_len(pkt: Packet) -> int:
    """Data bytes of a received TCP segment, from the IP length (Ethernet padding is not data)."""
    ip = pkt[IP]
    return max(ip.len - ip.ihl * 4 - ip[TCP].dataofs * 4, 0)
