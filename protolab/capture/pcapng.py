"""Write and read the small pcapng subset a capture needs.

One section; one Ethernet interface per link (`if_name` = link name,
nanosecond timestamps); one Enhanced Packet Block per frame, commented
"sent by <sender>".
"""

from __future__ import annotations

import struct
from pathlib import Path

from protolab.capture.frames import CaptureResult

SHB, IDB, EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535
OPT_ENDOFOPT, OPT_COMMENT, IF_NAME, IF_TSRESOL = 0, 1, 2, 9


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _options(*opts: bytes) -> bytes:
    return b"".join(opts) + struct.pack("<HH", OPT_ENDOFOPT, 0)


def _block(block_type: int, body: bytes) -> bytes:
    total = len(body) + 12
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def write_pcapng(path: str | Path, result: CaptureResult, comment: str | None = None) -> Path:
    """Write `result` to `path` as pcapng (`comment`: the section's); return the path."""
    path = Path(path)
    interface = {link: i for i, link in enumerate(result.links)}
    shb_options = _options(_option(OPT_COMMENT, comment.encode())) if comment else b""
    parts = [_block(SHB, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + shb_options)]
    for link in result.links:
        opts = _options(_option(IF_NAME, link.encode()), _option(IF_TSRESOL, b"\x09"))
        parts.append(_block(IDB, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, SNAPLEN) + opts))
    for f in result.frames:
        head = struct.pack(
            "<IIIII",
            interface[f.link],
            f.time_ns >> 32,
            f.time_ns & 0xFFFFFFFF,
            len(f.data),
            len(f.data),
        )
        opts = _options(_option(OPT_COMMENT, f"sent by {f.sender}".encode()))
        parts.append(_block(EPB, head + _pad(f.data) + opts))
    path.write_bytes(b"".join(parts))
    return path


def _parse_options(data: bytes, bo: str) -> dict[int, bytes]:
    opts: dict[int, bytes] = {}
    pos = 0
    while pos + 4 <= len(data):
        code, length = struct.unpack_from(bo + "HH", data, pos)
        if code == OPT_ENDOFOPT:
            break
        opts.setdefault(code, data[pos + 4 : pos + 4 + length])
        pos += 4 + length + (-length % 4)
    return opts


def _ticks_per_second(tsresol: bytes | None) -> int:
    r = tsresol[0] if tsresol else 6  # pcapng default: microseconds
    return 2 ** (r & 0x7F) if r & 0x80 else 10**r


MAX_FILE_BYTES = 256 << 20  # a lab's capture is kilobytes; refuse what cannot be one
MAX_BLOCK_BYTES = 4 << 20  # a block holds one frame (at most 64 KiB here) and its options
MAX_FRAMES = 1_000_000
PCAP_MAGICS = {b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1"}


class PcapngError(ValueError):
    """The file is not a capture this reader accepts (one line: why)."""


def read_pcapng(path: str | Path) -> list[tuple[str, int, str | None, bytes]]:
    """Read a file from `write_pcapng`: (link, time_ns, comment, data) per frame.

    Bounded: a FIFO, device or directory is refused before anything is read
    (see protolab.files), a file above MAX_FILE_BYTES too; the magic number is
    checked first; then the file is read one block at a time, each block's
    length checked (at most MAX_BLOCK_BYTES, within the file) before its body
    is read. Raises PcapngError (a ValueError) or OSError."""
    from ..files import open_regular

    with open_regular(path, limit=MAX_FILE_BYTES, what="captures") as f:
        return _read_blocks(f)


def _read_blocks(f) -> list[tuple[str, int, str | None, bytes]]:
    first = f.read(4)
    if len(first) < 4:
        raise PcapngError("empty or too short to be a capture")
    if first in PCAP_MAGICS:
        raise PcapngError("a pcap (libpcap) file: only pcapng is read (e.g. editcap -F pcapng converts it)")
    if struct.unpack("<I", first)[0] != SHB:
        raise PcapngError(f"not a pcapng capture (it starts with 0x{first.hex()}, not a section header block)")
    bo = "<"
    links: list[tuple[str, int]] = []
    frames: list[tuple[str, int, str | None, bytes]] = []
    pos, head = 0, first
    while True:
        head += f.read(8 - len(head))
        if not head:
            return frames
        if len(head) < 8:
            raise PcapngError(f"truncated block header at offset {pos}")
        block_type = struct.unpack_from("<I", head)[0]  # SHB's type reads the same in both byte orders
        if block_type == SHB:
            magic = f.read(4)
            if len(magic) < 4:
                raise PcapngError(f"truncated section header at offset {pos}")
            if magic == struct.pack("<I", BYTE_ORDER_MAGIC):
                bo = "<"
            elif magic == struct.pack(">I", BYTE_ORDER_MAGIC):
                bo = ">"
            else:
                raise PcapngError(f"section header at offset {pos} has no byte-order magic")
            links = []
        else:
            block_type = struct.unpack_from(bo + "I", head)[0]
            magic = b""
        total = struct.unpack_from(bo + "I", head, 4)[0]
        if total < 12 + len(magic) or total % 4 or total > MAX_BLOCK_BYTES:
            raise PcapngError(f"corrupt block at offset {pos} (length {total})")
        rest = f.read(total - 8 - len(magic))
        if len(rest) < total - 8 - len(magic):
            raise PcapngError(f"truncated block at offset {pos}")
        if struct.unpack_from(bo + "I", rest, len(rest) - 4)[0] != total:
            raise PcapngError(f"corrupt block at offset {pos} (its two lengths differ)")
        body = magic + rest[:-4]
        if block_type == IDB:
            if len(body) < 8:
                raise PcapngError(f"short interface block at offset {pos}")
            opts = _parse_options(body[8:], bo)
            links.append((opts.get(IF_NAME, b"").decode(errors="replace"), _ticks_per_second(opts.get(IF_TSRESOL))))
        elif block_type == EPB:
            frames.append(_packet(body, bo, links, pos))
            if len(frames) > MAX_FRAMES:
                raise PcapngError(f"more than {MAX_FRAMES} frames: not a lab's capture")
        pos += total
        head = b""


def _packet(body: bytes, bo: str, links: list[tuple[str, int]], pos: int) -> tuple[str, int, str | None, bytes]:
    if len(body) < 20:
        raise PcapngError(f"short packet block at offset {pos}")
    if_id, hi, lo, caplen, _origlen = struct.unpack_from(bo + "IIIII", body)
    if if_id >= len(links):
        raise PcapngError(f"packet block at offset {pos} names interface {if_id}, which is not described")
    if caplen > len(body) - 20:
        raise PcapngError(f"packet block at offset {pos} is shorter than its frame ({caplen} bytes)")
    name, per_second = links[if_id]
    data = body[20 : 20 + caplen]
    comment = _parse_options(body[20 + caplen + (-caplen % 4) :], bo).get(OPT_COMMENT)
    time_ns = ((hi << 32) | lo) * 1_000_000_000 // per_second
    return name, time_ns, None if comment is None else comment.decode(errors="replace"), data


def read_section_comment(path: str | Path) -> str | None:
    """The first section's comment (what `write_pcapng` was given), or None."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or struct.unpack_from("<I", head)[0] != SHB:
            return None
        bo = "<" if head[8:12] == struct.pack("<I", BYTE_ORDER_MAGIC) else ">"
        total = struct.unpack_from(bo + "I", head, 4)[0]
        if total < 28 or total > MAX_BLOCK_BYTES:
            return None
        body = head[8:] + f.read(total - 12)
    comment = _parse_options(body[16:-4], bo).get(OPT_COMMENT) if len(body) >= 20 else None
    return None if comment is None else comment.decode(errors="replace")
