"""The capture reader on files Wireshark's tools wrote, on vectors built here, and on damage.

tshark and capinfos are the independent oracles: what they see in a file is
what the reader must see.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import struct
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from protolab.capture import CaptureError, CaptureResult, RawFrame, StoredFrame, open_capture, write_pcapng
from protolab.capture import reader
from protolab.capture.pcapng import DROPS_COMMENT, read_pcapng
from protolab.capture.reader import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    CaptureInfo,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "captures"
T0 = 1_700_000_000 * 10**9
LE, BE = "<", ">"


def read(path: Path) -> tuple[CaptureInfo, list[StoredFrame]]:
    with open_capture(path) as r:
        frames = list(r)
    return r.info, frames


def refusal(path: Path) -> str:
    with pytest.raises(CaptureError) as caught:
        read(path)
    return str(caught.value)


def write(tmp_path: Path, content: bytes, name: str = "f") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


# -- byte vectors: classic pcap


def pcap(records: list[tuple[int, int, bytes, int]], bo: str = LE, ns: bool = False, linktype: int = 1,
         snaplen: int = 65535) -> bytes:
    """A pcap file; records are (seconds, µs or ns, data, wire_len)."""
    head = struct.pack(bo + "IHHiIII", 0xA1B23C4D if ns else 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)
    return head + b"".join(struct.pack(bo + "IIII", s, f, len(d), w) + d for s, f, d, w in records)


# -- byte vectors: pcapng


def pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def opt(bo: str, code: int, value: bytes | str) -> bytes:
    value = value.encode() if isinstance(value, str) else value
    return struct.pack(bo + "HH", code, len(value)) + pad(value)


def block(bo: str, kind: int, body: bytes, *options: bytes) -> bytes:
    body = pad(body) + (b"".join(options) + struct.pack(bo + "HH", 0, 0) if options else b"")
    return struct.pack(bo + "II", kind, len(body) + 12) + body + struct.pack(bo + "I", len(body) + 12)


def shb(bo: str, *options: bytes) -> bytes:
    return block(bo, 0x0A0D0D0A, struct.pack(bo + "IHHq", 0x1A2B3C4D, 1, 0, -1), *options)


def idb(bo: str, linktype: int, snaplen: int = 0, *options: bytes) -> bytes:
    return block(bo, 1, struct.pack(bo + "HHI", linktype, 0, snaplen), *options)


def epb(bo: str, if_id: int, ticks: int, data: bytes, wire_len: int | None = None, *options: bytes) -> bytes:
    head = struct.pack(bo + "IIIII", if_id, ticks >> 32, ticks & 0xFFFFFFFF, len(data), wire_len or len(data))
    return block(bo, 6, head + pad(data), *options)


def pb(bo: str, if_id: int, ticks: int, data: bytes, *options: bytes) -> bytes:
    head = struct.pack(bo + "HHIIII", if_id, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
    return block(bo, 2, head + pad(data), *options)


def spb(bo: str, wire_len: int, data: bytes) -> bytes:
    return block(bo, 3, struct.pack(bo + "I", wire_len) + data)


def isb(bo: str, if_id: int, drops: int | None) -> bytes:
    options = [opt(bo, 4, struct.pack(bo + "Q", 10))]  # isb_ifrecv
    if drops is not None:
        options.append(opt(bo, 5, struct.pack(bo + "Q", drops)))
    return block(bo, 5, struct.pack(bo + "III", if_id, 0, 0), *options)


ETH = bytes.fromhex("ffffffffffff 020000000001 88b5") + b"protolab"
IP4 = bytes.fromhex("45000014000000004000 0000 0a000001 0a000002".replace(" ", ""))


# -- the independent oracles


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: these tests need Wireshark's command-line tools (tshark, capinfos)")
    return path


def tshark(path: Path, *fields: str, file_format: bool = False) -> list[dict[str, list[str]]]:
    """Per frame (or, with `file_format`, for the whole pcapng file dissected block by block): field -> values."""
    args = [tool("tshark"), "-n", "-r", str(path), "-T", "json", *(a for f in fields for a in ("-e", f))]
    if file_format:
        args[1:1] = ["-X", "read_format:MIME Files Format"]
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout
    return [packet["_source"]["layers"] for packet in json.loads(out)]


def epoch_ns(text: str) -> int:
    return int(Decimal(text) * 10**9)


# -- files Wireshark's tools wrote (tests/vectors/captures/README.md)


@pytest.mark.parametrize("name", sorted(p.name for p in VECTORS.glob("*.pcap*")))
def test_every_vector_reads_as_tshark_reads_it(name: str) -> None:
    _, frames = read(VECTORS / name)
    seen = tshark(VECTORS / name, "frame.number", "frame.interface_id", "frame.time_epoch", "frame.len",
                  "frame.cap_len")
    assert len(frames) == len(seen) > 0
    for f, t in zip(frames, seen):
        assert f.number == int(t["frame.number"][0])
        assert f.interface.index == int(t.get("frame.interface_id", ["0"])[0])
        assert f.time_ns == epoch_ns(t["frame.time_epoch"][0])
        assert (len(f.data), f.wire_len) == (int(t["frame.cap_len"][0]), int(t["frame.len"][0]))


def test_classic_pcap_microseconds_and_nanoseconds() -> None:
    info, us = read(VECTORS / "eth.pcap")
    assert (info.format, info.compressed, info.comments, info.application) == ("pcap", False, (), None)
    assert info.drops is None
    assert info.interfaces == [reader.Interface(0, "capture", LINKTYPE_ETHERNET, 262144)]
    assert [f.time_ns - T0 for f in us] == [123_456_000, 1_123_457_000, 2_123_458_000]
    _, ns = read(VECTORS / "eth-ns.pcap")
    assert [f.time_ns - T0 for f in ns] == [123_456_789, 1_123_457_789, 2_123_458_789]
    assert [f.data for f in us] == [f.data for f in ns]
    assert [f.number for f in ns] == [1, 2, 3] and not any(f.cut or f.comment for f in ns)


def test_pcapng_from_text2pcap_and_editcap() -> None:
    info, frames = read(VECTORS / "eth.pcapng")
    assert info.format == "pcapng" and info.comments == ("first comment", "second comment")
    assert info.application.startswith("Text2pcap (Wireshark)")
    assert [i.name for i in info.interfaces] == ["eth0"]
    assert [f.data for f in frames] == [f.data for f in read(VECTORS / "eth-ns.pcap")[1]]


def test_snaplen_cut_records_keep_their_wire_length() -> None:
    _, whole = read(VECTORS / "eth.pcap")
    _, cut = read(VECTORS / "eth-cut.pcap")
    assert [(f.cut, len(f.data), f.wire_len) for f in cut] == [(False, 42, 42), (True, 64, 202), (False, 62, 62)]
    assert cut[1].data == whole[1].data[:64]


@pytest.mark.parametrize(("name", "linktype", "first_byte"), [
    ("raw.pcap", LINKTYPE_RAW, 0x45), ("ipv4.pcap", LINKTYPE_IPV4, 0x45),
    ("sll.pcap", LINKTYPE_LINUX_SLL, 0x00), ("sll2.pcap", LINKTYPE_LINUX_SLL2, 0x08),
])
def test_raw_ip_and_linux_cooked_link_types(name: str, linktype: int, first_byte: int) -> None:
    info, frames = read(VECTORS / name)
    assert [i.linktype for i in info.interfaces] == [linktype]
    assert frames[0].data[0] == first_byte and frames[0].data.endswith(b"raw ipv4")


@pytest.mark.parametrize(("name", "linktypes"), [
    ("eth+raw.pcapng", [LINKTYPE_ETHERNET, LINKTYPE_RAW]),
    ("eth+sll2.pcapng", [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2]),
])
def test_one_pcapng_with_two_link_types(name: str, linktypes: list[int]) -> None:
    info, frames = read(VECTORS / name)
    assert [i.linktype for i in info.interfaces] == linktypes
    assert [f.interface.linktype for f in frames][-1] == linktypes[1]
    assert info.interfaces[1].name == "interface 1"  # mergecap gives it no if_name


@pytest.mark.parametrize("name", ["eth.pcap", "eth+sll2.pcapng"])
def test_gzip_compressed_files_read_as_the_plain_ones(name: str) -> None:
    plain_info, plain = read(VECTORS / name)
    info, frames = read(VECTORS / f"{name}.gz")
    assert info.compressed and not plain_info.compressed
    assert frames == plain and info.interfaces == plain_info.interfaces and info.comments == plain_info.comments


# -- vectors built here


@pytest.mark.parametrize("bo", [LE, BE])
@pytest.mark.parametrize("ns", [False, True])
def test_classic_pcap_in_either_byte_order(tmp_path: Path, bo: str, ns: bool) -> None:
    path = write(tmp_path, pcap([(1_700_000_000, 999, ETH, len(ETH)), (1_700_000_001, 5, ETH[:20], 1500)], bo, ns))
    info, frames = read(path)
    unit = 1 if ns else 1000
    assert [f.time_ns - T0 for f in frames] == [999 * unit, 10**9 + 5 * unit]
    assert [(f.data, f.wire_len, f.cut) for f in frames] == [(ETH, len(ETH), False), (ETH[:20], 1500, True)]
    assert info.interfaces[0].snaplen == 65535


@pytest.mark.parametrize(("field", "linktype"), [(0x14000001, LINKTYPE_ETHERNET), (12, LINKTYPE_RAW),
                                                 (14, LINKTYPE_RAW), (0x10000071, LINKTYPE_LINUX_SLL)])
def test_pcap_link_type_fcs_bits_masked_and_dlt_raw_normalised(tmp_path: Path, field: int, linktype: int) -> None:
    info, _ = read(write(tmp_path, pcap([], linktype=field)))
    assert info.interfaces[0].linktype == linktype


def two_sections() -> bytes:
    """A little-endian section with one interface, then a big-endian one with two (and blocks to skip)."""
    return b"".join([
        shb(LE, opt(LE, 1, "one"), opt(LE, 4, "builder 1"), opt(LE, 1, "two")),
        idb(LE, 1, 0, opt(LE, 2, "lan1"), opt(LE, 9, b"\x09")),
        epb(LE, 0, T0 + 1, ETH, None, opt(LE, 1, "first"), opt(LE, 1, "ignored")),
        block(LE, 4, b"\0" * 4),  # name resolution block
        shb(BE, opt(BE, 1, "three"), opt(BE, 4, "builder 2")),
        idb(BE, 101, 0, opt(BE, 3, "a description")),
        block(BE, 0x0000000A, struct.pack(">II", 0x544C534B, 7) + b"secrets"),  # decryption secrets
        idb(BE, 276, 0, opt(BE, 9, b"\x83"), opt(BE, 14, struct.pack(">q", 100))),  # 1/8 s ticks, +100 s
        pb(BE, 0, 1_700_000_000_000_123, IP4, opt(BE, 1, "old packet block")),
        epb(BE, 1, 8 * 1_700_000_000 + 3, ETH[:8], 1400),
    ])


def test_several_sections_byte_orders_interfaces_and_resolutions(tmp_path: Path) -> None:
    info, frames = read(write(tmp_path, two_sections()))
    assert info.comments == ("one", "two", "three") and info.application == "builder 1"
    assert [(i.index, i.name, i.linktype) for i in info.interfaces] == [
        (0, "lan1", 1), (1, "a description", 101), (2, "interface 2", 276)]
    assert [(f.number, f.interface.index, f.comment) for f in frames] == [
        (1, 0, "first"), (2, 1, "old packet block"), (3, 2, None)]
    assert [f.time_ns for f in frames] == [T0 + 1, T0 + 123_000, T0 + 100 * 10**9 + 375_000_000]
    assert frames[2].cut and frames[2].wire_len == 1400


def test_tshark_agrees_on_the_vectors_built_here(tmp_path: Path) -> None:
    """Interfaces aside: tshark 4.0 takes a later section's interface ids for the file's first ones."""
    path = write(tmp_path, two_sections())
    seen = tshark(path, "frame.protocols", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.comment")
    _, frames = read(path)
    assert [(f.time_ns, f.wire_len, len(f.data), f.comment) for f in frames] == [
        (epoch_ns(t["frame.time_epoch"][0]), int(t["frame.len"][0]), int(t["frame.cap_len"][0]),
         t.get("frame.comment", [None])[0]) for t in seen]
    assert [t["frame.protocols"][0].split(":")[0] for t in seen] == ["eth", "raw", "sll"]


def test_unknown_blocks_are_skipped(tmp_path: Path) -> None:
    custom = block(LE, 0x40000BAD, struct.pack("<I", 32473) + b"custom")
    unknown = block(LE, 0x12345678, b"?" * 9)
    data = shb(LE) + custom + idb(LE, 1) + unknown + block(LE, 4, b"\0" * 4) + epb(LE, 0, 0, ETH) + unknown
    assert [f.data for f in read(write(tmp_path, data))[1]] == [ETH]


def test_simple_packet_blocks_have_no_time_and_interface_0(tmp_path: Path) -> None:
    data = shb(BE) + idb(BE, 1, 16) + spb(BE, len(ETH), ETH) + spb(BE, 10, ETH[:10])
    _, frames = read(write(tmp_path, data))
    assert [(f.interface.index, f.time_ns, f.data, f.wire_len, f.cut) for f in frames] == [
        (0, 0, ETH[:16], len(ETH), True), (0, 0, ETH[:10], 10, False)]


def test_drops_are_the_sum_of_each_interfaces_last_statistics(tmp_path: Path) -> None:
    data = shb(LE) + idb(LE, 1) + idb(LE, 1) + idb(LE, 1) + epb(LE, 0, 0, ETH)
    data += isb(LE, 0, 5) + isb(LE, 1, 3) + isb(LE, 0, 9) + isb(LE, 2, None)
    with open_capture(write(tmp_path, data)) as r:
        assert r.info.drops is None  # the statistics follow the frames
        assert len(list(r)) == 1
        assert r.info.drops == 9 + 3
    assert read(write(tmp_path, shb(LE) + idb(LE, 1) + isb(LE, 0, None)))[0].drops is None


def test_interfaces_described_before_the_first_frame_are_known_at_opening(tmp_path: Path) -> None:
    with open_capture(VECTORS / "eth+sll2.pcapng") as r:
        assert [i.linktype for i in r.info.interfaces] == [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2]


# -- what is not a capture, or a damaged one: one line, never another exception


NEITHER = "neither pcap nor pcapng"


def test_not_captures(tmp_path: Path) -> None:
    noise = random.Random(3).randbytes(4096)
    assert refusal(write(tmp_path, noise)) == f"not a capture: it starts with 0x{noise[:4].hex()}, {NEITHER}"
    assert refusal(write(tmp_path, b"\0" * (1 << 20))) == f"not a capture: it starts with 0x00000000, {NEITHER}"
    assert refusal(write(tmp_path, gzip.compress(b"\0" * (1 << 20)))) == refusal(tmp_path / "f")
    assert refusal(write(tmp_path, b"")) == "empty file"
    assert refusal(write(tmp_path, b"\xa1\xb2")) == "too short to be a capture (2 bytes)"
    assert refusal(write(tmp_path, gzip.compress(b""))) == "empty file (after decompression)"


def test_what_is_not_a_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    assert refusal(tmp_path / "fifo") == "is a FIFO, not a file"
    assert refusal(Path("/dev/zero")) == "is a character device, not a file"


def test_a_file_truncated_in_its_last_record_is_refused(tmp_path: Path) -> None:
    good = (VECTORS / "eth.pcap").read_bytes()
    assert refusal(write(tmp_path, good[:-10])) == "truncated record at offset 300: the file ends 68 bytes into it"
    assert refusal(write(tmp_path, good[:304])) == "truncated record at offset 300: the file ends 4 bytes into it"
    assert refusal(write(tmp_path, good[:20])) == (
        "truncated pcap file header at offset 0: the file ends 20 bytes into it")
    ng = (VECTORS / "eth.pcapng").read_bytes()
    assert refusal(write(tmp_path, ng[:-1])).startswith("truncated block at offset ")
    assert refusal(write(tmp_path, gzip.compress(good[:-10]))) == refusal(write(tmp_path, good[:-10]))


CORRUPT = "corrupt block length at offset"


def test_corrupt_block_lengths(tmp_path: Path) -> None:
    head = shb(LE) + idb(LE, 1)
    at = len(head)
    assert refusal(write(tmp_path, head + struct.pack("<II", 6, 30) + b"\0" * 40)) == f"{CORRUPT} {at}: 30"
    assert refusal(write(tmp_path, head + struct.pack("<II", 6, 8))) == f"{CORRUPT} {at}: 8"
    bad_trailer = epb(LE, 0, 0, ETH)[:-4] + struct.pack("<I", 4)
    assert refusal(write(tmp_path, head + bad_trailer)) == f"{CORRUPT} {at}: 56 at its start, 4 at its end"


def test_a_packet_on_an_interface_not_described(tmp_path: Path) -> None:
    two = shb(LE) + idb(LE, 1) + idb(LE, 1)
    assert refusal(write(tmp_path, two + epb(LE, 2, 0, ETH))) == (
        f"enhanced packet block at offset {len(two)} names interface 2, which is not described"
        " (its section describes 2)")
    no_interface = write(tmp_path, shb(LE) + spb(LE, 4, b"abcd"))
    assert "simple packet block at offset 28 names interface 0" in refusal(no_interface)
    assert "names interface 0" in refusal(write(tmp_path, two + shb(LE) + epb(LE, 0, 0, ETH)))  # a new section


def test_impossible_captured_lengths(tmp_path: Path) -> None:
    huge = pcap([]) + struct.pack("<IIII", 0, 0, (256 << 10) + 1, 0)
    assert refusal(write(tmp_path, huge)) == "corrupt record at offset 24: 262145 captured bytes, snaplen 65535"
    above_snaplen = pcap([(0, 0, b"x" * 400, 400)], snaplen=96)
    assert refusal(write(tmp_path, above_snaplen)) == "corrupt record at offset 24: 400 captured bytes, snaplen 96"
    overflowing = shb(LE) + idb(LE, 1) + epb(LE, 0, 0, ETH)[:20] + struct.pack("<I", 999) + epb(LE, 0, 0, ETH)[24:]
    assert "999 captured bytes do not fit in the block" in refusal(write(tmp_path, overflowing))


def test_corrupt_gzip_streams(tmp_path: Path) -> None:
    packed = (VECTORS / "eth.pcap.gz").read_bytes()
    assert refusal(write(tmp_path, packed[:-20])).startswith("gzip stream corrupt after ")
    flipped = bytearray(packed)
    flipped[-6] ^= 0xFF  # the CRC
    crc = refusal(write(tmp_path, bytes(flipped)))
    assert crc.startswith("gzip stream corrupt after 378 bytes of data: CRC check failed")
    flipped = bytearray(packed)
    flipped[40] ^= 0xFF  # the deflate stream
    assert refusal(write(tmp_path, bytes(flipped))).startswith("gzip stream corrupt after ")


def test_read_and_frame_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (reader.MAX_READ_BYTES, reader.MAX_FRAMES) == (256 << 20, 5_000_000)
    monkeypatch.setattr(reader, "MAX_READ_BYTES", 1 << 20)
    bomb = gzip.compress(pcap([]) + b"\0" * (2 << 20))  # 2 MiB of empty records in 2 KiB
    assert refusal(write(tmp_path, bomb)) == "more than 1 MiB of capture data after decompression: refused"
    monkeypatch.setattr(reader, "MAX_FRAMES", 3)
    assert refusal(write(tmp_path, pcap([(0, 0, b"", 0)] * 4))) == "more than 3 frames: refused"


@pytest.mark.parametrize("name", ["eth.pcap", "eth+sll2.pcapng", "eth.pcap.gz"])
def test_damaged_vectors_fail_with_a_reason_never_another_exception(tmp_path: Path, name: str) -> None:
    good = (VECTORS / name).read_bytes()
    rng = random.Random(name)
    path, refused = tmp_path / "fuzz", 0
    for _ in range(600):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        path.write_bytes(bytes(data))
        try:
            read(path)
        except CaptureError:
            refused += 1
    assert refused > 100


# -- the writer: self-describing pcapng, read back here and by tshark


FRAMES = (
    RawFrame(time_ns=T0 + 1, link="lan1", sender="a", data=ETH),
    RawFrame(time_ns=T0 + 500_000_000, link="lan2", sender="r1", data=ETH + b"2"),
    RawFrame(time_ns=T0 + 10**9 + 7, link="lan1", sender="b", data=ETH + b"33"),
)
RESULT = CaptureResult(frames=FRAMES, links=("lan1", "lan2", "lan3"), kernel_packets=10, kernel_drops=7)
COMMENTS = ("protolab-claim: lab=arp", "second, with a comma")


def test_the_writers_file_describes_itself(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "w.pcapng", RESULT, COMMENTS, application="protolab test")
    info, frames = read(path)
    assert (info.comments, info.application, info.drops) == (COMMENTS, "protolab test", 7)
    assert [i.name for i in info.interfaces] == ["lan1", "lan2", "lan3"]
    assert [(f.interface.name, f.time_ns, f.comment, f.data) for f in frames] == [
        (f.link, f.time_ns, f"sent by {f.sender}", f.data) for f in FRAMES]
    assert read_pcapng(path) == [(f.link, f.time_ns, f"sent by {f.sender}", f.data) for f in FRAMES]


def test_the_writers_default_application_and_empty_comments(tmp_path: Path) -> None:
    info, _ = read(write_pcapng(tmp_path / "a.pcapng", RESULT))
    assert info.application == "protolab 0.1.0" and info.comments == ()
    assert read(write_pcapng(tmp_path / "b.pcapng", RESULT, ["", "claim"]))[0].comments == ("claim",)


def test_tshark_sees_the_writers_frames_and_comments(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "w.pcapng", RESULT, COMMENTS)
    seen = tshark(path, "frame.number", "frame.comment", "frame.interface_name", "frame.time_epoch")
    assert [(t["frame.number"], t["frame.comment"], t["frame.interface_name"]) for t in seen] == [
        ([str(n)], [f"sent by {f.sender}"], [f.link]) for n, f in enumerate(FRAMES, 1)]
    assert [epoch_ns(t["frame.time_epoch"][0]) for t in seen] == [f.time_ns for f in FRAMES]


def test_tshark_sees_the_writers_section_and_statistics(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "w.pcapng", RESULT, COMMENTS)
    [blocks] = tshark(path, "pcapng.block.type", "pcapng.interface_id", "pcapng.options.option.data.comment",
                      "pcapng.options.option.data.user_application", "pcapng.options.option.data.interface.received",
                      "pcapng.options.option.data.interface.dropped", file_format=True)
    assert blocks["pcapng.block.type"][-3:] == ["0x00000005"] * 3
    assert blocks["pcapng.interface_id"] == ["0", "1", "0", "0", "1", "2"]  # the frames', then the statistics'
    assert blocks["pcapng.options.option.data.interface.received"] == ["2", "1", "0"]
    assert blocks["pcapng.options.option.data.interface.dropped"] == ["7", "0", "0"]
    assert blocks["pcapng.options.option.data.user_application"] == ["protolab 0.1.0"]
    assert blocks["pcapng.options.option.data.comment"] == [*COMMENTS, "sent by a", "sent by r1", "sent by b",
                                                            DROPS_COMMENT]


def test_capinfos_sees_the_writers_section(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "w.pcapng", RESULT, COMMENTS)
    out = subprocess.run([tool("capinfos"), "-M", "-c", "-k", "-F", "-I", str(path)], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    lines = [line.split(":", 1) for line in out.splitlines() if ":" in line]
    values = [(key.strip(), value.strip()) for key, value in lines]
    assert ("Number of packets", "3") in values and ("Capture application", "protolab 0.1.0") in values
    assert [v for k, v in values if k == "Capture comment"] == list(COMMENTS)
    assert ("Number of interfaces in file", "3") in values


def test_a_frame_from_an_unknown_sender_has_no_comment(tmp_path: Path) -> None:
    unknown = CaptureResult((RawFrame(T0, "lan1", None, ETH),), ("lan1",), 1, 0)
    assert [f.comment for f in read(write_pcapng(tmp_path / "u.pcapng", unknown))[1]] == [None]
