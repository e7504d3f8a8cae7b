"""A node's IPv4 addresses and its gateway routes: read, add, delete, and take an interface bare for a block.

    with unconfigured(node, "eth0") as before:   # no address, no route on eth0 (DHCP lab: a new machine)
        configure(node, "eth0", "10.0.1.123", 24, gateway="10.0.1.1")   # what DHCP handed out
    # eth0 holds exactly what it held before (also after an error), on a network kept up too

Like `ip addr add/del` and `ip route add`, through rtnetlink (rtnl.py), with
no program started. Deleting an interface's last address of a subnet makes
the kernel drop the routes through it: `unconfigured` notes them and puts
them back.
"""

from __future__ import annotations

import errno
import socket
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Iterator

from ..backends.base import NodeHandle
from ..backends.nsenter import entered
from ..errors import BackendError
from .routes import Route, routes
from .rtnl import NLM_F_CREATE, NLM_F_REPLACE, RTA_DST, RTA_GATEWAY, RTA_OIF, RTMSG, Rtnl, pack_attr, parse_attrs

RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
NLM_F_EXCL = 0x200
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, interface index
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1


@dataclass(frozen=True)
class Address:
    ip: str
    prefix: int
    iface: str

    @property
    def interface(self) -> IPv4Interface:
        return IPv4Interface(f"{self.ip}/{self.prefix}")

    def __str__(self) -> str:
        return f"{self.ip}/{self.prefix} dev {self.iface}"


@dataclass(frozen=True)
class Setup:
    """What an interface held: its addresses and the routes through it."""

    addresses: tuple[Address, ...]
    routes: tuple[Route, ...]


def addresses(node: NodeHandle, iface: str | None = None) -> list[Address]:
    """The node's IPv4 addresses (of one interface if `iface` is given)."""
    try:
        index = _index(node, iface) if iface else 0
        with Rtnl(node.netns) as rt:
            answers = rt.dump(RTM_GETADDR, IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0))
        found = []
        for _kind, payload in answers:
            _family, prefix, _flags, _scope, ifindex = IFADDRMSG.unpack_from(payload)
            if index and ifindex != index:
                continue
            attrs = parse_attrs(payload[IFADDRMSG.size:])
            raw = attrs.get(IFA_LOCAL, attrs.get(IFA_ADDRESS))
            if raw is not None:
                found.append(Address(str(IPv4Address(raw)), prefix, iface or _name(node, ifindex)))
        return found
    except OSError as exc:
        raise BackendError(f"cannot read the addresses of {node.name}: {exc.strerror or exc}") from None


def add_address(node: NodeHandle, iface: str, ip: str, prefix: int) -> None:
    """`ip addr add IP/PREFIX brd + dev IFACE` in the node (the subnet's route comes with it)."""
    net = _interface(ip, prefix).network
    body = (IFADDRMSG.pack(socket.AF_INET, prefix, 0, RT_SCOPE_UNIVERSE, _index(node, iface))
            + pack_attr(IFA_LOCAL, IPv4Address(ip).packed) + pack_attr(IFA_ADDRESS, IPv4Address(ip).packed))
    if prefix < 31:
        body += pack_attr(IFA_BROADCAST, net.broadcast_address.packed)
    _request(node, RTM_NEWADDR, body, NLM_F_CREATE | NLM_F_EXCL, f"add {ip}/{prefix} to {iface}")


def delete_address(node: NodeHandle, iface: str, ip: str, prefix: int) -> None:
    """`ip addr del IP/PREFIX dev IFACE` in the node."""
    body = (IFADDRMSG.pack(socket.AF_INET, prefix, 0, 0, _index(node, iface))
            + pack_attr(IFA_LOCAL, IPv4Address(ip).packed))
    _request(node, RTM_DELADDR, body, 0, f"delete {ip}/{prefix} from {iface}")


def add_route(node: NodeHandle, dst: str, gateway: str | None, iface: str) -> None:
    """`ip route replace DST [via GATEWAY] dev IFACE` in the node's main table ("0.0.0.0/0": the default route)."""
    try:
        net = IPv4Network(dst)
    except ValueError:
        raise BackendError(f"cannot add a route to {dst!r} in {node.name}: not an IPv4 network") from None
    body = RTMSG.pack(socket.AF_INET, net.prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
    if net.prefixlen:
        body += pack_attr(RTA_DST, net.network_address.packed)
    if gateway:
        body += pack_attr(RTA_GATEWAY, _ip(gateway).packed)
    body += pack_attr(RTA_OIF, struct.pack("=i", _index(node, iface)))
    via = f" via {gateway}" if gateway else ""
    _request(node, RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_REPLACE, f"add the route {net}{via} dev {iface}")


def configure(node: NodeHandle, iface: str, ip: str, prefix: int, gateway: str | None = None) -> None:
    """An address on `iface` and, with `gateway`, the default route through it."""
    add_address(node, iface, ip, prefix)
    if gateway:
        add_route(node, "0.0.0.0/0", gateway, iface)


def setup_of(node: NodeHandle, iface: str) -> Setup:
    return Setup(tuple(addresses(node, iface)), tuple(r for r in routes(node) if r.dev == iface))


def strip(node: NodeHandle, iface: str) -> Setup:
    """Delete every IPv4 address of `iface` (the routes through it go with them); what it held."""
    before = setup_of(node, iface)
    for address in before.addresses:
        delete_address(node, iface, address.ip, address.prefix)
    return before


def restore(node: NodeHandle, iface: str, setup: Setup) -> None:
    """Make `iface` hold exactly `setup` again: other addresses off, its addresses and routes back."""
    strip(node, iface)
    for address in setup.addresses:
        add_address(node, iface, address.ip, address.prefix)
    present = set(routes(node))
    for route in setup.routes:
        if route not in present:
            add_route(node, str(route.dst), route.gateway, iface)


@contextmanager
def unconfigured(node: NodeHandle, iface: str) -> Iterator[Setup]:
    """A `with` block in which `iface` has no IPv4 address and no route; yields what it held,
    and puts exactly that back at the end, whatever was configured inside."""
    before = strip(node, iface)
    try:
        yield before
    finally:
        restore(node, iface, before)


def _request(node: NodeHandle, kind: int, body: bytes, flags: int, what: str) -> None:
    try:
        with Rtnl(node.netns) as rt:
            rt.request(kind, body, flags)
    except OSError as exc:
        reason = "it is there already" if exc.errno == errno.EEXIST else exc.strerror or str(exc)
        raise BackendError(f"cannot {what} in {node.name}: {reason}") from None


def _index(node: NodeHandle, iface: str) -> int:
    try:
        with entered(node.netns):
            return socket.if_nametoindex(iface)
    except OSError:
        raise BackendError(f"node {node.name} has no interface {iface!r}") from None


def _name(node: NodeHandle, index: int) -> str:
    with entered(node.netns):
        try:
            return socket.if_indextoname(index)
        except OSError:
            return "?"


def _ip(text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise BackendError(f"{text!r} is not an IPv4 address") from None


def _interface(ip: str, prefix: int) -> IPv4Interface:
    try:
        return IPv4Interface(f"{ip}/{prefix}")
    except ValueError:
        raise BackendError(f"{ip}/{prefix} is not an IPv4 address with a prefix length") from None
