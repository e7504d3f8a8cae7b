import os
import struct
from decimal import Decimal
from pathlib import Path

import pytest
from scapy.utils import PcapNgReader

from protolab.capture import CaptureResult, RawFrame, read_pcapng, write_pcapng
from protolab.capture.pcapng import MAX_BLOCK_BYTES, MAX_FILE_BYTES

BROADCAST = b"\xff" * 6


def frame(src: int, payload: bytes) -> bytes:
    return BROADCAST + bytes([2, 0, 0, 0, 0, src]) + b"\x88\xb5" + payload


FRAMES = (
    RawFrame(time_ns=1_700_000_000_000_000_001, link="lan1", sender="a", data=frame(1, b"x")),
    RawFrame(time_ns=1_700_000_000_000_000_999, link="lan2", sender="r1", data=frame(2, b"y" * 81)),
    RawFrame(time_ns=1_700_000_001_123_456_789, link="lan1", sender="b", data=frame(3, b"")),
    RawFrame(time_ns=(5 << 32) + 7, link="lan2", sender="r1", data=frame(4, b"abc")),
)
RESULT = CaptureResult(frames=FRAMES, links=("lan1", "lan2"), kernel_packets=4, kernel_drops=0)


def test_round_trip_with_own_reader(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "cap.pcapng", RESULT)
    assert path.stat().st_size % 4 == 0
    assert read_pcapng(path) == [
        (f.link, f.time_ns, f"sent by {f.sender}", f.data) for f in FRAMES
    ]


def test_scapy_reads_it(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "cap.pcapng", RESULT)
    with PcapNgReader(str(path)) as reader:
        packets = list(reader)
    assert len(packets) == len(FRAMES)
    for pkt, f in zip(packets, FRAMES):
        assert bytes(pkt) == f.data
        assert pkt.sniffed_on == f.link
        assert pkt.comments == [f"sent by {f.sender}".encode()]
        assert Decimal(pkt.time) * 10**9 == f.time_ns


def test_empty_capture(tmp_path: Path) -> None:
    empty = CaptureResult(frames=(), links=(), kernel_packets=0, kernel_drops=0)
    path = write_pcapng(tmp_path / "empty.pcapng", empty)
    assert read_pcapng(path) == []
    with PcapNgReader(str(path)) as reader:
        assert list(reader) == []


def test_frames_keep_their_link_when_another_link_is_empty(tmp_path: Path) -> None:
    one = CaptureResult(frames=FRAMES[1:2], links=("lan1", "lan2"), kernel_packets=1,
                        kernel_drops=0)
    path = write_pcapng(tmp_path / "one.pcapng", one)
    assert [link for link, *_ in read_pcapng(path)] == ["lan2"]


# -- reading what a user names: bounded, one clear reason when it is not a capture


def refusal(path) -> str:
    with pytest.raises(ValueError) as caught:
        read_pcapng(path)
    return str(caught.value)


def test_a_directory_a_fifo_and_a_device_are_refused_before_anything_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # open() for reading would block until a writer came
    assert refusal(tmp_path) == "is a directory, not a file"
    assert refusal(fifo) == "is a FIFO, not a file"
    assert refusal("/dev/zero") == "is a character device, not a file"


def test_a_file_above_the_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.pcapng"
    with open(path, "wb") as f:  # sparse: 10 GB that take no room
        f.write(write_pcapng(tmp_path / "x.pcapng", RESULT).read_bytes())
        f.truncate(10 * 10**9)
    assert refusal(path) == "is 9.3 GiB: captures above 256 MiB are refused"
    assert MAX_FILE_BYTES == 256 << 20


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\xd4\xc3\xb2\xa1" + b"\0" * 20, "pcap version 0.0: only version 2 is read"),
        (b"# protolab\n", "not a capture: it starts with 0x23207072, neither pcap nor pcapng"),
        (struct.pack("<II", 0x0A0D0D0A, 28) + b"\0" * 20, "section header block at offset 0 has no byte-order magic"),
    ],
)
def test_the_magic_number_is_checked_first(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    assert refusal(path).startswith(reason)


def test_a_block_claiming_a_huge_length_is_refused_without_being_read(tmp_path: Path) -> None:
    good = write_pcapng(tmp_path / "x.pcapng", RESULT).read_bytes()
    shb_len = struct.unpack_from("<I", good, 4)[0]
    for claimed in (MAX_BLOCK_BYTES + 4, 0xFFFFFFFC):
        bad = good[:shb_len] + struct.pack("<II", 6, claimed) + b"\0" * 64
        (tmp_path / "bad").write_bytes(bad)
        assert refusal(tmp_path / "bad") == f"corrupt block length at offset {shb_len}: {claimed}"


def test_a_packet_on_an_undescribed_interface_is_refused(tmp_path: Path) -> None:
    one = CaptureResult(frames=FRAMES[:1], links=("lan1",), kernel_packets=1, kernel_drops=0)
    data = bytearray(write_pcapng(tmp_path / "x.pcapng", one).read_bytes())
    epb = data.rindex(struct.pack("<I", 6))
    data[epb + 8 : epb + 12] = struct.pack("<I", 7)  # interface 7 of 1
    (tmp_path / "bad").write_bytes(bytes(data))
    assert "names interface 7, which is not described" in refusal(tmp_path / "bad")
