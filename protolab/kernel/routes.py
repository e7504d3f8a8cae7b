"""A node's IPv4 routing table (the main table, as `ip route` shows it), and lookups in it.

`routes(node)` reads the table; `lookup(table, address)` is the kernel's choice
in miniature: the most specific route containing the address, or None (for a
router, that is an ICMP "net unreachable").
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Iterable

from ..backends.base import NodeHandle
from ..errors import BackendError
from .rtnl import RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_TABLE, RTM_GETROUTE, RTMSG, Rtnl, ifname, parse_attrs

RT_TABLE_MAIN = 254
RTN_UNICAST = 1


@dataclass(frozen=True)
class Route:
    dst: IPv4Network  # 0.0.0.0/0 for the default route
    gateway: str | None  # None: the destination is on the link itself
    dev: str

    @property
    def is_default(self) -> bool:
        return self.dst.prefixlen == 0

    def __str__(self) -> str:
        where = "default" if self.is_default else str(self.dst)
        via = f" via {self.gateway}" if self.gateway else ""
        return f"{where}{via} dev {self.dev}"


def routes(node: NodeHandle) -> list[Route]:
    """The node's unicast IPv4 routes of the main table."""
    try:
        with Rtnl(node.netns) as rt:
            answers = rt.dump(RTM_GETROUTE, RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0))
        table = []
        names: dict[int, str] = {}
        for _kind, payload in answers:
            parsed = parse_route(payload)
            if parsed is None:
                continue
            dst, gateway, oif = parsed
            if oif not in names:
                names[oif] = ifname(node.netns, oif)
            table.append(Route(dst, gateway, names[oif]))
        return table
    except OSError as exc:
        raise BackendError(f"cannot read the routing table of {node.name}: {exc.strerror or exc}") from None


def parse_route(payload: bytes) -> tuple[IPv4Network, str | None, int] | None:
    """(destination, gateway, output ifindex) of one RTM_NEWROUTE payload; None unless unicast in the main table."""
    _family, dst_len, _src_len, _tos, table, _proto, _scope, kind, _flags = RTMSG.unpack_from(payload)
    attrs = parse_attrs(payload[RTMSG.size :])
    if RTA_TABLE in attrs:
        table = int.from_bytes(attrs[RTA_TABLE], "little")
    if table != RT_TABLE_MAIN or kind != RTN_UNICAST:
        return None
    dst = IPv4Address(attrs[RTA_DST]) if RTA_DST in attrs else IPv4Address(0)
    gateway = str(IPv4Address(attrs[RTA_GATEWAY])) if RTA_GATEWAY in attrs else None
    oif = int.from_bytes(attrs[RTA_OIF], "little") if RTA_OIF in attrs else 0
    return IPv4Network(f"{dst}/{dst_len}"), gateway, oif


def lookup(table: Iterable[Route], address: str | IPv4Address) -> Route | None:
    """The longest-prefix match for `address`, or None when no route contains it."""
    address = IPv4Address(address)
    matches = [r for r in table if address in r.dst]
    return max(matches, key=lambda r: r.dst.prefixlen, default=None)


def default_route(table: Iterable[Route]) -> Route | None:
    return next((r for r in table if r.is_default), None)
