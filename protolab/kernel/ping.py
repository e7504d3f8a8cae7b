"""One ICMP echo from a node's own kernel: it routes the request and resolves the next hop (ARP) itself.

    rtt = ping(node, "10.0.1.1")   # seconds, or None if no echo reply came in time

Proves that what the node is configured with works: its address (the source
the kernel picks), its route, its neighbour resolution.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time

from ..backends.base import NodeHandle

ECHO_REQUEST, ECHO_REPLY = 8, 0


def internet_checksum(data: bytes) -> int:
    """RFC 1071: the ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes = b"protolab") -> bytes:
    """An ICMP echo request, checksum filled in."""
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq)
    checksum = internet_checksum(header + payload)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum, ident, seq) + payload


def ping(node: NodeHandle, address: str, timeout: float = 1.0) -> float | None:
    """Round-trip time of one echo from `node` to `address` (None: no reply within `timeout` s,
    or the kernel could not send it: no route, no address)."""
    ident, seq = os.getpid() & 0xFFFF, int(time.monotonic() * 1000) & 0xFFFF
    sock = node.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        start = time.monotonic()
        try:
            sock.sendto(echo_request(ident, seq), (address, 0))
        except OSError:
            return None
        deadline = start + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            data, (source, _) = sock.recvfrom(65535)
            header = (data[0] & 0x0F) * 4
            if source == address and len(data) >= header + 8:
                kind, _code, _sum, got_ident, got_seq = struct.unpack_from("!BBHHH", data, header)
                if kind == ECHO_REPLY and (got_ident, got_seq) == (ident, seq):
                    return time.monotonic() - start
        return None
    finally:
        sock.close()
