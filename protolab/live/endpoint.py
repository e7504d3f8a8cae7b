"""A hand-made TCP connection driven through a Host: connect(), send(), fin(), ack(), wait().

The counters are `protolab.wire.tcp.Conn` (pure arithmetic); this is the part
that sends and receives.
"""

from __future__ import annotations

import random

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet, Raw

from ..wire.tcp import SEQ_SPACE, Conn, payload_len


class ConnectError(RuntimeError):
    """The peer did not complete the handshake."""


class Endpoint:
    """A hand-made TCP connection from `host` (a protolab Host) to dst:dport.

    Every segment goes out with the current counters and moves them on;
    every segment taken with wait() moves `ack` on. The host's own kernel knows
    nothing of the connection: keep its RSTs away (protolab.kernel.guard.RstGuard)."""

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
