"""Consistency rules for a topology. Pure: runs without root or any I/O."""

from __future__ import annotations

import re
from collections import Counter

from ..errors import TopologyError
from .model import Topology

NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")  # short: names appear in netns and veth names
MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
ROUTED_ROLES = {"router"}


def validate(topology: Topology, source: str = "<topology>") -> None:
    """Raise TopologyError with a one-line reason for the first problem found."""

    def fail(message: str) -> None:
        raise TopologyError(f"{source}: {message}")

    if not topology.nodes:
        fail("no nodes")
    lan_names = {lan.name for lan in topology.lans}
    for kind, names in (("lan", [l.name for l in topology.lans]), ("node", [n.name for n in topology.nodes])):
        for name in names:
            if not NAME.fullmatch(name):
                fail(f"{kind} name {name!r} must be 1-12 lower-case letters/digits, starting with a letter")
    if "sw" in {n.name for n in topology.nodes}:
        fail("node name 'sw' is reserved: it names the lab's switch")
    for name, count in Counter(list(lan_names) + [n.name for n in topology.nodes]).items():
        if count > 1 and name in lan_names:
            fail(f"name {name!r} is used by both a lan and a node")
    pair = _overlap(topology.lans)
    if pair:
        a, b = pair
        fail(f"lans '{a.name}' ({a.subnet}) and '{b.name}' ({b.subnet}) overlap")

    seen_ip: dict[str, str] = {}
    seen_mac: dict[str, str] = {}
    for node in topology.nodes:
        if not node.interfaces:
            fail(f"node '{node.name}' has no interfaces")
        node_lans: set[str] = set()
        for iface in node.interfaces:
            where = f"node '{node.name}' {iface.name}"
            if iface.lan not in lan_names:
                fail(f"{where} is linked to unknown lan {iface.lan!r}")
            if iface.lan in node_lans:
                fail(f"{where}: node has two interfaces on lan '{iface.lan}'")
            node_lans.add(iface.lan)
            subnet = topology.lan(iface.lan).subnet
            if iface.ip not in subnet:
                fail(f"{where}: address {iface.ip} is outside lan '{iface.lan}' ({subnet})")
            if iface.ip in (subnet.network_address, subnet.broadcast_address):
                fail(f"{where}: address {iface.ip} is the network or broadcast address of {subnet}")
            if not MAC.fullmatch(iface.mac):
                fail(f"{where}: MAC {iface.mac!r} is not six colon-separated hex bytes")
            if int(iface.mac[:2], 16) & 1:
                fail(f"{where}: MAC {iface.mac} is a multicast address")
            if str(iface.ip) in seen_ip:
                fail(f"{where}: address {iface.ip} is already used by {seen_ip[str(iface.ip)]}")
            if iface.mac in seen_mac:
                fail(f"{where}: MAC {iface.mac} is already used by {seen_mac[iface.mac]}")
            seen_ip[str(iface.ip)] = where
            seen_mac[iface.mac] = where
        _check_gateway(topology, node.name, fail)
    for node in topology.nodes:
        for service in node.services:
            if service.port is None and service.kind == "tcp-listener":
                fail(f"node '{node.name}': a tcp-listener needs a port")


def _overlap(lans) -> tuple | None:
    """Two LANs whose subnets overlap (by name order), or None.

    Sorted by first address, a subnet overlaps an earlier one exactly when it
    starts at or before the furthest end seen so far: n log n, not n²."""
    reach = None  # the LAN ending furthest among those seen
    for lan in sorted(lans, key=lambda l: (int(l.subnet.network_address), l.subnet.prefixlen)):
        if reach is not None and int(lan.subnet.network_address) <= int(reach.subnet.broadcast_address):
            return tuple(sorted((reach, lan), key=lambda l: l.name))
        if reach is None or int(lan.subnet.broadcast_address) > int(reach.subnet.broadcast_address):
            reach = lan
    return None


def _check_gateway(topology: Topology, name: str, fail) -> None:
    node = topology.node(name)
    if node.gateway is None:
        reachable = {i.lan for i in node.interfaces}
        if node.role not in ROUTED_ROLES and not node.forwarding and len(reachable) < len(topology.lans):
            fail(
                f"node '{name}' has no gateway but lans "
                f"{', '.join(sorted({l.name for l in topology.lans} - reachable))} are only reachable through one"
            )
        return
    on_link = [i for i in node.interfaces if node.gateway in topology.lan(i.lan).subnet]
    if not on_link:
        fail(f"node '{name}': gateway {node.gateway} is on none of its lans")
    if node.gateway in {i.ip for i in node.interfaces}:
        fail(f"node '{name}': gateway {node.gateway} is the node's own address")
    owner = topology.node_by_ip(node.gateway)
    if owner is None:
        fail(f"node '{name}': gateway {node.gateway} belongs to no node")
    elif not owner.forwarding:
        fail(f"node '{name}': gateway {node.gateway} is node '{owner.name}', which does not forward")
