"""A node's IPv4 neighbour cache (ARP table): read it, wait on it, set, delete or empty entries,
and the ARP sysctls that decide what the kernel answers and learns.

Emptying it before a lab step makes the kernel resolve addresses again, so the
ARP exchange shows up in the capture instead of being answered from the cache.
"""

from __future__ import annotations

import errno
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Callable, Iterable, Iterator, Mapping

from ..backends.base import NodeHandle
from ..backends.nsenter import entered
from ..errors import BackendError
from .rtnl import (
    NDA_DST,
    NDA_LLADDR,
    NDMSG,
    NLM_F_CREATE,
    NLM_F_REPLACE,
    RTM_DELNEIGH,
    RTM_GETNEIGH,
    RTM_NEWNEIGH,
    Rtnl,
    pack_attr,
    parse_attrs,
)
from .sysctl import changed_sysctls

NUD_NAMES = {
    0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY", 0x10: "PROBE",
    0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT",
}
NUD_STATES = {name: value for value, name in NUD_NAMES.items()}
# The ARP sysctls (net.ipv4.conf.*) that decide what a node answers and learns.
ARP_KNOBS = ("arp_accept", "arp_ignore", "arp_filter", "drop_gratuitous_arp")


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

    def __str__(self) -> str:
        """"10.0.1.10 → 02:00:00:00:01:10 STALE", as `ip neigh` shows an entry."""
        return f"{self.ip} → {self.mac or '(no MAC)'} {self.state}"


def neighbours(node: NodeHandle) -> list[Neighbour]:
    """Every IPv4 neighbour entry of the node."""
    try:
        with Rtnl(node.netns) as rt:
            return _dump(rt)
    except OSError as exc:
        raise BackendError(f"cannot read the neighbour cache of {node.name}: {exc.strerror or exc}") from None


def neighbour(node: NodeHandle, ip: str) -> Neighbour | None:
    """The node's entry for `ip`, or None."""
    return next((n for n in neighbours(node) if n.ip == ip), None)


def wait_for_neighbour(node: NodeHandle, ip: str, done: Callable[[Neighbour | None], bool], timeout: float,
                       interval: float = 0.002) -> Neighbour | None:
    """Read the entry for `ip` until `done(entry)` or `timeout` s have passed; the last one read."""
    deadline = time.monotonic() + timeout
    while True:
        entry = neighbour(node, ip)
        if done(entry) or time.monotonic() >= deadline:
            return entry
        time.sleep(interval)


def set_neighbour(node: NodeHandle, ip: str, mac: str, iface: str, state: str = "STALE") -> None:
    """Create or replace the entry for `ip` (like `ip neigh replace IP lladdr MAC dev IFACE nud STATE`)."""
    if state not in NUD_STATES:
        raise ValueError(f"not a neighbour state: {state} (one of {', '.join(NUD_STATES)})")
    try:
        with entered(node.netns):
            index = socket.if_nametoindex(iface)
        body = (NDMSG.pack(socket.AF_INET, index, NUD_STATES[state], 0, 0)
                + pack_attr(NDA_DST, IPv4Address(ip).packed) + pack_attr(NDA_LLADDR, bytes.fromhex(mac.replace(":", ""))))
        with Rtnl(node.netns) as rt:
            rt.request(RTM_NEWNEIGH, body, NLM_F_CREATE | NLM_F_REPLACE)
    except OSError as exc:
        raise BackendError(f"cannot set {ip} → {mac} in the neighbour cache of {node.name}: {exc.strerror or exc}") from None


def forget_neighbour(node: NodeHandle, ip: str) -> bool:
    """Delete the node's entries for `ip`, static ones too (like `ip neigh del IP dev ...`); whether there was one."""
    try:
        with Rtnl(node.netns) as rt:
            return any([_delete(rt, entry) for entry in _dump(rt) if entry.ip == ip])
    except OSError as exc:
        raise BackendError(f"cannot delete {ip} from the neighbour cache of {node.name}: {exc.strerror or exc}") from None


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


@contextmanager
def emptied_caches(nodes: Iterable[NodeHandle]) -> Iterator[None]:
    """Empty the nodes' neighbour caches now and again when the block ends: every address
    is resolved anew inside it, and what it taught them (a wrong MAC, say) is forgotten after."""
    nodes = list(nodes)
    for node in nodes:
        flush_neighbours(node)
    try:
        yield
    finally:
        for node in nodes:
            flush_neighbours(node)


def arp_settings(node: NodeHandle, iface: str, values: Mapping[str, int]):
    """A `with` block in which the node's ARP sysctls are `values` on `iface` and 0 for
    `all` (the kernel combines the two by OR or MAX, so both are set); written back after."""
    settings: dict[str, int] = {}
    for knob, value in values.items():
        if knob not in ARP_KNOBS:
            raise ValueError(f"not an ARP setting: {knob} (one of {', '.join(ARP_KNOBS)})")
        settings[f"net/ipv4/conf/all/{knob}"] = 0
        settings[f"net/ipv4/conf/{iface}/{knob}"] = int(value)
    return changed_sysctls(node, settings)


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
