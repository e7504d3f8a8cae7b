"""Read capture files as Wireshark, tcpdump and dumpcap write them.

Classic pcap (either byte order, µs or ns timestamps) and pcapng (any number
of sections and interfaces, either byte order), each plain or gzip-compressed:
the format is told by the magic number, never by the file name.

Streaming and bounded: FIFOs, devices and directories are refused before a
byte is read (see protolab.files); one block or record is in memory at a time,
its length checked before it is read; at most MAX_READ_BYTES are read (after
decompression) and MAX_FRAMES frames returned. Whatever is wrong with a file
is a CaptureError of one line; offsets are in the (decompressed) byte stream.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from protolab.capture.frames import (  # the link types a reader's frames carry
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
)
from protolab.files import FileRefused, open_regular, size_text

__all__ = [
    "LINKTYPE_ETHERNET", "LINKTYPE_IPV4", "LINKTYPE_LINUX_SLL", "LINKTYPE_LINUX_SLL2", "LINKTYPE_RAW",
    "CaptureError", "CaptureInfo", "CaptureReader", "Interface", "StoredFrame", "open_capture",
]

RAW_IP_DLTS = (12, 14)  # DLT_RAW as some platforms write it into files
LINKTYPE_MASK = 0x03FFFFFF  # pcap's upper bits carry FCS flags

MAX_FILE_BYTES = 256 << 20  # on disk
MAX_READ_BYTES = 256 << 20  # after decompression
MAX_BLOCK_BYTES = 4 << 20  # a block holds one frame and its options
MAX_RECORD_BYTES = 256 << 10  # the largest frame any link type stores (Wireshark's limit)
SNAPLEN_SLACK = 256  # a record may exceed its snaplen by a link header or FCS, not more
MAX_FRAMES = 5_000_000

SHB, IDB, PB, SPB, ISB, EPB = 0x0A0D0D0A, 1, 2, 3, 5, 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_ENDOFOPT, OPT_COMMENT = 0, 1
SHB_USERAPPL = 4
IF_NAME, IF_DESCRIPTION, IF_TSRESOL, IF_TSOFFSET = 2, 3, 9, 14
ISB_IFRECV, ISB_IFDROP = 4, 5

GZIP_MAGIC = b"\x1f\x8b"
SHB_MAGIC = struct.pack("<I", SHB)  # the same in both byte orders
PCAP_MAGICS = {  # first four bytes -> (byte order, timestamp ticks per second)
    b"\xd4\xc3\xb2\xa1": ("<", 10**6),
    b"\xa1\xb2\xc3\xd4": (">", 10**6),
    b"\x4d\x3c\xb2\xa1": ("<", 10**9),
    b"\xa1\xb2\x3c\x4d": (">", 10**9),
}
BLOCK_NAMES = {
    SHB: "section header block",
    IDB: "interface description block",
    PB: "packet block",
    SPB: "simple packet block",
    ISB: "interface statistics block",
    EPB: "enhanced packet block",
}
MIN_BODY = {SHB: 16, IDB: 8, PB: 20, SPB: 4, ISB: 12, EPB: 20}  # bytes between length and trailer


class CaptureError(ValueError):
    """One line: why the file cannot be read (with the byte offset where it matters)."""


@dataclass(frozen=True)
class Interface:
    index: int  # 0-based over the whole file (later pcapng sections continue the count)
    name: str  # if_name, else if_description, else "interface <index>"; classic pcap: "capture"
    linktype: int
    snaplen: int


@dataclass(frozen=True)
class StoredFrame:
    number: int  # 1-based, in file order (Wireshark's frame.number)
    interface: Interface
    time_ns: int  # since the epoch
    data: bytes  # the captured bytes
    wire_len: int  # the frame's length on the wire
    comment: str | None  # the packet block's first opt_comment

    @property
    def cut(self) -> bool:
        return len(self.data) < self.wire_len


@dataclass
class CaptureInfo:
    """What the file says about itself; filled in as it is read (see CaptureReader)."""

    format: str  # "pcap" or "pcapng"
    compressed: bool  # gzip
    comments: tuple[str, ...]  # every opt_comment of every section header block, in order
    application: str | None  # shb_userappl of the first section
    interfaces: list[Interface]
    drops: int | None  # sum of each interface's last isb_ifdrop; None if no ISB had one


class _Stream:
    """The file's bytes, decompressed if gzip, counted against MAX_READ_BYTES."""

    def __init__(self, f: BinaryIO, compressed: bool) -> None:
        self._f: BinaryIO = gzip.GzipFile(fileobj=f, mode="rb") if compressed else f
        self.compressed = compressed
        self.offset = 0

    def read(self, n: int) -> bytes:
        """Up to `n` bytes (fewer only at the end of the file)."""
        try:
            data = self._f.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            if not self.compressed:
                raise
            raise CaptureError(f"gzip stream corrupt after {self.offset} bytes of data: {exc}") from None
        self.offset += len(data)
        if self.offset > MAX_READ_BYTES:
            after = " after decompression" if self.compressed else ""
            raise CaptureError(f"more than {size_text(MAX_READ_BYTES)} of capture data{after}: refused")
        return data

    def exact(self, n: int, what: str, start: int) -> bytes:
        """Exactly `n` bytes of the `what` that begins at offset `start`."""
        data = self.read(n)
        if len(data) < n:
            raise CaptureError(f"truncated {what} at offset {start}: the file ends {self.offset - start} bytes into it")
        return data

    def rewind(self) -> None:
        """Back to the first byte (a gzip stream is decompressed again from its start)."""
        self._f.seek(0)
        self.offset = 0

    def close(self) -> None:
        self._f.close()


_Packet = tuple[Interface, int, bytes, int, str | None]  # interface, time_ns, data, wire_len, comment


def _linktype(value: int) -> int:
    return LINKTYPE_RAW if value in RAW_IP_DLTS else value


def _check_caplen(caplen: int, snaplen: int, what: str, pos: int) -> None:
    if caplen > MAX_RECORD_BYTES or (snaplen and caplen > snaplen + SNAPLEN_SLACK):
        raise CaptureError(f"corrupt {what} at offset {pos}: {caplen} captured bytes, snaplen {snaplen}")


def _pcap_packets(s: _Stream, info: CaptureInfo) -> Iterator[_Packet]:
    header = s.exact(24, "pcap file header", 0)
    bo, per_second = PCAP_MAGICS[header[:4]]
    major, minor, _zone, _sigfigs, snaplen, network = struct.unpack_from(bo + "HHiIII", header, 4)
    if major != 2:
        raise CaptureError(f"pcap version {major}.{minor}: only version 2 is read")
    interface = Interface(0, "capture", _linktype(network & LINKTYPE_MASK), snaplen)
    info.interfaces.append(interface)
    while True:
        pos = s.offset
        head = s.read(16)
        if not head:
            return
        if len(head) < 16:
            raise CaptureError(f"truncated record at offset {pos}: the file ends {len(head)} bytes into it")
        seconds, fraction, caplen, wire_len = struct.unpack(bo + "IIII", head)
        _check_caplen(caplen, snaplen, "record", pos)
        data = s.exact(caplen, "record", pos)
        yield interface, seconds * 10**9 + fraction * (10**9 // per_second), data, wire_len, None


@dataclass(frozen=True)
class _Clock:
    """How an interface's timestamps read: ticks per second, seconds to add."""

    per_second: int
    offset_s: int

    def ns(self, high: int, low: int) -> int:
        return ((high << 32) | low) * 10**9 // self.per_second + self.offset_s * 10**9


def _decode(value: bytes) -> str:
    return value.decode(errors="replace").rstrip("\0")  # some writers end strings with NULs


def _text(opts: dict[int, list[bytes]], *codes: int) -> str | None:
    """The first non-empty text among the options `codes` (the first value of each)."""
    for code in codes:
        text = _decode(opts[code][0]) if code in opts else ""
        if text:
            return text
    return None


class _Pcapng:
    """pcapng, block by block: sections, interfaces, packets, statistics."""

    def __init__(self, s: _Stream, info: CaptureInfo) -> None:
        self.s, self.info = s, info
        self.bo = "<"
        self.sections = 0
        self.section: list[tuple[Interface, _Clock]] = []  # this section's interfaces
        self.drops: dict[int, int] = {}  # interface index -> its last isb_ifdrop

    def packets(self) -> Iterator[_Packet]:
        for block_type, body, pos in self._blocks():
            if len(body) < MIN_BODY.get(block_type, 0):
                raise CaptureError(f"{BLOCK_NAMES[block_type]} at offset {pos} is too short ({len(body) + 12} bytes)")
            if block_type == SHB:
                self._section(body, pos)
            elif block_type == IDB:
                self._interface(body, pos)
            elif block_type == ISB:
                self._statistics(body, pos)
            elif block_type in (EPB, PB, SPB):
                yield self._packet(block_type, body, pos)

    def _blocks(self) -> Iterator[tuple[int, bytes, int]]:
        """(type, body, offset) per block; the body lies between the length and its trailer."""
        while True:
            pos = self.s.offset
            head = self.s.read(8)
            if not head:
                return
            if len(head) < 8:
                raise CaptureError(f"truncated block at offset {pos}: the file ends {len(head)} bytes into it")
            magic = b""
            if head[:4] == SHB_MAGIC:
                magic = self.s.exact(4, "section header block", pos)
                self.bo = self._byte_order(magic, pos)
            block_type, total = struct.unpack(self.bo + "II", head)
            if total < 12 + len(magic) or total % 4 or total > MAX_BLOCK_BYTES:
                raise CaptureError(f"corrupt block length at offset {pos}: {total}")
            rest = self.s.exact(total - 8 - len(magic), "block", pos)
            trailer = struct.unpack_from(self.bo + "I", rest, len(rest) - 4)[0]
            if trailer != total:
                raise CaptureError(f"corrupt block length at offset {pos}: {total} at its start, {trailer} at its end")
            yield block_type, magic + rest[:-4], pos

    @staticmethod
    def _byte_order(magic: bytes, pos: int) -> str:
        for bo in "<>":
            if magic == struct.pack(bo + "I", BYTE_ORDER_MAGIC):
                return bo
        raise CaptureError(f"section header block at offset {pos} has no byte-order magic (0x{magic.hex()})")

    def _options(self, data: bytes, pos: int) -> dict[int, list[bytes]]:
        opts: dict[int, list[bytes]] = {}
        at = 0
        while at + 4 <= len(data):
            code, length = struct.unpack_from(self.bo + "HH", data, at)
            if code == OPT_ENDOFOPT:
                break
            if at + 4 + length > len(data):
                raise CaptureError(f"corrupt option {code} in the block at offset {pos}: it runs past the block")
            opts.setdefault(code, []).append(data[at + 4 : at + 4 + length])
            at += 4 + length + (-length % 4)
        return opts

    def _number(self, opts: dict[int, list[bytes]], code: int, fmt: str, pos: int) -> int | None:
        if code not in opts:
            return None
        value = opts[code][0]
        if len(value) != struct.calcsize(fmt):
            raise CaptureError(f"corrupt option {code} in the block at offset {pos}: {len(value)} bytes")
        return struct.unpack(self.bo + fmt, value)[0]

    def _section(self, body: bytes, pos: int) -> None:
        major, minor = struct.unpack_from(self.bo + "HH", body, 4)
        if major != 1:
            raise CaptureError(f"pcapng version {major}.{minor} at offset {pos}: only version 1 is read")
        opts = self._options(body[16:], pos)
        self.info.comments += tuple(_decode(c) for c in opts.get(OPT_COMMENT, []))
        if self.sections == 0:
            self.info.application = _text(opts, SHB_USERAPPL)
        self.sections += 1
        self.section = []

    def _interface(self, body: bytes, pos: int) -> None:
        linktype, _, snaplen = struct.unpack_from(self.bo + "HHI", body)
        opts = self._options(body[8:], pos)
        index = len(self.info.interfaces)
        name = _text(opts, IF_NAME, IF_DESCRIPTION) or f"interface {index}"
        tsresol = opts.get(IF_TSRESOL, [b"\x06"])[0]  # default: microseconds
        r = tsresol[0] if tsresol else 6
        per_second = 2 ** (r & 0x7F) if r & 0x80 else 10**r
        interface = Interface(index, name, _linktype(linktype), snaplen)
        self.info.interfaces.append(interface)
        self.section.append((interface, _Clock(per_second, self._number(opts, IF_TSOFFSET, "q", pos) or 0)))

    def _described(self, if_id: int, what: int, pos: int) -> tuple[Interface, _Clock]:
        if if_id >= len(self.section):
            raise CaptureError(
                f"{BLOCK_NAMES[what]} at offset {pos} names interface {if_id}, which is not described"
                f" (its section describes {len(self.section)})")
        return self.section[if_id]

    def _statistics(self, body: bytes, pos: int) -> None:
        interface, _ = self._described(struct.unpack_from(self.bo + "I", body)[0], ISB, pos)
        drops = self._number(self._options(body[12:], pos), ISB_IFDROP, "Q", pos)
        if drops is not None:
            self.drops[interface.index] = drops
            self.info.drops = sum(self.drops.values())

    def _packet(self, block_type: int, body: bytes, pos: int) -> _Packet:
        what = BLOCK_NAMES[block_type]
        if block_type == SPB:
            interface, _ = self._described(0, block_type, pos)
            wire_len = struct.unpack_from(self.bo + "I", body)[0]
            caplen = min(wire_len, len(body) - 4, interface.snaplen or wire_len)
            _check_caplen(caplen, interface.snaplen, what, pos)
            return interface, 0, body[4 : 4 + caplen], wire_len, None
        if block_type == EPB:
            if_id, high, low, caplen, wire_len = struct.unpack_from(self.bo + "IIIII", body)
        else:
            if_id, _drops, high, low, caplen, wire_len = struct.unpack_from(self.bo + "HHIIII", body)
        interface, clock = self._described(if_id, block_type, pos)
        _check_caplen(caplen, interface.snaplen, what, pos)
        if caplen > len(body) - 20:
            raise CaptureError(f"corrupt {what} at offset {pos}: {caplen} captured bytes do not fit in the block")
        comment = _text(self._options(body[20 + caplen + (-caplen % 4) :], pos), OPT_COMMENT)
        return interface, clock.ns(high, low), body[20 : 20 + caplen], wire_len, comment


class CaptureReader:
    """The frames of one capture file, in file order: an iterator and a context manager.

    Opening reads the header and every block before the first frame, so `info`
    already lists the interfaces a writer declares up front; comments of later
    sections, interfaces declared later and `info.drops` are complete once the
    iteration ends. Raises CaptureError, at opening or while iterating."""

    def __init__(self, f: BinaryIO) -> None:
        self._file = f
        compressed = f.read(2) == GZIP_MAGIC
        f.seek(0)
        self._stream = _Stream(f, compressed)
        magic = self._stream.read(4)
        if not magic:
            raise CaptureError("empty file" + (" (after decompression)" if compressed else ""))
        if len(magic) < 4:
            raise CaptureError(f"too short to be a capture ({len(magic)} bytes)")
        kind = "pcap" if magic in PCAP_MAGICS else "pcapng" if magic == SHB_MAGIC else None
        if kind is None:
            raise CaptureError(f"not a capture: it starts with 0x{magic.hex()}, neither pcap nor pcapng")
        self.info = CaptureInfo(kind, compressed, (), None, [], None)
        self._stream.rewind()
        if kind == "pcap":
            packets = _pcap_packets(self._stream, self.info)
        else:
            packets = _Pcapng(self._stream, self.info).packets()
        self._frames = self._numbered(packets)
        self._first = next(self._frames, None)

    @staticmethod
    def _numbered(packets: Iterator[_Packet]) -> Iterator[StoredFrame]:
        for number, (interface, time_ns, data, wire_len, comment) in enumerate(packets, 1):
            if number > MAX_FRAMES:
                raise CaptureError(f"more than {MAX_FRAMES:,} frames: refused")
            yield StoredFrame(number, interface, time_ns, data, wire_len, comment)

    def __iter__(self) -> CaptureReader:
        return self

    def __next__(self) -> StoredFrame:
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        return next(self._frames)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._file.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_capture(path: str | Path) -> CaptureReader:
    """A reader of the capture at `path` (pcap or pcapng, gzip or not).

    Raises CaptureError (a ValueError) if it is not a readable capture, OSError if it cannot be opened."""
    try:
        f = open_regular(path, limit=MAX_FILE_BYTES, what="captures")
    except FileRefused as exc:
        raise CaptureError(str(exc)) from None
    try:
        return CaptureReader(f)
    except BaseException:
        f.close()
        raise
