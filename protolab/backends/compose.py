"""The compose backend: labs run on the node containers of docker-compose.yml.

The stack is brought up and down by the engine's own tool (`docker compose up
-d`, `podman-compose up -d`); this backend attaches a lab run to it:

- A node's namespace is its container's: /proc/<container pid>/ns/net. On the
  host the PIDs come from `podman inspect` / `docker inspect` (containers
  labelled org.protolab.node). Inside a node container (PROTOLAB_NODE is set)
  they come from /proc: every node shares the client container's PID
  namespace, and the client may enter namespaces, so `protolab run` works
  from inside the client container too.
- Sockets (packet I/O, listeners, captures) are opened in-process in the
  node's network namespace, exactly as on the netns backend.
- Programs (`NodeHandle.run/popen`) run through `nsenter` into the node's
  network *and* mount namespaces: they are the container's own binaries
  (nft, nsd, unbound, ...) with the container's files, and they are children
  of this process, so the run ledger owns them by PID and `protolab clean`
  can stop them after a crash. (`podman exec` would cost ~0.1 s per call and
  leave the process to the engine.) The run's work directory is
  /run/protolab/work/<run>, bind-mounted at the same path in every container.
- Capture: on each node's own interfaces, keeping the frames the node sends
  (egress), so each frame is recorded once per link, sent by its node; there
  is no switch namespace to capture in.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from ..capture.frames import CapturePoint, Port
from ..errors import BackendError
from ..topology import load
from ..topology.model import Topology
from .base import NodeHandle
from .compose_file import ENV_NODE, ENV_TOPOLOGY, LABEL_NODE, LABEL_TOPOLOGY, WORK_DIR
from .ledger import RunRecord, new_record
from .netns import destroy
from .nsenter import entered
from .programs import NsenterDeployment

ENGINES = ("podman", "docker")
READY_FILE = "run/protolab/node-ready"  # written by `protolab node-init`, relative to the container's root
READY_TIMEOUT = 15.0
UP_HINT = "bring it up in the project folder with 'docker compose up -d' or 'podman-compose up -d'"


@dataclass(frozen=True)
class NodeContainer:
    node: str
    pid: int  # in the PID namespace protolab runs in
    topology: str  # "default" or the topology file the stack was generated from


def inside_node() -> str | None:
    """The node this process runs in, if it runs in a lab container."""
    return os.environ.get(ENV_NODE) or None


# -- finding the stack ------------------------------------------------------
def find_stack() -> dict[str, NodeContainer]:
    """The running node containers, by node name."""
    return _from_proc() if inside_node() else _from_engine()


def _engines() -> list[str]:
    chosen = os.environ.get("PROTOLAB_ENGINE")
    return [chosen] if chosen else [e for e in ENGINES if shutil.which(e)]


def _from_engine() -> dict[str, NodeContainer]:
    engines = _engines()
    if not engines:
        raise BackendError(f"neither podman nor docker is installed: no container stack can be running ({UP_HINT})")
    problems, answered = [], False
    for engine in engines:
        try:
            ids = _engine(engine, "ps", "-q", "--filter", f"label={LABEL_NODE}").split()
            answered = True
            if not ids:
                continue
            described = json.loads(_engine(engine, "inspect", *ids))
        except BackendError as exc:
            problems.append(str(exc))
            continue
        stack = {}
        for item in described:
            labels = (item.get("Config") or {}).get("Labels") or {}
            pid = (item.get("State") or {}).get("Pid") or 0
            if labels.get(LABEL_NODE) and pid > 0:
                stack[labels[LABEL_NODE]] = NodeContainer(labels[LABEL_NODE], int(pid), labels.get(LABEL_TOPOLOGY, "default"))
        if stack:
            return stack
    why = f" ({problems[0]})" if problems and not answered else ""
    raise BackendError(f"no protolab container stack is running{why}: {UP_HINT}")


def _engine(engine: str, *args: str) -> str:
    try:
        done = subprocess.run([engine, *args], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendError(f"{engine} {args[0]} failed: {exc}") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        raise BackendError(f"{engine} {args[0]}: {lines[-1]}")
    return done.stdout


def _from_proc() -> dict[str, NodeContainer]:
    """Inside a node container: every process whose environment names a node."""
    key = ENV_NODE.encode() + b"="
    stack: dict[str, NodeContainer] = {}
    topology = os.environ.get(ENV_TOPOLOGY, "default")
    for entry in sorted(Path("/proc").glob("[0-9]*"), key=lambda p: int(p.name)):
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for var in environ.split(b"\0"):
            if var.startswith(key):
                name = var[len(key):].decode(errors="replace")
                stack.setdefault(name, NodeContainer(name, int(entry.name), topology))
                break
    return stack


# -- the deployment ----------------------------------------------------------
@dataclass
class ComposeDeployment(NsenterDeployment):
    run_id: str
    topology: Topology
    record: RunRecord
    pids: dict[str, int]
    interfaces: dict[str, dict[str, int]] = field(default_factory=dict)  # node -> ifname -> ifindex
    lock_fd: int | None = None
    attached: bool = True  # the network was up before the run, and stays up after it

    def netns_of(self, name: str) -> str:
        return f"/proc/{self.pids[name]}/ns/net"

    def work_root(self) -> Path:
        return Path(WORK_DIR)

    def capture_points(self) -> tuple[CapturePoint, ...]:
        points = []
        for node in self.topology.nodes:
            ports = {
                self.interfaces[node.name][iface.name]: Port(self.interfaces[node.name][iface.name], iface.name, iface.lan, node.name)
                for iface in node.interfaces
            }
            points.append(CapturePoint(f"/proc/{self.pids[node.name]}/ns/net", ports, egress=True))
        return tuple(points)

    def nsenter(self, handle: NodeHandle, argv: Sequence[str]) -> list[str]:
        """The container's network and mount namespaces: its own binaries and files."""
        pid = self.pids[handle.name]
        return ["nsenter", f"--net=/proc/{pid}/ns/net", f"--mount=/proc/{pid}/ns/mnt", "--", *argv]

    def teardown(self) -> None:
        """Stop this run's programs and remove its files; the containers stay up."""
        try:
            destroy(self.record)
        finally:
            if self.lock_fd is not None:
                os.close(self.lock_fd)
                self.lock_fd = None


class ComposeBackend:
    name = "compose"

    def deploy(self, topology: Topology, *, persistent: bool = False, source: str = "") -> ComposeDeployment:
        """Attach a run to the running stack (it must have been built from `topology`)."""
        if persistent:
            raise BackendError(f"the compose backend does not bring networks up itself: {UP_HINT}")
        if os.geteuid() != 0:
            raise BackendError("the compose backend needs root (it enters the containers' namespaces); run with sudo")
        stack = find_stack()
        topology = _stack_topology(stack, topology)
        pids = _node_pids(stack, topology)
        wait_ready(pids)
        interfaces = _check_interfaces(topology, pids)
        lock_fd = _lock()
        try:
            run_id = secrets.token_hex(3)
            record = new_record(run_id, self.name, source or next(iter(stack.values())).topology, False)
        except BaseException:
            os.close(lock_fd)
            raise
        return ComposeDeployment(run_id, topology, record, pids, interfaces, lock_fd)

    def attach(self, record: RunRecord) -> ComposeDeployment:
        raise BackendError("a compose stack is not a 'protolab up' topology: use 'docker compose' to manage it")


def _stack_topology(stack: dict[str, NodeContainer], expected: Topology) -> Topology:
    sources = {c.topology for c in stack.values()}
    if len(sources) != 1:
        raise BackendError(f"the running containers come from different topologies ({', '.join(sorted(sources))})")
    source = sources.pop()
    if source == "default":
        return expected
    if not inside_node():
        return load(source)
    return load(os.environ.get(ENV_TOPOLOGY) or None)


def _node_pids(stack: dict[str, NodeContainer], topology: Topology) -> dict[str, int]:
    missing = [n.name for n in topology.nodes if n.name not in stack]
    if missing:
        where = "visible from this container" if inside_node() else "running"
        hint = (
            "every node must share the client's PID namespace (see docker-compose.yml)"
            if inside_node() else f"regenerate the stack with 'protolab compose' and {UP_HINT}"
        )
        raise BackendError(f"no container for node(s) {', '.join(missing)} is {where}: {hint}")
    return {n.name: stack[n.name].pid for n in topology.nodes}


def wait_ready(pids: dict[str, int]) -> None:
    """Wait until every container's node-init has set the node up."""
    deadline = time.monotonic() + READY_TIMEOUT
    for node, pid in pids.items():
        marker = Path(f"/proc/{pid}/root") / READY_FILE
        while True:
            try:
                if marker.is_file():
                    break
            except PermissionError:
                raise BackendError(
                    f"cannot look into node {node}'s container (pid {pid}): protolab needs root on the host, "
                    "or SYS_ADMIN in the client container"
                ) from None
            if time.monotonic() > deadline:
                raise BackendError(f"node {node} is not set up (see 'docker compose logs {node}')")
            time.sleep(0.05)


def _check_interfaces(topology: Topology, pids: dict[str, int]) -> dict[str, dict[str, int]]:
    """Each node's interfaces by name, after checking their addresses against the topology."""
    from pyroute2 import IPRoute

    found: dict[str, dict[str, int]] = {}
    for node in topology.nodes:
        netns = f"/proc/{pids[node.name]}/ns/net"
        try:
            with entered(netns):
                ipr = IPRoute()
        except OSError as exc:
            raise BackendError(f"cannot enter node {node.name}'s network namespace ({exc.strerror or exc})") from None
        try:
            names = {link.get_attr("IFLA_IFNAME"): link["index"] for link in ipr.get_links()}
            by_index = {index: name for name, index in names.items()}
            addresses = {
                (by_index.get(msg["index"]), IPv4Address(msg.get_attr("IFA_ADDRESS")))
                for msg in ipr.get_addr(family=socket.AF_INET)
            }
        finally:
            ipr.close()
        for iface in node.interfaces:
            if (iface.name, iface.ip) not in addresses:
                raise BackendError(
                    f"node {node.name} has no {iface.name} with {iface.ip}: the stack does not match the topology "
                    "(run 'protolab compose', rebuild the image and restart the stack)"
                )
        found[node.name] = {iface.name: names[iface.name] for iface in node.interfaces}
    return found


def _lock() -> int:
    """One lab run at a time on the stack: two would see each other's frames."""
    Path(WORK_DIR).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(WORK_DIR) / "compose-stack.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise BackendError("another lab run is using the container stack: try again when it has finished") from None
    return fd
