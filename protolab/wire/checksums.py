"""The checksums an IPv4 packet carries, checked from its bytes alone.

The Internet checksum (RFC 1071) is the one's complement of the one's
complement sum of 16-bit words, an odd last byte padded with zero. TCP and
UDP also sum a pseudo-header (source, destination, protocol, length); a UDP
checksum that comes out 0 is sent as 0xFFFF, since 0 means "not computed".
ICMP covers its whole message and no pseudo-header.

A sender whose device offloads the transmit checksum leaves in the field only
the folded pseudo-header sum, for the device to finish: "partial" says so.

One's complement has two zeros, 0x0000 and 0xFFFF. Where the right field is
0x0000, Linux now and then writes 0xFFFF (about one segment in 65,536):
every receiver accepts it (the whole sum still comes out zero), Wireshark
calls it illegal. "other-zero" names exactly that, apart from "bad", so a
frame the kernel sent is never a wrong checksum in a verdict.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

OK, BAD, PARTIAL, NONE, UNCHECKED, OTHER_ZERO = "ok", "bad", "partial", "none", "unchecked", "other-zero"
ICMP, TCP, UDP = 1, 6, 17
TRANSPORTS = {ICMP: ("icmp", 2), TCP: ("tcp", 16), UDP: ("udp", 6)}  # protocol → key, checksum offset
IP_CHECKSUM = 10
MF, FRAGMENT_OFFSET = 0x2000, 0x1FFF


@dataclass(frozen=True)
class Checksum:
    status: str  # ok, bad, partial, none (UDP 0: not computed), unchecked (cut, or fragmented), other-zero
    value: int  # the field as captured (0 when the capture does not hold it)
    expected: int | None  # the correct value (None when it cannot be computed)


def _ones_sum(data: bytes, start: int = 0) -> int:
    """The folded one's complement sum of `data` as 16-bit words, added to `start`."""
    if len(data) % 2:
        data += b"\0"
    total = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _complement(total: int) -> int:
    return 0xFFFF - total


def _zeroed(data: bytes, offset: int) -> bytes:
    return data[:offset] + b"\0\0" + data[offset + 2 :]


def _field(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "big") if len(data) >= offset + 2 else 0


def _judge(value: int, expected: int, partial: int | None = None) -> Checksum:
    if value == expected:
        return Checksum(OK, value, expected)
    if {value, expected} == {0x0000, 0xFFFF}:
        return Checksum(OTHER_ZERO, value, expected)
    return Checksum(PARTIAL if value == partial else BAD, value, expected)


def verify(ip_packet: bytes, wire_len: int | None = None) -> dict[str, Checksum]:
    """The header checksum ("ip") of an IPv4 packet, and its "tcp", "udp" or
    "icmp" checksum if it carries one; {} if it is not IPv4.

    `ip_packet` starts at the IP header; bytes past the IP total length
    (Ethernet padding) are ignored. Fewer bytes than the total length: the
    capture cut the packet, unless `wire_len` (its length on the wire, when
    known) says the wire carried no more: then the packet itself is short.
    """
    if not ip_packet or ip_packet[0] >> 4 != 4:
        return {}
    header_len = (ip_packet[0] & 0x0F) * 4
    if header_len < 20 or len(ip_packet) < header_len:
        return {"ip": Checksum(UNCHECKED, _field(ip_packet, IP_CHECKSUM), None)}
    header = ip_packet[:header_len]
    result = {"ip": _judge(_field(header, IP_CHECKSUM), _complement(_ones_sum(_zeroed(header, IP_CHECKSUM))))}
    total_len, fragment, protocol = struct.unpack_from("!H2xHxB", header, 2)
    if protocol in TRANSPORTS and total_len >= header_len:
        key = TRANSPORTS[protocol][0]
        short_on_wire = wire_len is not None and wire_len <= len(ip_packet)
        checksum = _transport(header, ip_packet[header_len:total_len], total_len - header_len, fragment, short_on_wire)
        if checksum is not None:
            result[key] = checksum
    return result


def _transport(header: bytes, captured: bytes, length: int, fragment: int, short_on_wire: bool) -> Checksum | None:
    """The transport checksum of a `length`-byte IP payload of which `captured` is what the capture holds."""
    protocol = header[9]
    offset = TRANSPORTS[protocol][1]
    if fragment & FRAGMENT_OFFSET:
        return Checksum(UNCHECKED, 0, None)  # a later fragment: the transport header is in the first
    if length < offset + 2:
        return None  # too short to hold a checksum
    value = _field(captured, offset)
    whole = not fragment & MF and len(captured) == length
    expected = _expected(header, captured, offset) if whole else None
    if protocol == UDP and value == 0 and len(captured) >= offset + 2:
        return Checksum(NONE, 0, expected)
    if not whole:  # the checksum covers bytes the packet or the capture does not hold
        return Checksum(BAD if short_on_wire and not fragment & MF else UNCHECKED, value, None)
    if expected is None:
        return Checksum(BAD, value, None)  # a UDP length no receiver accepts
    partial = _pseudo_sum(header, _covered(protocol, captured)) if protocol != ICMP else None
    return _judge(value, expected, partial)


def _covered(protocol: int, payload: bytes) -> int:
    """How many bytes of a whole IP payload the checksum covers: UDP says it in its header."""
    return _field(payload, 4) if protocol == UDP else len(payload)


def _pseudo_sum(header: bytes, length: int) -> int:
    """The folded sum of the TCP/UDP pseudo-header: what transmit offload leaves in the field."""
    return _ones_sum(header[12:20] + struct.pack("!xBH", header[9], length))


def _expected(header: bytes, payload: bytes, offset: int) -> int | None:
    """The checksum a whole IP payload should carry (None: a UDP length out of bounds)."""
    protocol = header[9]
    length = _covered(protocol, payload)
    if protocol == UDP and not 8 <= length <= len(payload):
        return None
    start = _pseudo_sum(header, length) if protocol != ICMP else 0
    checksum = _complement(_ones_sum(_zeroed(payload[:length], offset), start))
    return 0xFFFF if protocol == UDP and checksum == 0 else checksum
