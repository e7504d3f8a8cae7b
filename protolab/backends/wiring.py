"""The lab's links, the same on every backend: one bridge per LAN in a switch
namespace, one veth per node interface, created in the switch namespace with
its peer moved straight into the node.

Nothing is ever created in the root namespace, and no link leads out of the
lab. The netns backend wires namespaces it creates; on containers the
lan-switch container adds the ports and each node configures its side (see
switch_init.py), so the engine's own networks (bridges in the host, firewall
rules, IPAM) play no part.

Every node interface computes its own transmit checksums (offload.py): a
veth's offload would leave captures holding only pseudo-header sums.

Interface indices are chosen, not looked up: a fresh namespace has only lo (1),
so asking the kernel for fixed indices saves a netlink dump per node.
"""

from __future__ import annotations

from typing import Any

from ..capture.frames import Port
from ..topology.model import DEFAULT_MTU, Node, Topology
from .offload import disable_tx_checksum

BRIDGE_INDEX_BASE = 2
PORT_INDEX_BASE = 100
NODE_IFINDEX_BASE = 2  # eth0 in every node; eth1 is 3, ...


def port_name(node: str, index: int) -> str:
    return f"{node}-e{index}"


def bridge_name(lan: str) -> str:
    return f"br-{lan}"


def plan_ports(topology: Topology) -> dict[int, Port]:
    """The bridge ports of the switch namespace by ifindex (fixed by the plan)."""
    ports = {}
    pairs = [(node, k, iface) for node in topology.nodes for k, iface in enumerate(node.interfaces)]
    for j, (node, k, iface) in enumerate(pairs):
        ifindex = PORT_INDEX_BASE + j
        ports[ifindex] = Port(ifindex, port_name(node.name, k), iface.lan, node.name)
    return ports


def port_indices(topology: Topology) -> dict[tuple[str, str], int]:
    """(node, port name) → the port's ifindex in the switch namespace."""
    return {(p.node, p.ifname): i for i, p in plan_ports(topology).items()}


def add_bridges(sw: Any, topology: Topology) -> dict[str, int]:
    """One bridge per LAN in the switch namespace (`sw`: an IPRoute there); LAN → ifindex."""
    bridges = {}
    for i, lan in enumerate(topology.lans):
        bridges[lan.name] = BRIDGE_INDEX_BASE + i
        sw.link("add", index=bridges[lan.name], ifname=bridge_name(lan.name), kind="bridge", state="up")
    return bridges


def add_ports(sw: Any, node_netns_fd: int, node: Node, topology: Topology, bridges: dict[str, int]) -> None:
    """The switch side of a node: one veth per interface on its LAN's bridge,
    the peer moved into the node (by a descriptor of its network namespace)
    with the topology's name, index and MAC. The node must have no interface but lo."""
    indices = port_indices(topology)
    for k, iface in enumerate(node.interfaces):
        ifname = port_name(node.name, k)
        peer = {"ifname": iface.name, "index": NODE_IFINDEX_BASE + k, "address": iface.mac, "net_ns_fd": node_netns_fd}
        mtu = topology.lan(iface.lan).mtu
        sized = {} if mtu == DEFAULT_MTU else {"mtu": mtu}  # both ends: a veth drops what exceeds its peer's MTU
        sw.link(
            "add", index=indices[(node.name, ifname)], ifname=ifname, kind="veth",
            master=bridges[iface.lan], state="up", **sized, peer={**peer, **sized},
        )


def checksum_offload_off(node: Node) -> None:
    """Transmit checksum offload off on every interface of `node`, which must
    be the namespace of the calling thread; after add_ports, before the links
    come up, so that every frame a node sends carries its real checksums."""
    for iface in node.interfaces:
        disable_tx_checksum(iface.name)


def configure_node(node_ipr: Any, node: Node, topology: Topology) -> None:
    """The node side, after add_ports (`node_ipr`: an IPRoute in the node's
    namespace): lo and the interfaces up, the addresses, the default route."""
    node_ipr.link("set", index=1, state="up")  # lo
    for k, iface in enumerate(node.interfaces):
        prefix = topology.lan(iface.lan).subnet.prefixlen
        node_ipr.link("set", index=NODE_IFINDEX_BASE + k, state="up")
        node_ipr.addr("add", index=NODE_IFINDEX_BASE + k, address=str(iface.ip), prefixlen=prefix)
    if node.gateway is not None:
        node_ipr.route("add", dst="0.0.0.0/0", gateway=str(node.gateway))


def configure_commands(node: Node, topology: Topology) -> list[str]:
    """configure_node as `ip -batch` lines: what a node container runs on its
    side (iproute2 costs it ~5 ms; importing pyroute2 ~0.2 s of CPU, times
    every container starting at once)."""
    lines = ["link set dev lo up"]
    for iface in node.interfaces:
        prefix = topology.lan(iface.lan).subnet.prefixlen
        lines += [f"link set dev {iface.name} up", f"address add {iface.ip}/{prefix} dev {iface.name}"]
    if node.gateway is not None:
        lines.append(f"route add default via {node.gateway}")
    return lines


def unwire_node(sw: Any, node: Node, topology: Topology) -> None:
    """Remove a node's ports from the switch (its peers go with them), if they exist."""
    indices = port_indices(topology)
    present = {link["index"] for link in sw.get_links()}
    for k in range(len(node.interfaces)):
        index = indices[(node.name, port_name(node.name, k))]
        if index in present:
            sw.link("del", index=index)
