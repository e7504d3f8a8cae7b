"""TCP byte streams from captured frames, reassembled as the receiver would read them.

    from protolab.wire.streams import connections
    for conn in connections(trace.frames):          # Frames of protolab.expect.trace, in capture order
        conn.client, conn.server                    # Endpoint("10.0.1.10", 40312), Endpoint("10.0.2.80", 80)
        up = conn.upstream                          # client → server; conn.downstream: server → client
        up.data()                                   # the bytes from offset 0 up to the first hole
        up.holes                                    # (Hole(1448, 2896),): str() "bytes 1448–2895 were never captured"
        up.frames(0, 300)                           # (4, 6): the frame numbers whose bytes make offsets 0..299
        conn.closed_by                              # "client", "server" or None

Input: the decoded frames of a trace (protolab.expect.trace.Frame, or anything with
`index`, `link` and `layers`), not decode.py's Decoded items: frames carry the
frame number (from 1, as Wireshark numbers them) and the link, which is what a
byte range must name, and tests build them by hand. Frames without ip and tcp
layers are skipped.

Offsets are relative: offset 0 is the first data byte after the SYN (its
sequence number is ISN + 1, Wireshark's relative seq 1); ranges are half-open
[start, end), and their text names the first and the last byte ("bytes
1448–2895"). Sequence numbers wrap at 2**32: offsets are unwrapped against the
highest one seen so far, so streams longer than 4 GiB still add up.

Choices, as a receiver would make them:
- Connections: grouped by 4-tuple. A SYN (no ACK) starts a new connection on its
  4-tuple, unless the current one has seen no FIN or RST yet and its own SYN had
  the same sequence number (then it is that SYN's retransmission).
- Roles: the client sent the SYN; without one, the receiver of the SYN-ACK; without
  either (a capture that starts mid-connection), the side with the higher port
  (`Connection.roles_known` is False then).
- ISN: from the SYN. Without one (`Stream.mid_connection`), offset 0 is the lowest
  sequence number any captured data segment of that direction carries: what came
  before it was never captured and is not counted as a hole.
- Overlaps and retransmissions: the first-received bytes win, wherever they are
  (Linux keeps bytes already queued in order and drops a retransmission's copy of
  them; in its out-of-order queue a later segment that starts at the same number
  and covers an earlier one replaces it: not modelled, so that the result never
  depends on the queue's state). Different bytes for the same offsets are kept
  as a `Conflict`.
- A RST's payload is not data (Linux never delivers it); data past the FIN is not
  data either (noted). Checksums are not checked: veth offload leaves the sender's
  kernel checksums unfinished in captures, and the receiver is not the capture.
- Frames captured twice: a routed packet crosses two links and the capture sees it
  on both (trace.py keeps both, each with its own `link`; annotate() marks
  retransmissions per link, so the second copy is not one). Reassembly dedupes
  across links: a frame on link B that repeats an earlier frame of link A field
  for field (addresses, IP id, ports, seq, ack, flags, payload), and is the first
  such repeat on B, is a copy of it, not a segment: it is listed in
  `Connection.copies`, never in `frames`, `segments` or a byte range. The same
  packet again on the same link is a retransmission. (A NAT router changes the
  4-tuple: each side is then a connection of its own.)

Pure: no I/O, and no scapy (importing this module, or http.py, does not load it).
- A frame the capture cut short gives the bytes it holds; what it lost shows as a
  hole when a later segment (or the FIN) lies beyond it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple, Protocol

from .tcp import SEQ_SPACE, seq_distance


class FrameLike(Protocol):
    index: int
    link: str
    layers: Mapping[str, Mapping[str, Any]]


class Endpoint(NamedTuple):
    """One end of a connection."""

    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes [start, end) of a stream, as the frame numbered `frame` carried them first."""

    start: int
    end: int
    frame: int


@dataclass(frozen=True, slots=True)
class Hole:
    """Bytes [start, end) of a stream that no captured frame carried."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"bytes {self.start}–{self.end - 1} were never captured"


@dataclass(frozen=True, slots=True)
class Conflict:
    """Frame `frame` carried other bytes for [start, end) than `kept` had carried before (those were kept)."""

    start: int
    end: int
    frame: int
    kept: int

    def __str__(self) -> str:
        return (f"frame #{self.frame} carried other bytes for {self.start}–{self.end - 1} than frame #{self.kept}"
                f" before it (the first ones are kept)")


@dataclass(frozen=True, slots=True)
class Segment:
    """One captured segment of a direction, in capture order."""

    frame: int
    seq: int  # as captured
    flags: str
    start: int  # the data it carries, as offsets (start == end: none)
    end: int
    new: int  # how many of those bytes no earlier frame had carried

    @property
    def retransmission(self) -> bool:
        """All its data bytes had been carried before."""
        return self.end > self.start and self.new == 0


@dataclass(frozen=True)
class Stream:
    """The bytes one side sent, reassembled."""

    src: Endpoint
    dst: Endpoint
    isn: int | None  # the SYN's sequence number; None: no SYN was captured
    base: int  # the sequence number of offset 0
    pieces: tuple[Piece, ...]  # sorted, disjoint: which frame supplied which bytes
    holes: tuple[Hole, ...]
    conflicts: tuple[Conflict, ...]
    segments: tuple[Segment, ...]
    fin: int | None  # offset of the FIN (= the number of data bytes before it)
    fin_frame: int | None
    rst: int | None  # offset where a RST from this side came
    rst_frame: int | None
    notes: tuple[str, ...] = ()
    runs: tuple[tuple[int, bytes], ...] = field(default=(), repr=False)  # (offset, contiguous bytes)

    @property
    def mid_connection(self) -> bool:
        """The capture did not see this side's SYN: offsets start at the first byte seen."""
        return self.isn is None

    @property
    def end(self) -> int:
        """Offset after the last byte known to have been sent (captured or a hole)."""
        last = self.pieces[-1].end if self.pieces else 0
        return max(last, self.fin or 0)

    def data(self) -> bytes:
        """The bytes from offset 0 up to the first hole (all of them when there is none)."""
        return self.runs[0][1] if self.runs and self.runs[0][0] == 0 else b""

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end); ValueError if a hole lies in the range."""
        i = bisect_right(self.runs, start, key=lambda r: r[0]) - 1
        if i >= 0:
            offset, data = self.runs[i]
            if end <= offset + len(data):
                return data[start - offset:end - offset]
        raise ValueError(f"bytes {start}–{end - 1} were not all captured")

    def frames(self, start: int, end: int) -> tuple[int, ...]:
        """Numbers of the frames whose bytes make [start, end), in frame order."""
        return tuple(sorted({p.frame for p in self._pieces_in(start, end)}))

    def retransmissions(self, start: int, end: int) -> tuple[int, ...]:
        """Numbers of the frames that carried bytes of [start, end) again (not the ones kept)."""
        kept = set(self.frames(start, end))
        return tuple(s.frame for s in self.segments
                     if s.start < end and s.end > start and s.frame not in kept)

    def holes_in(self, start: int, end: int) -> tuple[Hole, ...]:
        return tuple(h for h in self.holes if h.start < end and h.end > start)

    def _pieces_in(self, start: int, end: int) -> list[Piece]:
        i = max(bisect_right(self.pieces, start, key=lambda p: p.start) - 1, 0)
        out = []
        for p in self.pieces[i:]:
            if p.start >= end:
                break
            if p.end > start:
                out.append(p)
        return out


@dataclass(frozen=True)
class Connection:
    """One TCP connection: its two directions, reassembled."""

    client: Endpoint
    server: Endpoint
    upstream: Stream  # client → server
    downstream: Stream  # server → client
    frames: tuple[int, ...]  # every frame of it, in capture order (copies from other links excluded)
    copies: tuple[int, ...]  # frames that were the same packet captured again on another link
    links: tuple[str, ...]  # where it was seen, in order of first sight
    roles_known: bool  # the client is known from a SYN or SYN-ACK (else: the higher port)

    @property
    def handshake(self) -> bool:
        """The client's SYN was captured."""
        return self.upstream.isn is not None

    @property
    def closed_by(self) -> str | None:
        """"client" or "server": whoever sent the first FIN or RST; None: neither did."""
        firsts = {side: min((f for f in (s.fin_frame, s.rst_frame) if f is not None), default=None)
                  for side, s in (("client", self.upstream), ("server", self.downstream))}
        known = {side: f for side, f in firsts.items() if f is not None}
        return min(known, key=known.__getitem__) if known else None

    @property
    def reset(self) -> bool:
        return self.upstream.rst_frame is not None or self.downstream.rst_frame is not None

    def stream(self, sender: Endpoint) -> Stream:
        """The direction `sender` sent."""
        return self.upstream if sender == self.client else self.downstream


def connections(frames: Iterable[FrameLike]) -> list[Connection]:
    """Every TCP connection in `frames` (capture order), in order of its first frame."""
    builders: list[_Builder] = []
    current: dict[frozenset, _Builder] = {}
    instances: dict[tuple, list[set[str]]] = {}  # a packet's fields → the links each instance of it was seen on
    for frame in frames:
        ip, tcp = frame.layers.get("ip"), frame.layers.get("tcp")
        if ip is None or tcp is None:
            continue
        src, dst = Endpoint(ip["src"], tcp["sport"]), Endpoint(ip["dst"], tcp["dport"])
        pair = frozenset((src, dst))
        payload = bytes(tcp.get("payload", b""))
        flags = tcp["flags"]
        key = (src, dst, ip.get("id"), tcp["seq"], tcp["ack"], flags, payload)
        seen = instances.setdefault(key, [])
        builder = current.get(pair)
        if seen and frame.link not in seen[-1] and builder is not None:
            seen[-1].add(frame.link)
            builder.copies.append(frame.index)
            continue
        seen.append({frame.link})
        if "S" in flags and "A" not in flags and (builder is None or not builder.continues(src, tcp["seq"])):
            builder = current[pair] = _Builder()
            builders.append(builder)
        elif builder is None:
            builder = current[pair] = _Builder()
            builders.append(builder)
        builder.add(frame.index, frame.link, src, dst, tcp["seq"], tcp["ack"], flags, payload)
    return [b.build() for b in builders]


class _Raw(NamedTuple):
    frame: int
    seq: int
    ack: int
    flags: str
    payload: bytes


class _Builder:
    """The frames of one connection as they come."""

    def __init__(self) -> None:
        self.frames: list[int] = []
        self.copies: list[int] = []
        self.links: list[str] = []
        self.sides: dict[Endpoint, list[_Raw]] = {}
        self.order: list[Endpoint] = []
        self.syn: tuple[Endpoint, int] | None = None  # the client and its SYN's seq
        self.synack_from: Endpoint | None = None
        self.closed = False

    def continues(self, src: Endpoint, seq: int) -> bool:
        """A SYN from `src` with `seq` is a retransmission of this connection's SYN."""
        return not self.closed and self.syn == (src, seq)

    def add(self, index: int, link: str, src: Endpoint, dst: Endpoint, seq: int, ack: int, flags: str,
            payload: bytes) -> None:
        self.frames.append(index)
        if link not in self.links:
            self.links.append(link)
        for end in (src, dst):
            if end not in self.sides:
                self.sides[end] = []
                self.order.append(end)
        self.sides[src].append(_Raw(index, seq, ack, flags, payload))
        if "S" in flags and "A" not in flags and self.syn is None:
            self.syn = (src, seq)
        elif "S" in flags and "A" in flags and self.synack_from is None:
            self.synack_from = src
        if "F" in flags or "R" in flags:
            self.closed = True

    def build(self) -> Connection:
        a, b = self.order
        if self.syn is not None:
            client, known = self.syn[0], True
        elif self.synack_from is not None:
            client, known = (b if self.synack_from == a else a), True
        else:
            client, known = (a if a.port >= b.port else b), False
        server = b if client == a else a
        up = _stream(client, server, self.sides[client], self.sides[server])
        down = _stream(server, client, self.sides[server], self.sides[client])
        return Connection(client, server, up, down, tuple(self.frames), tuple(self.copies), tuple(self.links), known)


def _stream(src: Endpoint, dst: Endpoint, raws: list[_Raw], peer: list[_Raw]) -> Stream:
    """One direction, from the segments `src` sent."""
    syn = next((r for r in raws if "S" in r.flags), None)
    isn = syn.seq if syn is not None else None
    base = (isn + 1) % SEQ_SPACE if isn is not None else (raws[0].seq if raws else 0)
    starts = _unwrap(base, raws)
    if isn is None:
        used = [s for s, r in zip(starts, raws) if r.payload or "F" in r.flags]
        low = min(used, default=0)
        if low:
            base = (base + low) % SEQ_SPACE
            starts = [s - low for s in starts]
    fin = fin_frame = rst = rst_frame = None
    for start, r in zip(starts, raws):
        if "F" in r.flags and fin is None:
            fin, fin_frame = start + len(r.payload), r.frame
        if "R" in r.flags and rst is None:
            rst, rst_frame = start, r.frame
    cover = _Cover()
    segments = []
    notes = []
    for start, r in zip(starts, raws):
        end = start + len(r.payload)
        data, lo = r.payload, start
        if "R" in r.flags and data:
            notes.append(f"frame #{r.frame}: the RST's {len(data)} bytes of payload are not data")
            data, end = b"", start
        if start < 0 and data:
            data, lo = data[-start:], 0
        if fin is not None and end > fin and data:
            notes.append(f"frame #{r.frame}: {end - max(fin, lo)} bytes past the FIN are not data")
            data = data[:max(fin - lo, 0)]
        new = cover.add(lo, data, r.frame) if data else 0
        segments.append(Segment(r.frame, r.seq, r.flags, lo, lo + len(data), new))
    pieces = tuple(Piece(s, e, f) for s, e, f, _ in cover.pieces)
    holes, at = [], 0
    for p in pieces:
        if p.start > at:
            holes.append(Hole(at, p.start))
        at = p.end
    if fin is not None and fin > at:
        holes.append(Hole(at, fin))
    return Stream(src, dst, isn, base, pieces, tuple(holes), tuple(cover.conflicts), tuple(segments),
                  fin, fin_frame, rst, rst_frame, tuple(notes), cover.runs())


def _unwrap(base: int, raws: list[_Raw]) -> list[int]:
    """The offset of each segment's first data byte from `base`, unwrapped against the highest so far."""
    out, high = [], 0
    for r in raws:
        seq = (r.seq + 1) % SEQ_SPACE if "S" in r.flags else r.seq
        start = high + seq_distance(seq, (base + high) % SEQ_SPACE)
        out.append(start)
        high = max(high, start + len(r.payload))
    return out


class _Cover:
    """Which bytes are held, first-received wins: sorted disjoint [start, end, frame, bytes]."""

    def __init__(self) -> None:
        self.pieces: list[tuple[int, int, int, bytes]] = []
        self.starts: list[int] = []
        self.conflicts: list[Conflict] = []

    def add(self, start: int, data: bytes, frame: int) -> int:
        """Keep the bytes of [start, start + len(data)) nobody held yet; the number kept."""
        end = start + len(data)
        if not self.pieces or start >= self.pieces[-1][1]:  # the common case: in order
            self.pieces.append((start, end, frame, data))
            self.starts.append(start)
            return len(data)
        i = max(bisect_right(self.starts, start) - 1, 0)
        fresh, at = [], start
        while i < len(self.pieces) and self.pieces[i][0] < end:
            ps, pe, pf, pd = self.pieces[i]
            if pe > at:
                if ps > at:
                    fresh.append((at, ps))
                lo, hi = max(ps, start), min(pe, end)
                if lo < hi and pd[lo - ps:hi - ps] != data[lo - start:hi - start]:
                    self.conflicts.append(Conflict(lo, hi, frame, pf))
                at = max(at, pe)
            i += 1
        if at < end:
            fresh.append((at, end))
        for lo, hi in fresh:
            j = bisect_right(self.starts, lo)
            self.pieces.insert(j, (lo, hi, frame, data[lo - start:hi - start]))
            self.starts.insert(j, lo)
        return sum(hi - lo for lo, hi in fresh)

    def runs(self) -> tuple[tuple[int, bytes], ...]:
        out: list[tuple[int, bytes]] = []
        parts: list[bytes] = []
        run_start = run_end = None
        for s, e, _, d in self.pieces:
            if run_end is not None and s == run_end:
                parts.append(d)
            else:
                if run_start is not None:
                    out.append((run_start, b"".join(parts)))
                run_start, parts = s, [d]
            run_end = e
        if run_start is not None:
            out.append((run_start, b"".join(parts)))
        return tuple(out)
