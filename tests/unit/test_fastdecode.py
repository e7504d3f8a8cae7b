"""The struct decoder (fastdecode) against the scapy path it stands in for.

Whenever fastdecode reads a frame, its layers are exactly scapy's: same
layers, same fields in the same order, equal values of the same types. The
frames: every frame of every capture under tests/vectors, frames built with
scapy for each protocol, flag and option the labs use (and malformed ones),
and a seeded random corpus of those frames with bytes flipped, cut, or cut
only in the capture. On every one of them decode_layers returns scapy's
layers and never raises.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
from pathlib import Path

import dns.message
import dns.rrset
import pytest
from scapy.fields import ShortField
from scapy.layers.inet import ICMP, IP, TCP, UDP, UDPerror
from scapy.layers.l2 import ARP, GRE, Dot1AD, Dot1Q, Ether
from scapy.packet import Packet, Raw, bind_layers, split_layers

from protolab.capture.frames import RawFrame
from protolab.capture.reader import open_capture
from protolab.wire import fastdecode
from protolab.wire.decode import decode_all, decode_layers, scapy_layers


@pytest.fixture(autouse=True, scope="module")
def scapy_without_its_dns_bindings():
    """The fast path defers to scapy for a port scapy binds to a layer: once anything in the
    process imported scapy.layers.dns (a lab's test does), port 53 is such a port. These tests
    are about the fast path itself, so they run with scapy's DNS bindings taken out, and put back."""
    import sys

    dns = sys.modules.get("scapy.layers.dns")
    if dns is None:
        yield
        return
    from scapy.layers.inet import TCP, UDP
    from scapy.packet import bind_layers, split_layers

    bound = [(lower, upper, condition) for lower in (UDP, TCP) for condition, upper in list(lower.payload_guess)
             if upper is dns.DNS and set(condition) <= {"sport", "dport"} and 53 in condition.values()]
    for lower, upper, condition in bound:
        split_layers(lower, upper, **condition)
    try:
        yield
    finally:
        for lower, upper, condition in bound:
            bind_layers(lower, upper, **condition)

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
ETH, RAW, IPV4, SLL, SLL2 = 1, 101, 228, 113, 276
A, B, R = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:01"
CLIENT, SERVER = "10.0.1.10", "10.0.2.11"


def same(fast: dict, scapy: dict) -> bool:
    """Equal and of the same types, fields in the same order (repr tells 1 from True, str from bytes)."""
    return fast == scapy and repr(fast) == repr(scapy)


COMPARED = [0]  # frames whose fast layers were compared with scapy's


def check(data: bytes, linktype: int = ETH, wire_len: int | None = None) -> bool:
    """fast == scapy where fast claims the frame, and decode_layers never raises; True if fast claimed it.

    (A frame fast does not claim, decode_layers gives to scapy_layers itself.)"""
    fast = fastdecode.fast_layers(data, linktype, wire_len)
    decoded = decode_layers(data, linktype, wire_len)
    if fast is not None:
        reference = scapy_layers(data, linktype, wire_len)
        assert same(fast, reference), f"linktype {linktype} wire_len {wire_len} frame {data.hex()}:\n{fast}\n!=\n{reference}"
        assert same(decoded, reference)
        COMPARED[0] += 1
    return fast is not None


# -- frames built with scapy


def eth(payload: Packet | bytes, src: str = A, dst: str = R) -> Packet:
    return Ether(src=src, dst=dst) / payload


def ip(**kw) -> IP:
    return IP(src=kw.pop("src", CLIENT), dst=kw.pop("dst", SERVER), **kw)


def sll(network: bytes, proto: int = 0x0800, pkttype: int = 0, hatype: int = 1, address: bytes = bytes.fromhex("02000000000a")) -> bytes:
    return struct.pack("!HHH8sH", pkttype, hatype, len(address), address.ljust(8, b"\0"), proto) + network


def sll2(network: bytes, proto: int = 0x0800, pkttype: int = 0, hatype: int = 1, address: bytes = bytes.fromhex("02000000000a")) -> bytes:
    return struct.pack("!HHIHBB8s", proto, 0, 3, hatype, pkttype, len(address), address.ljust(8, b"\0")) + network


def dns_query(name: str = "www.example.lab.", rdtype: str = "A", ident: int = 4660) -> bytes:
    q = dns.message.make_query(name, rdtype, use_edns=False)
    q.id = ident
    return q.to_wire()


def dns_response() -> bytes:
    q = dns.message.make_query("www.example.lab.", "A", use_edns=0)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("www.example.lab.", 300, "IN", "A", "10.0.2.80"))
    r.authority.append(dns.rrset.from_text("example.lab.", 300, "IN", "NS", "ns1.example.lab."))
    return r.to_wire()


TCP_OPTIONS = [
    [],
    [("MSS", 1460)],
    [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123, 0)), ("NOP", None), ("WScale", 7)],
    [("NOP", None), ("NOP", None), ("Timestamp", (1, 2))],
    [("NOP", None), ("NOP", None), ("SAck", (1000, 2000, 3000, 4000))],
    [("WScale", 14), ("MSS", 536)],
    [("EOL", None)],
    [("MSS", 1460), ("EOL", None), ("MSS", 9)],
    [("TFO", (1, 2))],
    [("MD5", b"0123456789abcdef")],
    [("UTO", 30)],
    [(99, b"xy")],
    [(254, b"\x00\x01\x02\x03")],
]
RAW_TCP_OPTIONS = [  # bytes scapy's builder would not write
    b"\x02\x03\x05\x00",  # MSS of length 3: scapy gives its value as bytes
    b"\x02\x05\x05\xb4\x00\x00\x00\x00",  # MSS of length 5
    b"\x02\x04\x05",  # MSS cut by the header end (padded below)
    b"\x02\x00\x05\xb4",  # a length under 2
    b"\x08\x00\x02\x04\x05\xb4",  # ... taken as 2: then an MSS
    b"\x08\x01\x02\x04\x05\xb4",
    b"\x08\x01\x00\x00",
    b"\x01" * 8,
    b"\x00" * 4,
    b"\x03\xff\x00\x00",  # a length past the header
    b"\x1d\x04\x01\x02",  # TCP-AO: left to scapy
    b"\x1d\x03\x01\x00",
    b"\x05\x06\x00\x00\x00\x01\x00\x00",  # a SACK of 4 bytes
]


def tcp_frames() -> list[bytes]:
    out = []
    for flags in range(0x200):  # every combination of the nine flag bits (NS is no canonical flag)
        out.append(bytes(eth(ip() / TCP(sport=40000, dport=80, flags=flags, seq=1000, ack=5000))))
    for options in TCP_OPTIONS:
        for payload in (b"", b"x" * 64):
            out.append(bytes(eth(ip() / TCP(sport=40000, dport=80, flags="S", options=options) / payload)))
    for raw in RAW_TCP_OPTIONS:
        raw = raw + b"\0" * (-len(raw) % 4)
        header = bytearray(bytes(TCP(sport=1, dport=2, flags="SA")))
        header[12] = (5 + len(raw) // 4) << 4
        out.append(bytes(eth(ip(proto=6) / Raw(bytes(header) + raw + b"data"))))
    for dataofs in (0, 4, 15):  # data offsets scapy reads oddly or past the segment
        header = bytearray(bytes(TCP(sport=1, dport=2) / b"payload bytes here, forty of them......."))
        header[12] = dataofs << 4
        out.append(bytes(eth(ip(proto=6) / Raw(bytes(header)))))
    out.append(bytes(eth(ip() / TCP(sport=53, dport=33000, flags="PA") / (struct.pack("!H", len(dns_response())) + dns_response()))))
    out.append(bytes(eth(ip() / TCP(sport=33000, dport=53, flags="PA") / (struct.pack("!H", len(dns_query())) + dns_query()))))
    out.append(bytes(eth(ip() / TCP(sport=33000, dport=53, flags="PA") / dns_query())))  # no length prefix: no dns layer
    out.append(bytes(eth(ip() / TCP(sport=33000, dport=53, flags="A"))))
    return out


def udp_frames() -> list[bytes]:
    out = []
    for payload in (b"", b"a", b"hello world", b"z" * 1400):
        for sport, dport in ((1234, 5678), (40000, 80), (68, 67), (5353, 5353), (1234, 4754), (4754, 1234), (123, 123)):
            out.append(bytes(eth(ip() / UDP(sport=sport, dport=dport) / payload)))
    for message in (dns_query(), dns_query("nothere.example.lab.", "AAAA", 1), dns_response(), b"\x12\x34\x81", b"\x12\x34\x81\x80" + b"\xff" * 20):
        out.append(bytes(eth(ip() / UDP(sport=33000, dport=53) / message)))
        out.append(bytes(eth(ip(src=SERVER, dst=CLIENT) / UDP(sport=53, dport=33000) / message)))
    for length in (0, 7, 8, 9, 12, 19, 20, 21, 100):  # UDP lengths shorter or longer than the datagram
        out.append(bytes(eth(ip() / UDP(sport=1, dport=2, len=length) / b"twelve bytes")))
    out.append(bytes(eth(ip() / UDP(sport=1, dport=53, len=20) / dns_query())))
    out.append(bytes(eth(ip(proto=17) / b"\x00\x01")))  # a UDP header cut by the IP length
    return out


def quoted(inner: Packet, cut: int | None = None) -> bytes:
    data = bytes(inner)
    return data if cut is None else data[:cut]


def icmp_frames() -> list[bytes]:
    out = []
    for type_ in (0, 8):
        for payload in (b"", b"ping" * 14):
            out.append(bytes(eth(ip() / ICMP(type=type_, id=7, seq=3) / payload)))
    original_udp = ip(src=CLIENT, dst="10.0.9.9", ttl=1) / UDP(sport=33434, dport=33435) / (b"\0" * 24)
    original_tcp = ip(src=CLIENT, dst="10.0.9.9", ttl=1) / TCP(sport=40000, dport=80, flags="S")
    original_icmp = ip(src=CLIENT, dst="10.0.9.9", ttl=1) / ICMP(type=8, id=1, seq=1) / b"abcdefgh"
    for type_, codes in ((3, range(16)), (11, (0, 1)), (12, (0, 1)), (4, (0,)), (5, (0, 1))):
        for code in codes:
            for original in (original_udp, original_tcp, original_icmp):
                error = ICMP(type=type_, code=code)
                out.append(bytes(eth(ip(src="10.0.1.1", dst=CLIENT) / error / quoted(original))))
    for original in (original_udp, original_tcp, original_icmp):
        for cut in (0, 1, 8, 12, 19, 20, 21, 24, 27, 28, 30):  # quotes cut anywhere, even inside the IP header
            out.append(bytes(eth(ip(src="10.0.1.1", dst=CLIENT) / ICMP(type=3, code=3) / quoted(original, cut))))
    quoted_odd = [
        ip(dst="10.0.9.9", options=b"\x94\x04\x00\x00") / UDP(sport=1, dport=2),  # a quoted header with options
        ip(dst="10.0.9.9") / UDP(sport=1, dport=4754) / (b"\x00\x00\x08\x00" + bytes(ip() / TCP())),  # GRE inside
        ip(dst="10.0.9.9", proto=47) / GRE() / ip() / TCP(),
        ip(dst="10.0.9.9", proto=4) / ip() / UDP(),
        ip(dst="10.0.9.9") / ICMP(type=3, code=1) / ip() / UDP(),  # an error about an error
        ip(dst="10.0.9.9", frag=100) / b"fragment",
        ip(dst="10.0.9.9", proto=132) / b"sctp....",
    ]
    for original in quoted_odd:
        out.append(bytes(eth(ip(src="10.0.1.1", dst=CLIENT) / ICMP(type=11) / quoted(original))))
    bad_ihl = bytearray(bytes(original_udp))
    bad_ihl[0] = 0x43  # a quoted header length under 20
    out.append(bytes(eth(ip(src="10.0.1.1", dst=CLIENT) / ICMP(type=3, code=3) / bytes(bad_ihl))))
    big = ip(src=CLIENT, dst="10.0.9.9") / UDP(sport=1, dport=2) / (b"q" * 200)  # RFC 4884 extension territory
    for size in (135, 136, 143, 144, 150, 228):
        out.append(bytes(eth(ip(src="10.0.1.1", dst=CLIENT) / ICMP(type=3, code=3) / bytes(big)[: size - 8])))
        out.append(bytes(eth(ip(src="10.0.1.1", dst=CLIENT) / ICMP(type=5, code=1, gw="10.0.1.2") / bytes(big)[: size - 8])))
    for type_ in range(256):  # every type, with the fields scapy reads for it, and fewer bytes than those
        for size in ((4, 7, 8, 11, 12, 19, 20, 28, 48) if type_ in (3, 5, 11, 12, 13, 14, 17, 18, 37, 38) else (7, 8, 20)):
            out.append(bytes(eth(ip(proto=1) / (bytes([type_, 5, 0, 0]) + bytes(range(size - 4))))))
    for size in (1, 2, 4, 6, 7):  # an ICMP header cut by the IP length
        out.append(bytes(eth(ip(proto=1) / bytes(ICMP(type=8))[:size])))
    return out


def arp_frames() -> list[bytes]:
    out = []
    request = ARP(op=1, hwsrc=A, psrc=CLIENT, hwdst="00:00:00:00:00:00", pdst="10.0.1.1")
    reply = ARP(op=2, hwsrc=R, psrc="10.0.1.1", hwdst=A, pdst=CLIENT)
    for arp in (request, reply, ARP(op=1, hwsrc="AA:BB:CC:DD:EE:FF", psrc="0.0.0.0", hwdst=B, pdst=CLIENT)):
        out.append(bytes(eth(arp, dst="ff:ff:ff:ff:ff:ff")))
        out.append(bytes(eth(arp)) + b"\0" * 18)  # padded to 60 bytes
        out.append(bytes(eth(arp)) + b"\xa5" * 18)
        out.append(bytes(Ether(src=A, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=10) / arp))
    for hwtype, ptype, hwlen, plen in ((6, 0x0800, 6, 4), (1, 0x86DD, 6, 16), (1, 0x0800, 8, 4), (1, 0x0800, 6, 6)):
        out.append(bytes(eth(b"")) [:12] + b"\x08\x06" + struct.pack("!HHBBH", hwtype, ptype, hwlen, plen, 1) + b"\x11" * 40)
    return out


def ip_frames() -> list[bytes]:
    out = []
    for flags in range(8):
        for frag in (0, 1, 185):
            out.append(bytes(eth(ip(flags=flags, frag=frag, id=4242) / UDP(sport=1, dport=2) / b"fragment?")))
    options = [b"\x01\x01\x01\x00", b"\x94\x04\x00\x00", b"\x07\x07\x04\x00\x00\x00\x00\x00", b"\x44\x0c\x05\x01" + b"\0" * 8,
               b"\x00" * 4, b"\x01" * 40, b"\x07\x27\x04" + b"\0" * 37, b"\x83\x03\x00\x00", b"\x07\x02\x00\x00", b"\x44\x01\x00\x00",
               b"\x82\x0b" + b"\0" * 10, b"\x89\x30\x00\x00"]
    for option in options:
        for upper in (TCP(sport=1, dport=2, flags="S", options=[("MSS", 1400)]), UDP(sport=1, dport=2) / b"u", ICMP() / b"i"):
            out.append(bytes(eth(ip(options=option) / upper)))
    for proto, payload in ((2, b"\x11\x64\xee\x9b\xe0\x00\x00\x01"), (89, b"\x02\x01" + b"\0" * 22), (132, b"\0" * 16), (4, bytes(ip() / UDP())),
                           (41, b"\x60" + b"\0" * 39), (47, b"\x00\x00\x08\x00" + bytes(ip() / TCP())), (50, b"\0" * 16), (255, b"")):
        out.append(bytes(eth(ip(proto=proto) / payload)))
    for length in (0, 19, 20, 21, 39, 40, 41, 200):  # IP lengths shorter or longer than the packet
        out.append(bytes(eth(ip(len=length) / TCP(sport=1, dport=2) / b"payload")))
    for version in (0, 5, 6, 15):
        data = bytearray(bytes(eth(ip() / UDP(sport=1, dport=2))))
        data[14] = version << 4 | 5
        out.append(bytes(data))
    out.append(bytes(eth(ip(ttl=0, id=0, tos=0xFF) / TCP(sport=0, dport=0, seq=2**32 - 1, ack=2**32 - 1, window=0xFFFF))))
    out.append(bytes(eth(ip(ttl=255, id=65535) / TCP(sport=65535, dport=65535))))
    return out


def link_frames() -> list[tuple[bytes, int]]:
    """(frame, link type): VLAN tags, padding, 802.3, cooked and raw link types."""
    out: list[tuple[bytes, int]] = []
    segment = ip() / TCP(sport=40000, dport=80, flags="PA", seq=1, ack=2) / b"GET / HTTP/1.0\r\n\r\n"
    datagram = ip() / UDP(sport=33000, dport=53) / dns_query()
    for network in (segment, datagram, ip() / ICMP() / b"x", ARP(op=1, hwsrc=A, psrc=CLIENT, pdst="10.0.1.1", hwdst="00:00:00:00:00:00")):
        for tags in ([], [Dot1Q(vlan=7)], [Dot1AD(vlan=100), Dot1Q(vlan=7)], [Dot1Q(vlan=1), Dot1Q(vlan=2), Dot1Q(vlan=3)], [Dot1AD(vlan=5)]):
            frame = Ether(src=A, dst=R)
            for tag in tags:
                frame = frame / tag
            out.append((bytes(frame / network), ETH))
        wire = bytes(network)
        out += [(wire, RAW), (wire, IPV4), (sll(wire, 0x0806 if isinstance(network, ARP) else 0x0800), SLL),
                (sll2(wire, 0x0806 if isinstance(network, ARP) else 0x0800), SLL2)]
        for pkttype in (0, 1, 4):
            out.append((sll(wire, 0x0806 if isinstance(network, ARP) else 0x0800, pkttype=pkttype, hatype=772, address=b""), SLL))
            out.append((sll2(wire, 0x0806 if isinstance(network, ARP) else 0x0800, pkttype=pkttype, address=b"\x01\x02"), SLL2))
    short = bytes(eth(ip() / TCP(sport=1, dport=2, flags="S")))
    for padding in (b"\0" * 6, b"\xff" * 6, b"\0" * 60):
        out.append((short + padding, ETH))
    for ethertype in (0x86DD, 0x88CC, 0x8863, 0x9000, 0x0001, 0x0600, 0x05DC, 0x05DD, 0x0026, 0x0000):
        out.append((bytes(Ether(src=A, dst=B, type=ethertype)) + b"\x42\x42\x03" + b"\0" * 43, ETH))
        out.append((sll(b"\x60" + b"\0" * 39, ethertype), SLL))
        out.append((sll2(b"\x60" + b"\0" * 39, ethertype), SLL2))
    out.append((bytes(Ether(src=A, dst=B) / Dot1Q(vlan=3, type=0x86DD)) + b"\x60" + b"\0" * 39, ETH))
    out.append((bytes(Ether(src=A, dst=B) / Dot1Q(vlan=3, type=0x0026)) + b"\x42\x42\x03" + b"\0" * 40, ETH))
    for linktype in (0, 105, 127, 228, 101, 12, 14, 113, 276):
        out.append((b"\x60" + b"\0" * 39, linktype))
        out.append((b"", linktype))
        out.append((bytes(segment)[:15], linktype))
    for linktype in (ETH, SLL, SLL2):  # nothing after the link header
        out.append(((bytes(Ether(src=A, dst=B, type=0x0800)) if linktype == ETH else
                     sll(b"") if linktype == SLL else sll2(b"")), linktype))
        out.append(((bytes(Ether(src=A, dst=B, type=0x0806)) if linktype == ETH else
                     sll(b"", 0x0806) if linktype == SLL else sll2(b"", 0x0806)), linktype))
    return out


def built_frames() -> list[tuple[bytes, int]]:
    frames = [(f, ETH) for f in tcp_frames() + udp_frames() + icmp_frames() + arp_frames() + ip_frames()]
    return frames + link_frames()


BUILT = built_frames()


def vector_frames() -> list[tuple[bytes, int, int | None]]:
    """Every frame of every capture under tests/vectors (and of the DNS frames kept as hex)."""
    out = []
    for path in sorted(VECTORS.rglob("*")):
        if not path.is_file():
            continue
        head = path.read_bytes()[:4]
        if path.suffix == ".gz":
            head = gzip.decompress(path.read_bytes())[:4]
        if head not in (b"\x0a\x0d\x0d\x0a", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
            continue
        with open_capture(path) as capture:
            out += [(f.data, f.interface.linktype, f.wire_len) for f in capture]
    for hexed in json.loads((VECTORS / "dns" / "frames.json").read_text()).values():
        out.append((bytes.fromhex(hexed), ETH, None))
    return out


# -- equivalence


def test_every_frame_of_the_vector_captures():
    frames = vector_frames()
    assert len(frames) > 100
    claimed = sum(check(*f) for f in frames)
    # all but IPv6, and (once a test elsewhere imported scapy layers that bind more ports) a few left to scapy
    assert claimed >= len(frames) * 0.85


def test_frames_built_for_each_protocol_flag_and_option():
    assert len(BUILT) > 1000
    claimed = sum(check(data, linktype) for data, linktype in BUILT)
    assert claimed > len(BUILT) * 0.7  # the rest: cut headers, fragments, IPv6, ... on purpose


def test_frames_cut_by_the_capture_at_every_byte():
    """A snap length anywhere: what the capture holds, and the length the wire carried."""
    picks = [f for f in BUILT if f[1] == ETH][::7] + [f for f in BUILT if f[1] != ETH]
    for data, linktype in picks:
        for cut in range(0, len(data), max(1, len(data) // 24)):
            check(data[:cut], linktype, len(data))
            check(data[:cut], linktype)  # ... or a frame that short on the wire


def mutations(rng: random.Random, data: bytes) -> bytes:
    frame = bytearray(data)
    roll = rng.random()
    if roll < 0.5 and frame:
        for _ in range(rng.randint(1, 3)):  # flip bytes, mostly in the headers
            at = rng.randrange(min(len(frame), 80))
            frame[at] = rng.randrange(256) if rng.random() < 0.5 else frame[at] ^ (1 << rng.randrange(8))
    elif roll < 0.7:
        frame = frame[: rng.randrange(len(frame) + 1)]
    elif roll < 0.85:
        frame += bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))  # padding, or garbage after
    else:  # a header field set to an extreme
        if len(frame) > 20:
            at = rng.randrange(12, min(len(frame) - 1, 70))
            frame[at:at + 2] = rng.choice((b"\x00\x00", b"\xff\xff", b"\x00\x05", b"\x05\xdc", b"\x45\x00", b"\x81\x00"))
    return bytes(frame)


def test_a_random_corpus_of_mutated_and_cut_frames():
    rng = random.Random(20240917)
    claimed = total = 0
    for _ in range(12000):
        data, linktype = rng.choice(BUILT)
        mutated = mutations(rng, data)
        wire_len = rng.choice((None, None, len(data), len(mutated) + rng.randint(0, 1000)))
        claimed += check(mutated, linktype, wire_len)
        total += 1
    assert claimed > total * 0.3  # the corpus does reach the fast path


def test_random_bytes_on_every_link_type():
    rng = random.Random(7)
    for _ in range(3000):
        linktype = rng.choice((ETH, RAW, IPV4, SLL, SLL2, 0, 147))
        head = rng.choice((b"", b"\x45", b"\x45\x00", bytes(eth(b""))[:12] + b"\x08\x00\x45"))
        check(head + bytes(rng.randrange(256) for _ in range(rng.randint(0, 90))), linktype, rng.choice((None, 0, 2000)))


# -- what the fast path covers


def bench_like_frames(count: int = 400) -> list[bytes]:
    """bench/bench_check.py's capture: a handshake, then data segments and their ACKs."""
    out = Ether(src=A, dst=R) / ip(src=CLIENT, dst=SERVER)
    back = Ether(src=R, dst=A) / ip(src=SERVER, dst=CLIENT, ttl=63)
    frames = [out / TCP(sport=40000, dport=80, flags="S", seq=1000),
              back / TCP(sport=80, dport=40000, flags="SA", seq=5000, ack=1001),
              out / TCP(sport=40000, dport=80, flags="A", seq=1001, ack=5001)]
    seq = 1001
    for i in range(count - 3):
        if i % 2 == 0:
            frames.append(out / TCP(sport=40000, dport=80, flags="PA", seq=seq, ack=5001) / (b"x" * 64))
            seq += 64
        else:
            frames.append(back / TCP(sport=80, dport=40000, flags="A", seq=5001, ack=seq))
    return [bytes(f) for f in frames]


def lab_frames() -> list[tuple[bytes, int]]:
    """What the labs' traffic is made of, on each link type a capture may hold."""
    networks = [
        ip() / TCP(sport=40000, dport=80, flags="S", options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
                                                                ("NOP", None), ("WScale", 7)]),
        ip(src=SERVER, dst=CLIENT, flags="DF") / TCP(sport=80, dport=40000, flags="SA", options=[("MSS", 1460)]),
        ip(flags="DF") / TCP(sport=40000, dport=80, flags="FA"),
        ip(flags="DF") / TCP(sport=40000, dport=80, flags="R"),
        ip() / UDP(sport=33000, dport=53) / dns_query(),
        ip(src=SERVER, dst=CLIENT) / UDP(sport=53, dport=33000) / dns_response(),
        ip() / TCP(sport=33000, dport=53, flags="PA") / (struct.pack("!H", len(dns_query())) + dns_query()),
        ip() / ICMP(type=8) / (b"p" * 56),
        ip(src=SERVER, dst=CLIENT) / ICMP(type=0) / (b"p" * 56),
        ip(src="10.0.1.1", dst=CLIENT) / ICMP(type=11) / bytes(ip(ttl=1) / UDP(sport=33434, dport=33435) / (b"\0" * 32)),
        ip(src=SERVER, dst=CLIENT) / ICMP(type=3, code=3) / bytes(ip(src=CLIENT, dst=SERVER) / UDP(sport=33000, dport=9) / b"x"),
        ip(src="10.0.1.1", dst=CLIENT) / ICMP(type=3, code=1) / bytes(ip(dst="10.0.9.9") / TCP(sport=40000, dport=80, flags="S")),
    ]
    arp = [ARP(op=1, hwsrc=A, psrc=CLIENT, hwdst="00:00:00:00:00:00", pdst="10.0.1.1"),
           ARP(op=2, hwsrc=R, psrc="10.0.1.1", hwdst=A, pdst=CLIENT)]
    out = [(bytes(Ether(src=A, dst=R) / n), ETH) for n in networks + arp]
    out += [(bytes(Ether(src=A, dst=R) / Dot1Q(vlan=10) / n), ETH) for n in networks + arp]
    out += [(bytes(n), RAW) for n in networks] + [(sll(bytes(n)), SLL) for n in networks] + [(sll2(bytes(n)), SLL2) for n in networks]
    out += [(sll(bytes(n), 0x0806), SLL) for n in arp] + [(sll2(bytes(n), 0x0806), SLL2) for n in arp]
    out += [(bytes(Ether(src=A, dst=R) / ip() / TCP(sport=40000, dport=80, flags="S")) + b"\0" * 6, ETH)]  # padded to 60
    return out


def test_the_fast_path_reads_every_bench_frame():
    frames = bench_like_frames()
    assert sum(check(f) for f in frames) == len(frames)


def test_the_fast_path_reads_the_frames_labs_are_made_of():
    for data, linktype in lab_frames():
        assert check(data, linktype), (linktype, data.hex())


def test_the_fast_path_reads_segments_a_snap_length_cut_after_their_headers():
    for upper in (TCP(sport=40000, dport=80, flags="PA", options=[("NOP", None), ("NOP", None), ("Timestamp", (1, 2))]),
                  UDP(sport=5000, dport=5001), ICMP(type=8)):
        frame = bytes(Ether(src=A, dst=R) / ip(flags="DF") / upper / (b"d" * 1400))
        for snaplen in (68, 96, 128, 1000):
            assert check(frame[:snaplen], ETH, len(frame))


def test_decode_all_is_unchanged():
    frames = [RawFrame(i, "lan1", None, data, linktype, None) for i, (data, linktype) in enumerate(lab_frames())]
    decoded = decode_all(frames)
    for frame, d in zip(frames, decoded):
        assert same({k: dict(v) for k, v in d.layers.items()}, scapy_layers(frame.data, frame.linktype))


# -- scapy's bindings


class Probe(Packet):
    name = "probe"
    fields_desc = [ShortField("value", 0)]


@pytest.mark.parametrize("lower, field, port", [(UDP, "dport", 9999), (TCP, "sport", 8080), (UDP, "sport", 53)])
def test_a_port_scapy_binds_to_a_layer_is_left_to_scapy(lower, field, port):
    other = "sport" if field == "dport" else "dport"
    upper = lower(**{field: port, other: 1234})
    frame = bytes(Ether(src=A, dst=R) / ip() / upper / b"payload!")
    assert check(frame)
    bind_layers(lower, Probe, **{field: port})
    try:
        assert not check(frame)
        assert check(bytes(Ether(src=A, dst=R) / ip() / lower(sport=1, dport=2) / b"payload!"))
    finally:
        split_layers(lower, Probe, **{field: port})
    assert check(frame)


def test_a_protocol_or_ethertype_scapy_binds_is_left_to_scapy():
    frame = bytes(Ether(src=A, dst=R) / ip(proto=253) / b"experimental")
    assert check(frame)
    bind_layers(IP, Probe, proto=253)
    try:
        assert not check(frame)
    finally:
        split_layers(IP, Probe, proto=253)
    tagged = bytes(Ether(src=A, dst=R) / Dot1Q(vlan=3) / ip() / UDP(sport=1, dport=2))
    assert check(tagged)
    bind_layers(Dot1Q, Probe, vlan=3)  # a binding on a field the fast path does not read
    try:
        assert not check(tagged)
    finally:
        split_layers(Dot1Q, Probe, vlan=3)
    assert check(tagged)


def test_quoted_transports_scapy_binds_are_left_to_scapy():
    error = bytes(Ether(src=R, dst=A) / ip(src="10.0.1.1", dst=CLIENT) / ICMP(type=3, code=3)
                  / bytes(ip(dst="10.0.9.9") / UDP(sport=1, dport=7777) / b"quoted payload"))
    assert check(error)
    bind_layers(UDPerror, Probe, dport=7777)
    try:
        assert not check(error)
    finally:
        split_layers(UDPerror, Probe, dport=7777)
    assert check(error)
