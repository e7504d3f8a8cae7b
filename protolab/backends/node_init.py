"""Inside a container: make the container the topology's node, then stay up.

`protolab node-init NODE` is every node container's command (docker-compose.yml).
The engine attached the container to its networks with the node's addresses;
this names the interfaces and sets the MACs as the topology does (eth0, eth1,
... in topology order, whatever order the engine attached them in), replaces
the engine's routes with the topology's default gateway, checks the sysctls
the compose file sets (IPv6 off, forwarding), writes a ready marker, and then
execs `sleep infinity`: the node's programs are started by lab runs.
"""

from __future__ import annotations

import os
import sys
from ipaddress import IPv4Address
from pathlib import Path

from ..errors import BackendError
from ..topology.model import Node
from .kernel_settings import node_sysctls, proc_path

READY_MARKER = Path("/run/protolab/node-ready")


def _read_sysctl(path: str) -> str:
    try:
        return Path(f"/proc/sys/{path}").read_text().strip()
    except OSError:
        return "?"


def check_sysctls(node: Node) -> list[str]:
    """What differs from the sysctls the node needs (set by the engine)."""
    wanted = {proc_path(name): value for name, value in node_sysctls(node).items()}
    return [f"{key} is {_read_sysctl(key)}, expected {value}" for key, value in wanted.items() if _read_sysctl(key) != value]


def configure_links(node: Node) -> None:
    """Rename the engine's interfaces to the topology's, set MACs, routes via the topology's gateway."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        by_ip: dict[IPv4Address, int] = {}
        for msg in ipr.get_addr(family=2):
            by_ip[IPv4Address(msg.get_attr("IFA_ADDRESS"))] = msg["index"]
        plan = []
        for iface in node.interfaces:
            if iface.ip not in by_ip:
                raise BackendError(f"node {node.name}: no interface has {iface.ip} (is the container on LAN {iface.lan}?)")
            plan.append((by_ip[iface.ip], iface))
        # two passes, so that swapping eth0 and eth1 never collides
        for index, _iface in plan:
            ipr.link("set", index=index, state="down")
            ipr.link("set", index=index, ifname=f"plab-tmp{index}")
        for index, iface in plan:
            ipr.link("set", index=index, ifname=iface.name, address=iface.mac)
            ipr.link("set", index=index, state="up")
        for route in ipr.get_routes(family=2, dst_len=0, table=254):
            ipr.route("del", dst="0.0.0.0/0", gateway=route.get_attr("RTA_GATEWAY"), oif=route.get_attr("RTA_OIF"))
        if node.gateway is not None:
            ipr.route("replace", dst="0.0.0.0/0", gateway=str(node.gateway))


def init_node(node: Node) -> None:
    """Set the node up, mark it ready, and become `sleep infinity`."""
    READY_MARKER.unlink(missing_ok=True)  # a restarted container is ready only once set up again
    problems = check_sysctls(node)
    if problems:
        raise BackendError(f"node {node.name}: {'; '.join(problems)} (the compose file sets these sysctls)")
    configure_links(node)
    READY_MARKER.parent.mkdir(parents=True, exist_ok=True)
    READY_MARKER.write_text(node.name + "\n")
    print(f"protolab: node {node.name} ready ({', '.join(f'{i.name} {i.ip}' for i in node.interfaces)})", flush=True)
    sys.stdout.flush()
    os.execvp("sleep", ["sleep", "infinity"])
