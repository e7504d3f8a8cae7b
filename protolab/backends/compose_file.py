"""docker-compose.yml from a topology: one container per node, and the lan-switch.

The file is generated (`protolab compose`), never edited by hand: a unit test
fails when the checked-in one differs from what the topology gives.

Design points (see also protolab/backends/compose.py and switch_init.py):
- No engine network: every container has `network_mode: none` (only lo).
  The lan-switch container holds one bridge per LAN and wires the nodes with
  veths, as the netns backend does. So nothing in the file can reach outside
  the lab, and no host firewall rule (Docker's isolation chains for internal
  networks drop routed traffic between them) or engine IPAM ever touches a
  lab frame; per-network options (`mac_address` needs Engine >= 25) are not
  needed either.
- One file for Docker Compose v2, Compose v1 and podman-compose: no top-level
  `name:` (v1 rejects it: container names are fixed instead), no `pid:`
  sharing (v1 and podman-compose spell it differently; the switch hands out
  the nodes' namespaces over a unix socket instead), no
  `security_opt: systempaths=unconfined` (v1 rejects it: the client remounts
  its /proc/sys read-write itself).
- Only the client, where protolab runs inside the stack, may enter namespaces
  (SYS_ADMIN, AppArmor unconfined): it is privileged in effect, as protolab
  is on the host (root). Nodes have NET_ADMIN and NET_RAW, the switch NET_ADMIN.
- sysctls turn IPv6 off and forwarding on where the topology says so (the
  switch too: its bridge ports must not speak IPv6 on the LANs).
- A run's files (service configurations) and the switch's socket are under
  /run/protolab/work, bind-mounted at the same path in every container, so a
  program started inside a node finds them whether protolab runs on the host
  or in the client container.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..topology.model import Node, Topology
from .kernel_settings import QUIET, node_sysctls

PROJECT = "protolab"
IMAGE = "protolab-lab:latest"
CONTAINER_PREFIX = "protolab-"
LABEL_NODE = "org.protolab.node"
LABEL_TOPOLOGY = "org.protolab.topology"
ENV_NODE = "PROTOLAB_NODE"
ENV_TOPOLOGY = "PROTOLAB_TOPOLOGY"
WORK_DIR = "/run/protolab/work"
SWITCH_SOCKET = Path(WORK_DIR) / "lan-switch.sock"  # where nodes register and runs ask (switch_init.py)
TOPOLOGY_IN_CONTAINER = "/etc/protolab/topology.toml"
RUNNER_NODE = "client"  # where protolab runs inside the stack
SWITCH_SERVICE = "lan-switch"  # never a node's name: those have no '-'
NODE_CAPS = ("NET_ADMIN", "NET_RAW")
RUNNER_CAPS = ("SYS_ADMIN",)  # setns into the other nodes' namespaces, mounts of the sandbox
SWITCH_CAPS = ("NET_ADMIN",)  # move veth peers into the nodes' namespaces


def container_name(service: str) -> str:
    return f"{CONTAINER_PREFIX}{service}"


def runner_node(topology: Topology) -> str:
    """The node where protolab runs inside the stack: the client if there is one, else the first node."""
    names = [n.name for n in topology.nodes]
    return RUNNER_NODE if RUNNER_NODE in names else names[0]


def compose_model(topology: Topology, source: str = "default") -> dict[str, Any]:
    """The compose file as plain data (dicts keep their order in the output).

    `source` is "default" for the packaged topology, else the topology file's
    path: it is bind-mounted into every container and named in a label."""
    owner = runner_node(topology)
    services = {SWITCH_SERVICE: _switch(topology, source)}
    services |= {node.name: _service(node, owner, source) for node in topology.nodes}
    # podman-compose would put the containers in a pod of their own: no use here, and slower
    return {"services": services, "x-podman": {"in_pod": False}}


def _common(service: str, command: list[str], sysctls: dict[str, str], source: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "image": IMAGE,
        "pull_policy": "never",  # built here (`build:` on the client), never pulled
        "container_name": container_name(service),
        "hostname": service,
        "command": command,
        "init": True,  # stops at once and reaps what lab runs leave
        "network_mode": "none",
        "sysctls": {name: int(value) for name, value in sysctls.items()},
        "stop_grace_period": "2s",
    }
    environment = {ENV_NODE: service}
    volumes = [f"${{PROTOLAB_WORK_DIR:-{WORK_DIR}}}:{WORK_DIR}"]
    if source != "default":
        environment[ENV_TOPOLOGY] = TOPOLOGY_IN_CONTAINER
        volumes.append(f"{source}:{TOPOLOGY_IN_CONTAINER}:ro")
    fields["environment"] = environment
    fields["volumes"] = volumes
    fields["labels"] = {LABEL_NODE: service, LABEL_TOPOLOGY: source}
    return fields


def _switch(topology: Topology, source: str) -> dict[str, Any]:
    service = _common(SWITCH_SERVICE, ["protolab-node", SWITCH_SERVICE], {**QUIET, "net.ipv4.ip_forward": "0"}, source)
    service["cap_add"] = list(SWITCH_CAPS)
    return service


def _service(node: Node, owner: str, source: str) -> dict[str, Any]:
    service = _common(node.name, ["protolab-node", node.name], node_sysctls(node), source)
    if node.name == owner:  # the one service that builds the image (the others only use it)
        del service["pull_policy"]
        service = {"build": ".", **service}
    service["depends_on"] = [SWITCH_SERVICE]  # registers with it (it would wait otherwise)
    service["cap_add"] = list(NODE_CAPS + (RUNNER_CAPS if node.name == owner else ()))
    if node.name == owner:
        # protolab runs here too: some labs run a tool with a resolv.conf of its
        # own, bind-mounted, and the students' sandbox mounts its root and
        # calls pivot_root (AppArmor's default container profile forbids
        # mounts; Docker's default seccomp profile refuses pivot_root). The
        # sandbox applies a seccomp filter of its own to the student's code.
        service["security_opt"] = ["apparmor=unconfined", "seccomp=unconfined"]
    return service


HEADER = """\
# Generated by `protolab compose` from the topology '{name}' ({source}).
# Do not edit: change the topology and run `protolab compose` again.
#
#   docker compose build && docker compose up -d    (or docker-compose, podman-compose)
#   protolab run handshake --backend compose         (on the host, as root)
#   docker compose exec client protolab run handshake
#   docker compose down
"""


def render(topology: Topology, source: str = "default") -> str:
    """The text of docker-compose.yml for a topology."""
    body = yaml.dump(compose_model(topology, source), Dumper=_Dumper, sort_keys=False, width=1 << 16,
                     allow_unicode=True, default_flow_style=False)
    return HEADER.format(name=topology.name, source=source) + "\n" + body


def write(path: Path, topology: Topology, source: str = "default") -> bool:
    """Write the compose file; True if its content changed."""
    text = render(topology, source)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


class _Dumper(yaml.SafeDumper):
    """Mappings as blocks, a list of plain values on one line (`cap_add: [NET_ADMIN, NET_RAW]`)."""

    def represent_list(self, data: list) -> yaml.Node:
        flat = not any(isinstance(item, (dict, list)) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _Dumper.represent_list)
