"""A node's IPv4 neighbour cache (ARP table): read it, or empty it.

Emptying it before a lab step makes the kernel resolve addresses again, so the
ARP exchange shows up in the capture instead of being answered from the cache.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address

from ..backends.base import NodeHandle
from ..errors import BackendError
from .rtnl import NDA_DST, NDA_LLADDR, NDMSG, RTM_DELNEIGH, RTM_GETNEIGH, Rtnl, pack_attr, parse_attrs

NUD_NAMES = {
    0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY", 0x10: "PROBE",
    0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT",
}


@dataclass(frozen=True)
class Neighbour:
    ip: str
    mac: str | None  # None while unresolved (INCOMPLETE, FAILED)
    ifindex: int
    state: str

    @property
    def static(self) -> bool:
        """Set by hand or not resolved by ARP at all: `ip neigh flush` leaves these alone."""
        return self.state in ("NOARP", "PERMANENT")


def neighbours(node: NodeHandle) -> list[Neighbour]:
    """Every IPv4 neighbour entry of the node."""
    try:
        with Rtnl(node.netns) as rt:
            return _dump(rt)
    except OSError as exc:
        raise BackendError(f"cannot read the neighbour cache of {node.name}: {exc.strerror or exc}") from None


def flush_neighbours(node: NodeHandle) -> int:
    """Delete the node's learned IPv4 neighbour entries (like `ip neigh flush all`); returns how many."""
    removed = 0
    try:
        with Rtnl(node.netns) as rt:
            for entry in _dump(rt):
                if not entry.static and _delete(rt, entry):
                    removed += 1
    except OSError as exc:
        raise BackendError(f"cannot empty the neighbour cache of {node.name}: {exc.strerror or exc}") from None
    return removed


def _delete(rt: Rtnl, entry: Neighbour) -> bool:
    body = NDMSG.pack(socket.AF_INET, entry.ifindex, 0, 0, 0) + pack_attr(NDA_DST, IPv4Address(entry.ip).packed)
    try:
        rt.request(RTM_DELNEIGH, body)
        return True
    except OSError as exc:
        if exc.errno == errno.ENOENT:  # garbage-collected meanwhile
            return False
        raise


def _dump(rt: Rtnl) -> list[Neighbour]:
    return [parse_neighbour(payload) for _kind, payload in rt.dump(RTM_GETNEIGH, NDMSG.pack(socket.AF_INET, 0, 0, 0, 0))]


def parse_neighbour(payload: bytes) -> Neighbour:
    """One RTM_NEWNEIGH payload (ndmsg + attributes)."""
    _family, ifindex, state, _flags, _kind = NDMSG.unpack_from(payload)
    attrs = parse_attrs(payload[NDMSG.size :])
    lladdr = attrs.get(NDA_LLADDR)
    mac = ":".join(f"{b:02x}" for b in lladdr) if lladdr else None
    return Neighbour(str(IPv4Address(attrs[NDA_DST])), mac, ifindex, NUD_NAMES.get(state, hex(state)))
