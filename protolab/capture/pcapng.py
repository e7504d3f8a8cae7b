"""Write a capture as self-describing pcapng; read it back (see protolab.capture.reader).

One section (its comments, `shb_userappl` = the writing application); one
Ethernet interface per link (`if_name` = link name, nanosecond timestamps);
one Enhanced Packet Block per frame, commented "sent by <sender>"; then one
Interface Statistics Block per interface: frames recorded, and the kernel's
drops.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from protolab.capture.frames import CaptureResult
from protolab.capture.reader import (
    BYTE_ORDER_MAGIC,
    EPB,
    IDB,
    IF_NAME,
    IF_TSRESOL,
    ISB,
    ISB_IFDROP,
    ISB_IFRECV,
    LINKTYPE_ETHERNET,
    MAX_BLOCK_BYTES,
    MAX_FILE_BYTES,
    OPT_COMMENT,
    OPT_ENDOFOPT,
    SHB,
    SHB_USERAPPL,
    open_capture,
)

__all__ = ["MAX_BLOCK_BYTES", "MAX_FILE_BYTES", "read_pcapng", "write_pcapng"]

SNAPLEN = 65535
DROPS_COMMENT = "drops: the capture socket's, for all interfaces (one socket serves them all; the others report 0)"


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError(f"pcapng option {code} of {len(value)} bytes: at most 65535 fit")
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _options(*opts: bytes) -> bytes:
    return b"".join(opts) + struct.pack("<HH", OPT_ENDOFOPT, 0)


def _block(block_type: int, body: bytes) -> bytes:
    total = len(body) + 12
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def _default_application() -> str:
    try:
        return f"protolab {metadata.version('protolab')}"
    except metadata.PackageNotFoundError:
        return "protolab"


def _timestamp(time_ns: int) -> bytes:
    return struct.pack("<II", time_ns >> 32, time_ns & 0xFFFFFFFF)


def write_pcapng(
    path: str | Path,
    result: CaptureResult,
    comments: Sequence[str] = (),
    application: str | None = None,
) -> Path:
    """Write `result` to `path` as pcapng; return the path.

    `comments` become the section's opt_comments (empty ones are left out);
    `application` its shb_userappl (default: protolab and its version)."""
    path = Path(path)
    shb_opts = [_option(OPT_COMMENT, c.encode()) for c in comments if c]
    shb_opts.append(_option(SHB_USERAPPL, (application or _default_application()).encode()))
    parts = [_block(SHB, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + _options(*shb_opts))]
    for link in result.links:
        opts = _options(_option(IF_NAME, link.encode()), _option(IF_TSRESOL, b"\x09"))
        parts.append(_block(IDB, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, SNAPLEN) + opts))
    interface = {link: i for i, link in enumerate(result.links)}
    for f in result.frames:
        head = struct.pack("<I", interface[f.link]) + _timestamp(f.time_ns)
        head += struct.pack("<II", len(f.data), len(f.data))
        opts = _options(_option(OPT_COMMENT, f"sent by {f.sender}".encode())) if f.sender is not None else b""
        parts.append(_block(EPB, head + _pad(f.data) + opts))
    parts.extend(_statistics(result))
    path.write_bytes(b"".join(parts))
    return path


def _statistics(result: CaptureResult) -> list[bytes]:
    """One ISB per interface, stamped with the last frame's time."""
    last = _timestamp(result.frames[-1].time_ns if result.frames else 0)
    recorded = Counter(f.link for f in result.frames)
    blocks = []
    for i, link in enumerate(result.links):
        opts = [_option(OPT_COMMENT, DROPS_COMMENT.encode())] if i == 0 else []
        opts.append(_option(ISB_IFRECV, struct.pack("<Q", recorded[link])))
        opts.append(_option(ISB_IFDROP, struct.pack("<Q", result.kernel_drops if i == 0 else 0)))
        blocks.append(_block(ISB, struct.pack("<I", i) + last + _options(*opts)))
    return blocks


def read_pcapng(path: str | Path) -> list[tuple[str, int, str | None, bytes]]:
    """Every frame of a capture as (interface name, time_ns, comment, data).

    Any format `open_capture` reads; raises CaptureError (a ValueError) or OSError."""
    with open_capture(path) as reader:
        return [(f.interface.name, f.time_ns, f.comment, f.data) for f in reader]
