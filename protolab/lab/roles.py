"""The lab's roles on a capture from another network (`check --as client=10.99.0.1`).

A lab's expectation names nodes of its topology (client, web, ...) by their
addresses. A capture made elsewhere has other addresses: mapping a role onto
one of them gives the topology that node's address there, and the MAC that
the capture shows for it, so senders and receivers are named as in a lab run.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from typing import Callable, Iterable, Mapping, Sequence

from ..errors import LabError
from ..topology.model import Topology
from ..wire.decode import Decoded

MAX_GUESS_ADDRESSES = 6  # beyond this, guessing means thousands of readings: ask for --as
MAX_GUESS_FRAMES = 20_000


@dataclass(frozen=True)
class Reading:
    """Which capture address each mapped role has, and the MAC the capture shows for it."""

    addresses: Mapping[str, IPv4Address]
    macs: Mapping[str, str]

    def describe(self) -> str:
        return ", ".join(f"{role}={ip}" for role, ip in self.addresses.items())


def parse_roles(items: Sequence[str], topology: Topology) -> tuple[dict[str, IPv4Address], dict[str, str]]:
    """`("client=10.99.0.1", "lan1=eth0", ...)` → ({"client": 10.99.0.1}, {"eth0": "lan1"}):
    nodes at capture addresses, and the capture's interfaces that are the lab's links.
    LabError (one line) on anything else."""
    roles: dict[str, IPv4Address] = {}
    links: dict[str, str] = {}
    names = [n.name for n in topology.nodes]
    lans = [lan.name for lan in topology.lans]
    for item in items:
        role, sep, text = item.partition("=")
        role, text = role.strip(), text.strip()
        if not sep or not role or not text:
            raise LabError(f"--as takes NODE=ADDRESS or LINK=INTERFACE (e.g. client=10.99.0.1, lan1=eth0), got {item!r}")
        if role in lans:
            if text in links and links[text] != role:
                raise LabError(f"--as makes interface {text} both {links[text]} and {role}")
            links[text] = role
            continue
        if role not in names:
            raise LabError(f"--as {item}: the lab has no node or link '{role}' (nodes: {', '.join(names)}; links: {', '.join(lans)})")
        try:
            address = IPv4Address(text)
        except ValueError:
            raise LabError(f"--as {item}: {text!r} is not an IPv4 address") from None
        if role in roles and roles[role] != address:
            raise LabError(f"--as names {role} twice ({roles[role]} and {address})")
        if address in roles.values():
            raise LabError(f"--as gives {address} to two nodes")
        roles[role] = address
    return roles, links


def capture_addresses(decoded: Iterable[Decoded]) -> list[IPv4Address]:
    """The unicast IPv4 addresses the capture's frames come from or go to, in order of appearance."""
    texts: dict[str, None] = {}  # each address parsed once, however many frames carry it
    for d in decoded:
        for layer, fields in (("ip", ("src", "dst")), ("arp", ("psrc", "pdst"))):
            fields_of = d.layers.get(layer)
            if fields_of is not None:
                for name in fields:
                    texts.setdefault(fields_of[name], None)
    addresses = (IPv4Address(text) for text in texts)
    return [a for a in addresses
            if not (a.is_multicast or a.is_unspecified or a == IPv4Address("255.255.255.255"))]


def uses_lab_addresses(decoded: list[Decoded], topology: Topology) -> bool:
    """Whether the capture was made on the lab's own addresses (then no mapping is needed)."""
    lab = {i.ip for n in topology.nodes for i in n.interfaces}
    return any(a in lab for a in capture_addresses(decoded))


def learn_macs(decoded: list[Decoded], addresses: Mapping[str, IPv4Address]) -> dict[str, str]:
    """The MAC each mapped role sends from, where the capture shows it beyond doubt: the
    sender address of its ARP, or the one source MAC of its IP packets if that MAC
    sends for no other address (a router's MAC forwards for many)."""
    by_ip: dict[str, set[str]] = {}
    ips_of_mac: dict[str, set[str]] = {}
    arp: dict[str, str] = {}
    for d in decoded:
        mac = d.layers.get("eth", {}).get("src")
        if mac is None:
            continue
        if "arp" in d.layers:
            arp.setdefault(d.layers["arp"]["psrc"], d.layers["arp"]["hwsrc"])
        elif "ip" in d.layers:
            src = d.layers["ip"]["src"]
            by_ip.setdefault(src, set()).add(mac)
            ips_of_mac.setdefault(mac, set()).add(src)
    macs = {}
    for role, ip in addresses.items():
        if str(ip) in arp:
            macs[role] = arp[str(ip)]
            continue
        found = by_ip.get(str(ip), set())
        if len(found) == 1 and ips_of_mac[next(iter(found))] == {str(ip)}:
            macs[role] = next(iter(found))
    return macs


def remap(topology: Topology, reading: Reading) -> Topology:
    """The topology with each mapped role at its capture address and MAC (a role whose
    MAC the capture does not show gets none that any frame could carry)."""
    nodes = []
    for node in topology.nodes:
        if node.name not in reading.addresses:
            nodes.append(node)
            continue
        first = replace(node.interfaces[0], ip=reading.addresses[node.name],
                        mac=reading.macs.get(node.name, f"unknown mac of {node.name}"))
        nodes.append(replace(node, interfaces=(first, *node.interfaces[1:])))
    return replace(topology, nodes=tuple(nodes))


def guess_reading(decoded: list[Decoded], topology: Topology, roles: Sequence[str],
                  score: Callable[[Topology], tuple[int, ...]]) -> tuple[Reading, str]:
    """The one reading of the capture's addresses as the lab's `roles` under which the
    lab's steps fit best (`score` of the remapped topology, higher is better; the
    fewest roles among equals). LabError if no reading fits or several fit alike."""
    addresses = capture_addresses(decoded)
    if len(decoded) > MAX_GUESS_FRAMES or len(addresses) > MAX_GUESS_ADDRESSES:
        raise LabError(f"the capture's addresses ({_few(addresses)}) are not the lab's, and there are too many to guess "
                       f"which is which: say it with --as, e.g. --as {roles[0]}={addresses[0] if addresses else '10.0.0.1'}")
    best: list[tuple[tuple[int, ...], Reading]] = []
    for size in range(1, min(len(roles), len(addresses)) + 1):
        for chosen in itertools.combinations(roles, size):
            for picked in itertools.permutations(addresses, size):
                mapping = dict(zip(chosen, picked))
                reading = Reading(mapping, learn_macs(decoded, mapping))
                value = score(remap(topology, reading))
                if not best or value > best[0][0]:
                    best = [(value, reading)]
                elif value == best[0][0] and len(mapping) == len(best[0][1].addresses):
                    best.append((value, reading))
    if not best or not any(best[0][0]):
        raise LabError(f"none of the lab's steps fit the capture's addresses ({_few(addresses)}) whatever node they are: "
                       "is it a capture of this lab's exchange? Say which is which with --as NODE=ADDRESS")
    if len(best) > 1:
        options = " or ".join(r.describe() for _, r in best[:3])
        raise LabError(f"the capture can be read more than one way ({options}): say which with --as NODE=ADDRESS")
    reading = best[0][1]
    return reading, f"the capture's addresses are not the lab's; the only reading that fits is {reading.describe()} (override with --as)"


def _few(addresses: list[IPv4Address]) -> str:
    shown = ", ".join(str(a) for a in addresses[:4])
    return shown + (f" and {len(addresses) - 4} more" if len(addresses) > 4 else "") if addresses else "none"
