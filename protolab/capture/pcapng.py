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


def write_pcapng(path: str | Path, result: CaptureResult) -> Path:
    """Write `result` to `path` as pcapng; return the path."""
    path = Path(path)
    interface = {link: i for i, link in enumerate(result.links)}
    parts = [_block(SHB, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1))]
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


def read_pcapng(path: str | Path) -> list[tuple[str, int, str | None, bytes]]:
    """Read a file from `write_pcapng`: (link, time_ns, comment, data) per frame."""
    buf = Path(path).read_bytes()
    bo = "<"
    links: list[tuple[str, int]] = []
    frames: list[tuple[str, int, str | None, bytes]] = []
    pos = 0
    while pos + 12 <= len(buf):
        block_type = struct.unpack_from(bo + "I", buf, pos)[0]
        if block_type == SHB:
            bo = "<" if struct.unpack_from("<I", buf, pos + 8)[0] == BYTE_ORDER_MAGIC else ">"
            links = []
        total = struct.unpack_from(bo + "I", buf, pos + 4)[0]
        if total < 12 or pos + total > len(buf):
            raise ValueError(f"truncated or corrupt pcapng block at offset {pos}")
        body = buf[pos + 8 : pos + total - 4]
        if block_type == IDB:
            opts = _parse_options(body[8:], bo)
            links.append((opts.get(IF_NAME, b"").decode(), _ticks_per_second(opts.get(IF_TSRESOL))))
        elif block_type == EPB:
            if_id, hi, lo, caplen, _origlen = struct.unpack_from(bo + "IIIII", body)
            name, per_second = links[if_id]
            data = body[20 : 20 + caplen]
            comment = _parse_options(body[20 + caplen + (-caplen % 4) :], bo).get(OPT_COMMENT)
            time_ns = ((hi << 32) | lo) * 1_000_000_000 // per_second
            frames.append((name, time_ns, None if comment is None else comment.decode(), data))
        pos += total
    return frames
