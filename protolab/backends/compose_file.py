"""docker-compose.yml from a topology: one container per node, one internal network per LAN.

The file is generated (`protolab compose`), never edited by hand: a unit test
fails when the checked-in one differs from what the topology gives.

Design points (see also protolab/backends/compose.py):
- Every LAN is a network with `internal: true` (no route or NAT to the
  outside). Its engine gateway is an address no node uses (the highest free
  one, .254 in a /24): podman reserves a network's gateway address and
  refuses to give it to a container, and the default gateway would be .1,
  which is the topology's router. On internal networks podman puts no
  address on the host's bridge; Docker puts the gateway address there.
- Nodes route through the topology's router, not the engine: `protolab
  node-init` (each container's command) sets the default route, the names and
  MACs of the interfaces; sysctls turn IPv6 off and forwarding on where the
  topology says so (/proc/sys is read-only inside a container).
- All nodes share the client's PID namespace, and the client may enter
  namespaces (SYS_ADMIN) and write sysctls (/proc/sys not read-only): that
  is what lets `protolab run` work from inside the client container, which
  is therefore privileged in effect, as protolab is on the host (root). Only the client, whose init is PID 1 of that
  namespace, has `init: true` (podman refuses an init in a shared PID
  namespace); the others' main process is not PID 1, so SIGTERM stops it
  at once and the client's init reaps their orphans.
- A run's files (service configurations) are written under
  /run/protolab/work, bind-mounted at the same path in every container, so a
  program started inside a node finds them whether protolab runs on the host
  or in the client container.
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from ..topology.model import Lan, Node, Topology
from .kernel_settings import node_sysctls

PROJECT = "protolab"
IMAGE = "protolab-lab:latest"
CONTAINER_PREFIX = "protolab-"
LABEL_NODE = "org.protolab.node"
LABEL_TOPOLOGY = "org.protolab.topology"
ENV_NODE = "PROTOLAB_NODE"
ENV_TOPOLOGY = "PROTOLAB_TOPOLOGY"
WORK_DIR = "/run/protolab/work"
TOPOLOGY_IN_CONTAINER = "/etc/protolab/topology.toml"
PID_OWNER = "client"  # whose PID namespace every node shares (protolab runs there)
NODE_CAPS = ("NET_ADMIN", "NET_RAW")
PID_OWNER_CAPS = ("SYS_ADMIN",)  # setns into the other nodes' namespaces
DEFAULT_FILE = "docker-compose.yml"


def container_name(node: str) -> str:
    return f"{CONTAINER_PREFIX}{node}"


def engine_gateway(lan: Lan, topology: Topology) -> IPv4Address:
    """The address the engine may claim on a LAN: the highest host address no node uses.

    Counted down from the top, never by listing the subnet's hosts (a /8 has
    16 million): at most one step per member of the LAN, plus one."""
    used = {int(iface.ip) for _node, iface in topology.members(lan.name)}
    subnet = lan.subnet
    first, last = int(subnet.network_address), int(subnet.broadcast_address)
    if subnet.prefixlen < 31:  # as subnet.hosts(): not the network and broadcast addresses
        first, last = first + 1, last - 1
    address = last
    while address >= first and address in used:
        address -= 1
    if address < first:
        raise ValueError(f"LAN {lan.name} has no free address for the container engine's gateway")
    return IPv4Address(address)


def pid_owner(topology: Topology) -> str:
    """The node whose PID namespace the others join: the client if there is one, else the first node."""
    names = [n.name for n in topology.nodes]
    return PID_OWNER if PID_OWNER in names else names[0]


def compose_model(topology: Topology, source: str = "default") -> dict[str, Any]:
    """The compose file as plain data (dicts keep their order in the output).

    `source` is "default" for the packaged topology, else the topology file's
    path: it is bind-mounted into every container and named in a label."""
    owner = pid_owner(topology)
    services = {node.name: _service(node, topology, owner, source) for node in topology.nodes}
    networks = {
        lan.name: {
            "internal": True,
            "ipam": {"config": [{"subnet": str(lan.subnet), "gateway": str(engine_gateway(lan, topology))}]},
        }
        for lan in topology.lans
    }
    # podman-compose would put the containers in a pod of their own: no use here, and slower
    return {"name": PROJECT, "services": services, "networks": networks, "x-podman": {"in_pod": False}}


def _service(node: Node, topology: Topology, owner: str, source: str) -> dict[str, Any]:
    service: dict[str, Any] = {"image": IMAGE}
    if node.name == owner:
        service["build"] = "."
    else:
        service["pull_policy"] = "never"  # the image is the one built for the client
    service |= {
        "container_name": container_name(node.name),
        "hostname": node.name,
        "command": ["protolab", "node-init", node.name],
    }
    if node.name == owner:
        service["init"] = True
    else:
        service["pid"] = f"container:{container_name(owner)}"
        service["depends_on"] = [owner]
    service["cap_add"] = list(NODE_CAPS + (PID_OWNER_CAPS if node.name == owner else ()))
    service["sysctls"] = {name: int(value) for name, value in node_sysctls(node).items()}
    if node.name == owner:
        # protolab runs here too: labs write the other nodes' sysctls through
        # /proc/sys (read-only in a container by default), and some run a tool
        # with a resolv.conf of its own, bind-mounted (AppArmor's default
        # container profile, where there is one, forbids mounts)
        service["security_opt"] = ["systempaths=unconfined", "apparmor=unconfined"]
    service["stop_grace_period"] = "2s"
    environment = {ENV_NODE: node.name}
    volumes = [f"${{PROTOLAB_WORK_DIR:-{WORK_DIR}}}:{WORK_DIR}"]
    if source != "default":
        environment[ENV_TOPOLOGY] = TOPOLOGY_IN_CONTAINER
        volumes.append(f"{source}:{TOPOLOGY_IN_CONTAINER}:ro")
    service["environment"] = environment
    service["volumes"] = volumes
    service["labels"] = {LABEL_NODE: node.name, LABEL_TOPOLOGY: source}
    service["networks"] = {
        iface.lan: {"ipv4_address": str(iface.ip), "mac_address": iface.mac} for iface in node.interfaces
    }
    return service


HEADER = """\
# Generated by `protolab compose` from the topology '{name}' ({source}).
# Do not edit: change the topology and run `protolab compose` again.
#
#   docker compose build && docker compose up -d    (or podman-compose)
#   protolab run handshake --backend compose         (on the host, as root)
#   docker compose exec client protolab run handshake
#   docker compose down
"""


def render(topology: Topology, source: str = "default") -> str:
    """The text of docker-compose.yml for a topology."""
    body = "\n".join(_yaml(compose_model(topology, source), 0))
    return HEADER.format(name=topology.name, source=source) + "\n" + body + "\n"


def write(path: Path, topology: Topology, source: str = "default") -> bool:
    """Write the compose file; True if its content changed."""
    text = render(topology, source)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


# -- a small YAML writer: mappings, lists and scalars, in a fixed style ------
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)  # a JSON string is a valid double-quoted YAML scalar


def _yaml(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _is_block(item):
                lines.append(f"{pad}{_scalar(key)}:")
                lines += _yaml(item, indent + 1)
            else:
                lines.append(f"{pad}{_scalar(key)}: {_inline(item)}")
        return lines
    for item in value:  # a list of mappings
        sub = _yaml(item, indent + 1)
        lines.append(f"{pad}- {sub[0].lstrip()}")
        lines += sub[1:]
    return lines


def _is_block(value: Any) -> bool:
    """A non-empty mapping, or a list holding mappings: written on lines of their own."""
    if isinstance(value, dict):
        return bool(value)
    return isinstance(value, list) and any(isinstance(x, (dict, list)) for x in value)


def _inline(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(x) for x in value) + "]"
    if isinstance(value, dict):
        return "{}"
    return _scalar(value)
