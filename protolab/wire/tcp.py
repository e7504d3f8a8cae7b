"""One side of a TCP connection made by hand: its two counters and its segments.

TCP numbers the bytes it carries. Each side keeps two counters (RFC 9293 calls
them SND.NXT and RCV.NXT):

    seq  the number of the next byte this side will send;
    ack  the number of the next byte it expects from the other side.

Data advances a counter by its length; a SYN and a FIN carry no data but use
one number each. All arithmetic wraps around modulo 2**32.

`Conn` is the counters as plain numbers (pure arithmetic, no I/O); the live
side, `protolab.live.endpoint.Endpoint`, drives a connection through a Host.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the arithmetic needs no scapy: the scapy-free expectation core may import it
    from scapy.layers.inet import TCP
    from scapy.packet import Packet

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


def payload_len(pkt: Packet) -> int:
    """Data bytes of a received TCP segment, from the IP length (Ethernet padding is not data)."""
    from scapy.layers.inet import IP, TCP

    ip = pkt[IP]
    return max(ip.len - ip.ihl * 4 - ip[TCP].dataofs * 4, 0)


def __getattr__(name: str):
    """Endpoint and ConnectError moved to protolab.live.endpoint: files written for
    earlier versions still find them here."""
    if name in ("Endpoint", "ConnectError"):
        from ..live import endpoint

        return getattr(endpoint, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
