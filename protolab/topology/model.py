"""The topology as immutable data: LANs, nodes, interfaces and services.

Nothing here touches the system; a backend turns a Topology into a running lab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from types import MappingProxyType
from typing import Any, Mapping

DEFAULT_MTU = 1500  # Ethernet's

@dataclass(frozen=True)
class Lan:
    """A broadcast domain (one bridge) with its IPv4 subnet."""

    name: str
    subnet: IPv4Network
    description: str = ""
    mtu: int = DEFAULT_MTU  # of every interface on the LAN (both ends of each link)


@dataclass(frozen=True)
class Interface:
    """A node's attachment to a LAN."""

    name: str
    lan: str
    ip: IPv4Address
    mac: str

    def with_prefix(self, subnet: IPv4Network) -> IPv4Interface:
        return IPv4Interface(f"{self.ip}/{subnet.prefixlen}")


@dataclass(frozen=True)
class Service:
    """A real server a node runs (kernel listener, nginx, nsd, ...)."""

    kind: str
    port: int | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Node:
    """A host or router: one network namespace (or container)."""

    name: str
    role: str
    interfaces: tuple[Interface, ...]
    gateway: IPv4Address | None = None
    forwarding: bool = False
    services: tuple[Service, ...] = ()
    description: str = ""

    @property
    def ip(self) -> IPv4Address:
        """The node's first address: how labs name a host."""
        return self.interfaces[0].ip

    @property
    def mac(self) -> str:
        return self.interfaces[0].mac

    def interface_on(self, lan: str) -> Interface | None:
        return next((i for i in self.interfaces if i.lan == lan), None)


@dataclass(frozen=True)
class Topology:
    """The whole lab network. Validated on load (see validate.py)."""

    name: str = field(compare=False)  # equal topologies are the same network, whatever they are called
    lans: tuple[Lan, ...]
    nodes: tuple[Node, ...]
    description: str = field(default="", compare=False)
    source: str = field(default="", compare=False)  # where it was read from, for messages
    files_dir: str = field(default="", compare=False)  # the folder holding its zones/ (beside its file, or its base's)

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def lan(self, name: str) -> Lan:
        for lan in self.lans:
            if lan.name == name:
                return lan
        raise KeyError(name)

    def node_by_mac(self, mac: str) -> Node | None:
        mac = mac.lower()
        return next((n for n in self.nodes for i in n.interfaces if i.mac == mac), None)

    def node_by_ip(self, ip: str | IPv4Address) -> Node | None:
        ip = IPv4Address(ip)
        return next((n for n in self.nodes for i in n.interfaces if i.ip == ip), None)

    def members(self, lan: str) -> tuple[tuple[Node, Interface], ...]:
        """Every (node, interface) attached to a LAN, in file order."""
        return tuple((n, i) for n in self.nodes for i in n.interfaces if i.lan == lan)
