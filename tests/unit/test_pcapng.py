from decimal import Decimal
from pathlib import Path

from scapy.utils import PcapNgReader

from protolab.capture import CaptureResult, RawFrame, read_pcapng, write_pcapng

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
