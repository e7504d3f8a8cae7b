"""BOOTP/DHCP messages (UDP ports 67 and 68) → the plain-data `bootp` and `dhcp` layers of a frame.

    bootp: {"op": 1, "xid": 0x5eed, "flags": 0x8000, "broadcast": True, "ciaddr": "0.0.0.0",
            "yiaddr": "0.0.0.0", "siaddr": "0.0.0.0", "giaddr": "0.0.0.0", "chaddr": "02:00:00:00:01:10"}
    dhcp:  {"type": "DISCOVER", "options": (53, 61, 55), "server_id": None, "requested": None,
            "lease": None, "mask": None, "router": None, "dns": None, "domain": None}

The fixed BOOTP header (RFC 951) is the `bootp` layer; the options after the
magic cookie (RFC 2131, 2132) are the `dhcp` layer, absent from a plain BOOTP
message. Both decoding paths of decode.py call these functions with the same
UDP payload, so they give the same fields. Pure: struct alone.
"""

from __future__ import annotations

import struct
from socket import inet_ntoa
from typing import Any

SERVER_PORT, CLIENT_PORT = 67, 68
HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s")  # op htype hlen hops xid secs flags ciaddr yiaddr siaddr giaddr chaddr
HEADER_LEN = 236  # the header above, then sname (64) and file (128)
MAGIC = b"\x63\x82\x53\x63"
BROADCAST_FLAG = 0x8000
OPT_PAD, OPT_END = 0, 255
OPT_MASK, OPT_ROUTER, OPT_DNS, OPT_DOMAIN = 1, 3, 6, 15
OPT_REQUESTED, OPT_LEASE, OPT_TYPE, OPT_SERVER_ID = 50, 51, 53, 54
TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE", 8: "INFORM"}
TYPE_CODES = {name: code for code, name in TYPES.items()}


def is_bootp(sport: int, dport: int) -> bool:
    """A datagram between the BOOTP ports (client 68 ↔ server 67, or a relay's 67 ↔ 67)."""
    return (sport, dport) in ((CLIENT_PORT, SERVER_PORT), (SERVER_PORT, CLIENT_PORT), (SERVER_PORT, SERVER_PORT))


def bootp_layers(payload: bytes) -> dict[str, dict[str, Any]]:
    """{"bootp": ..., "dhcp": ...} of a UDP payload between the BOOTP ports; {} if it is too short for the header."""
    if len(payload) < HEADER_LEN:
        return {}
    op, htype, hlen, _hops, xid, _secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr = HEADER.unpack_from(payload)
    hardware = chaddr[:hlen] if 0 < hlen <= 16 else chaddr[:6] if htype == 1 else chaddr
    layers: dict[str, dict[str, Any]] = {"bootp": {
        "op": op, "xid": xid, "flags": flags, "broadcast": bool(flags & BROADCAST_FLAG),
        "ciaddr": inet_ntoa(ciaddr), "yiaddr": inet_ntoa(yiaddr), "siaddr": inet_ntoa(siaddr),
        "giaddr": inet_ntoa(giaddr), "chaddr": hardware.hex(":"),
    }}
    if payload[HEADER_LEN:HEADER_LEN + 4] == MAGIC:
        layers["dhcp"] = dhcp_layer(payload[HEADER_LEN + 4:])
    return layers


def dhcp_layer(data: bytes) -> dict[str, Any]:
    """The options after the magic cookie; an option cut short makes the layer `malformed`."""
    options: dict[int, bytes] = {}
    order: list[int] = []
    malformed = False
    i = 0
    while i < len(data):
        code = data[i]
        if code == OPT_END:
            break
        if code == OPT_PAD:
            i += 1
            continue
        if i + 1 >= len(data) or i + 2 + data[i + 1] > len(data):
            malformed = True
            break
        value = data[i + 2:i + 2 + data[i + 1]]
        options[code] = options.get(code, b"") + value  # RFC 3396: a repeated option continues the first
        if code not in order:
            order.append(code)
        i += 2 + data[i + 1]
    kind = options.get(OPT_TYPE)
    layer: dict[str, Any] = {
        "type": TYPES.get(kind[0], f"TYPE{kind[0]}") if kind and len(kind) == 1 else None,
        "options": tuple(order),
        "server_id": _address(options.get(OPT_SERVER_ID)),
        "requested": _address(options.get(OPT_REQUESTED)),
        "lease": struct.unpack("!I", options[OPT_LEASE])[0] if len(options.get(OPT_LEASE, b"")) == 4 else None,
        "mask": _address(options.get(OPT_MASK)),
        "router": _addresses(options.get(OPT_ROUTER)),
        "dns": _addresses(options.get(OPT_DNS)),
        "domain": options[OPT_DOMAIN].rstrip(b"\0").decode("ascii", "replace") if OPT_DOMAIN in options else None,
    }
    if malformed:
        layer["malformed"] = True
    return layer


def _address(value: bytes | None) -> str | None:
    return inet_ntoa(value) if value is not None and len(value) == 4 else None


def _addresses(value: bytes | None) -> tuple[str, ...] | None:
    if value is None or not value or len(value) % 4:
        return None
    return tuple(inet_ntoa(value[i:i + 4]) for i in range(0, len(value), 4))


def dhcp_summary(layers: dict[str, Any]) -> str:
    """"DHCP OFFER 10.0.1.123 xid=0x00005eed to 02:00:00:00:01:10", a line for the ladder."""
    bootp, dhcp = layers["bootp"], layers.get("dhcp")
    kind = dhcp["type"] if dhcp and dhcp["type"] else ("BOOTREQUEST" if bootp["op"] == 1 else "BOOTREPLY")
    offered = f" {bootp['yiaddr']}" if bootp["yiaddr"] != "0.0.0.0" else ""
    asked = f" for {dhcp['requested']}" if dhcp and dhcp["requested"] else ""
    return f"DHCP {kind}{offered}{asked} xid=0x{bootp['xid']:08x} chaddr {bootp['chaddr']}"
