"""TCP reassembly (protolab.wire.streams) on hand-built frames and on decoded scapy packets."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from protolab.expect.trace import Frame
from protolab.wire.streams import Conflict, Endpoint, Hole, connections

CLIENT, SERVER = ("10.0.1.10", 40312), ("10.0.2.80", 80)


class Capture:
    """Frames as a capture would list them, numbered from 1."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self._ids = 0

    def seg(self, src, dst, seq: int, ack: int, flags: str, payload: bytes = b"", link: str = "lan1",
            ip_id: int | None = None) -> int:
        """Append one TCP segment; its frame number."""
        if ip_id is None:
            self._ids += 1
            ip_id = self._ids
        index = len(self.frames) + 1
        layers = {
            "ip": MappingProxyType({"src": src[0], "dst": dst[0], "ttl": 64, "proto": 6, "id": ip_id,
                                    "len": 40 + len(payload), "flags": "DF"}),
            "tcp": MappingProxyType({"sport": src[1], "dport": dst[1], "seq": seq % 2**32, "ack": ack % 2**32,
                                     "flags": flags, "window": 64240, "len": len(payload), "mss": None,
                                     "payload": payload}),
        }
        self.frames.append(Frame(index=index, time=index * 1e-3, link=link, sender=None, receiver=None,
                                 layers=MappingProxyType(layers)))
        return index


class Flow:
    """Both sides of one connection, keeping the counters so tests say only what differs."""

    def __init__(self, cap: Capture, cisn: int = 1000, sisn: int = 5000, client=CLIENT, server=SERVER) -> None:
        self.cap, self.client, self.server = cap, client, server
        self.next = {client: cisn, server: sisn}
        self.isn = {client: cisn, server: sisn}

    def handshake(self) -> None:
        c, s = self.client, self.server
        self.cap.seg(c, s, self.isn[c], 0, "S")
        self.cap.seg(s, c, self.isn[s], self.isn[c] + 1, "SA")
        self.next[c] += 1
        self.next[s] += 1
        self.cap.seg(c, s, self.next[c], self.next[s], "A")

    def peer(self, side):
        return self.server if side == self.client else self.client

    def at(self, side, offset: int, payload: bytes, flags: str = "PA", **kw) -> int:
        """A segment carrying `payload` at relative `offset` (counters unchanged)."""
        base = self.isn[side] + 1
        return self.cap.seg(side, self.peer(side), base + offset, self.next[self.peer(side)], flags, payload, **kw)

    def send(self, side, data: bytes, size: int = 1448, **kw) -> list[int]:
        """`data` in order, in segments of `size`."""
        out = []
        for i in range(0, len(data), size):
            part = data[i:i + size]
            out.append(self.cap.seg(side, self.peer(side), self.next[side], self.next[self.peer(side)], "PA", part, **kw))
            self.next[side] += len(part)
        return out

    def fin(self, side, **kw) -> int:
        n = self.cap.seg(side, self.peer(side), self.next[side], self.next[self.peer(side)], "FA", **kw)
        self.next[side] += 1
        return n

    def rst(self, side) -> int:
        return self.cap.seg(side, self.peer(side), self.next[side], 0, "R")


def one(frames):
    conns = connections(frames)
    assert len(conns) == 1, conns
    return conns[0]


def test_in_order_bytes_frames_and_close():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    data = bytes(range(256)) * 20  # 5120 bytes: 4 segments
    frames = f.send(CLIENT, data)
    fin_c = f.fin(CLIENT)
    f.fin(SERVER)
    conn = one(cap.frames)
    assert (conn.client, conn.server) == (Endpoint(*CLIENT), Endpoint(*SERVER))
    assert conn.roles_known and conn.handshake
    up = conn.upstream
    assert up.isn == 1000 and up.base == 1001 and not up.mid_connection
    assert up.data() == data and up.holes == () and up.conflicts == ()
    assert up.frames(0, len(data)) == tuple(frames)
    assert up.frames(1448, 1449) == (frames[1],)
    assert up.frames(1447, 1449) == (frames[0], frames[1])
    assert up.read(1000, 1010) == data[1000:1010]
    assert up.fin == len(data) and up.fin_frame == fin_c
    assert conn.closed_by == "client" and not conn.reset
    assert conn.frames == tuple(range(1, len(cap.frames) + 1))
    assert conn.downstream.data() == b"" and conn.downstream.fin == 0


def test_out_of_order_segments_are_placed():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    a, b, c = b"A" * 1448, b"B" * 1448, b"C" * 100
    n3 = f.at(CLIENT, 2896, c)
    n1 = f.at(CLIENT, 0, a)
    n2 = f.at(CLIENT, 1448, b)
    up = one(cap.frames).upstream
    assert up.data() == a + b + c and up.holes == ()
    assert up.frames(0, 2996) == (n3, n1, n2)
    assert [s.new for s in up.segments if s.end > s.start] == [100, 1448, 1448]


def test_retransmission_is_counted_once_and_named():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    first = f.at(CLIENT, 0, b"hello ")
    again = f.at(CLIENT, 0, b"hello ")
    f.at(CLIENT, 6, b"world")
    up = one(cap.frames).upstream
    assert up.data() == b"hello world"
    assert up.frames(0, 11) == (first, again + 1)
    assert up.retransmissions(0, 11) == (again,)
    assert [s.retransmission for s in up.segments if s.frame in (first, again)] == [False, True]


def test_overlap_with_other_bytes_keeps_the_first():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    first = f.at(CLIENT, 0, b"AAAAAAAAAA")  # 0..9
    later = f.at(CLIENT, 5, b"bbbbbCCCCC")  # 5..14: its 5..9 differ
    up = one(cap.frames).upstream
    assert up.data() == b"AAAAAAAAAACCCCC"
    assert up.conflicts == (Conflict(5, 10, later, first),)
    assert str(up.conflicts[0]) == (f"frame #{later} carried other bytes for 5–9 than frame #{first} before it"
                                    " (the first ones are kept)")
    assert up.frames(0, 15) == (first, later)
    assert up.segments[-1].new == 5


def test_later_segment_covering_two_earlier_fills_only_the_gap_between():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    f.at(CLIENT, 0, b"aaa")
    f.at(CLIENT, 6, b"ccc")
    wide = f.at(CLIENT, 0, b"XXXbbbXXX")
    up = one(cap.frames).upstream
    assert up.data() == b"aaabbbccc"
    assert up.frames(3, 6) == (wide,)
    assert len(up.conflicts) == 2


def test_gap_is_a_hole_with_its_byte_range():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    f.at(CLIENT, 0, b"x" * 1448)
    last = f.at(CLIENT, 2896, b"z" * 1448)
    up = one(cap.frames).upstream
    assert up.holes == (Hole(1448, 2896),)
    assert str(up.holes[0]) == "bytes 1448–2895 were never captured"
    assert up.data() == b"x" * 1448  # up to the hole
    assert up.read(2896, 2900) == b"zzzz" and up.frames(2896, 4344) == (last,)
    with pytest.raises(ValueError, match="bytes 1000–1999 were not all captured"):
        up.read(1000, 2000)
    assert up.holes_in(0, 1448) == () and up.holes_in(1400, 1500) == (Hole(1448, 2896),)


def test_bytes_lost_before_the_fin_are_a_hole():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    f.send(CLIENT, b"x" * 100)
    f.next[CLIENT] += 50  # 50 bytes the capture missed
    f.fin(CLIENT)
    up = one(cap.frames).upstream
    assert up.holes == (Hole(100, 150),) and up.fin == 150


def test_sequence_numbers_wrap_mid_stream():
    cap = Capture()
    f = Flow(cap, cisn=2**32 - 1000)
    f.handshake()
    data = bytes(i % 251 for i in range(5000))
    frames = f.send(CLIENT, data)
    assert any(cap.frames[n - 1].layers["tcp"]["seq"] < 5000 for n in frames)  # it did wrap
    f.fin(CLIENT)
    up = one(cap.frames).upstream
    assert up.data() == data and up.holes == () and up.fin == 5000
    assert up.frames(990, 1010) == (frames[0],)  # 999 is the last byte before 2**32


def test_capture_that_starts_mid_connection():
    cap = Capture()
    f = Flow(cap)
    # no handshake captured: the client has already sent 300 bytes
    f.next[CLIENT] += 301
    f.next[SERVER] += 1
    late = f.at(CLIENT, 300 + 1448, b"b" * 10)  # early out-of-order data, seen first
    first = f.at(CLIENT, 300, b"a" * 1448)
    f.send(SERVER, b"reply")
    conn = one(cap.frames)
    up = conn.upstream
    assert up.mid_connection and up.isn is None
    assert up.base == 1000 + 1 + 300  # offset 0 is the lowest byte seen
    assert up.data() == b"a" * 1448 + b"b" * 10 and up.holes == ()
    assert up.frames(0, 1458) == (late, first)
    assert not conn.handshake and not conn.roles_known
    assert conn.client == Endpoint(*CLIENT)  # the higher port


def test_synack_alone_names_the_client():
    cap = Capture()
    server, client = ("10.0.0.1", 50000), ("10.0.0.2", 80)  # the higher-port rule would get these backwards
    cap.seg(server, client, 7, 101, "SA")  # the SYN was not captured
    conn = one(cap.frames)
    assert conn.server == Endpoint(*server) and conn.client == Endpoint(*client) and conn.roles_known


def test_new_syn_after_fin_starts_a_new_connection():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    f.send(CLIENT, b"one")
    f.fin(CLIENT)
    f.fin(SERVER)
    g = Flow(cap, cisn=1000, sisn=9000)  # the same 4-tuple, even the same ISN
    g.handshake()
    g.send(CLIENT, b"two")
    g.rst(CLIENT)
    conns = connections(cap.frames)
    assert [c.upstream.data() for c in conns] == [b"one", b"two"]
    assert conns[1].frames[0] == 7 and conns[1].reset and conns[1].closed_by == "client"
    assert conns[1].downstream.isn == 9000


def test_retransmitted_syn_is_the_same_connection():
    cap = Capture()
    f = Flow(cap)
    cap.seg(CLIENT, SERVER, 1000, 0, "S")
    f.handshake()  # the SYN again, then the rest
    conn = one(cap.frames)
    assert conn.upstream.segments[0].flags == "S" and conn.frames == (1, 2, 3, 4)


def test_server_closes_first_with_rst():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    f.send(CLIENT, b"hi")
    rst = f.rst(SERVER)
    f.fin(CLIENT)
    conn = one(cap.frames)
    assert conn.closed_by == "server" and conn.downstream.rst_frame == rst and conn.reset


def test_rst_payload_and_bytes_past_fin_are_not_data():
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    f.send(CLIENT, b"data")
    f.fin(CLIENT)
    f.at(CLIENT, 5, b"late")  # after the FIN's number
    cap.seg(SERVER, CLIENT, 5001, 0, "R", b"diagnostic")
    conn = one(cap.frames)
    assert conn.upstream.data() == b"data" and conn.downstream.data() == b""
    assert any("past the FIN" in n for n in conn.upstream.notes)
    assert any("RST" in n for n in conn.downstream.notes)


def test_copies_on_a_second_link_count_once():
    cap = Capture()
    f = Flow(cap)
    c, s = CLIENT, SERVER
    # the router forwards every packet: the capture sees each on lan1, then lan2 (same IP id)
    syn = cap.seg(c, s, 1000, 0, "S", link="lan1", ip_id=7)
    cap.seg(c, s, 1000, 0, "S", link="lan2", ip_id=7)
    cap.seg(s, c, 5000, 1001, "SA", link="lan2", ip_id=8)
    cap.seg(s, c, 5000, 1001, "SA", link="lan1", ip_id=8)
    data1 = cap.seg(c, s, 1001, 5001, "PA", b"GET", link="lan1", ip_id=9)
    cap.seg(c, s, 1001, 5001, "PA", b"GET", link="lan2", ip_id=9)
    # a real retransmission (hand-made: the same IP id) on lan1, and its forwarded copy
    again = cap.seg(c, s, 1001, 5001, "PA", b"GET", link="lan1", ip_id=9)
    cap.seg(c, s, 1001, 5001, "PA", b"GET", link="lan2", ip_id=9)
    del f
    conn = one(cap.frames)
    assert conn.frames == (syn, 3, data1, again)
    assert conn.copies == (2, 4, 6, 8)
    assert conn.links == ("lan1", "lan2")
    up = conn.upstream
    assert up.data() == b"GET" and up.frames(0, 3) == (data1,)
    assert up.retransmissions(0, 3) == (again,)
    assert [s.frame for s in up.segments] == [syn, data1, again]


def test_decoded_scapy_packets_reassemble_like_hand_built_frames():
    """The layers decode.py gives real bytes are what streams reads."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    from protolab.wire.decode import decode_layers

    def frame(n, pkt):
        layers = {k: MappingProxyType(v) for k, v in decode_layers(bytes(Ether() / pkt)).items()}
        return Frame(index=n, time=n, link="lan1", sender=None, receiver=None, layers=MappingProxyType(layers))

    c, s = dict(src="10.0.1.10"), dict(dst="10.0.2.80")
    pkts = [IP(**c, **s) / TCP(sport=40000, dport=80, seq=2**32 - 2, flags="S"),
            IP(**c, **s) / TCP(sport=40000, dport=80, seq=2**32 - 1, ack=1, flags="PA") / b"abc",
            IP(**c, **s) / TCP(sport=40000, dport=80, seq=2, ack=1, flags="PA") / b"def"]
    conn = one([frame(i, p) for i, p in enumerate(pkts, start=1)])
    assert conn.upstream.data() == b"abcdef" and conn.upstream.frames(2, 4) == (2, 3)


def test_frames_without_tcp_are_ignored():
    cap = Capture()
    arp = Frame(index=1, time=0, link="lan1", sender=None, receiver=None,
                layers=MappingProxyType({"arp": MappingProxyType({"op": 1})}))
    assert connections([arp]) == []
    assert connections(cap.frames) == []


def test_importing_streams_and_http_does_not_load_scapy():
    import subprocess
    import sys

    code = "import sys, protolab.wire.http, protolab.wire.streams; print(any(m.startswith('scapy') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
