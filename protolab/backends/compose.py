"""The compose backend: labs run on the containers of docker-compose.yml.

The stack is brought up and down by the engine's own tool (`docker compose up
-d`, `docker-compose up -d`, `podman-compose up -d`); this backend attaches a
lab run to it, the same way on the host and inside the client container:

- It asks the lan-switch container, over the unix socket in the shared work
  directory (switch_init.py), for the stack: every node's network and mount
  namespaces and the switch's own, as descriptors (SCM_RIGHTS), and the
  topology the stack runs. No engine command and no shared PID namespace is
  needed, so it works alike with Docker (any Compose) and podman.
- Sockets (packet I/O, listeners, captures) are opened in-process in the
  node's network namespace, exactly as on the netns backend.
- Programs (`NodeHandle.run/popen`) run through `nsenter` into the node's
  network *and* mount namespaces: they are the container's own binaries
  (nft, nsd, unbound, ...) with the container's files, and they are children
  of this process, so the run ledger owns them by PID and `protolab clean`
  can stop them after a crash. (`docker exec` would cost ~0.1 s per call and
  leave the process to the engine.) The run's work directory is
  /run/protolab/work/<run>, bind-mounted at the same path in every container.
- Capture: in the switch's namespace, on the bridge ports, as on the netns
  backend: each frame once per link, with the port it came in on.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from ..capture.frames import CapturePoint
from ..confine import channel
from ..errors import BackendError
from ..topology import loads
from ..topology.model import Topology
from .base import NodeHandle
from .compose_file import WORK_DIR
from .compose_file import SWITCH_SOCKET as SOCKET
from .ledger import RunRecord, exclusive_lock, new_record
from .nsenter import entered
from .programs import NsenterDeployment
from .removal import destroy
from .wiring import plan_ports

READY_TIMEOUT = 15.0  # seconds for the nodes of a stack just brought up to be wired
UP_HINT = "bring it up in the project folder with 'docker compose up -d' (or docker-compose, podman-compose)"
MAX_NODES = 4096


# -- the stack, from the lan-switch ------------------------------------------------
@dataclass
class Stack:
    """The namespaces of a running stack, as descriptors this process holds."""

    topology_text: str
    switch_net: int
    nodes: dict[str, tuple[int, int]]  # node -> (net fd, mnt fd)
    missing: list[str]

    def path(self, fd: int) -> str:
        """A path to a descriptor of ours that a child process can open too."""
        return f"/proc/{os.getpid()}/fd/{fd}"

    def close(self) -> None:
        for fd in [self.switch_net, *(fd for pair in self.nodes.values() for fd in pair)]:
            try:
                os.close(fd)
            except OSError:
                pass
        self.nodes, self.switch_net = {}, -1


def find_stack(path: Path = SOCKET) -> Stack:
    """Ask the lan-switch for the running stack; the caller closes it."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    connection.settimeout(5.0)
    received: list[int] = []
    try:
        try:
            connection.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise BackendError(f"no protolab container stack is running (no lan-switch at {path}): {UP_HINT}") from None
        except PermissionError:
            raise BackendError(f"cannot reach the lan-switch at {path}: the compose backend needs root") from None
        channel.send(connection, {"op": "stack"})
        nodes: dict[str, tuple[int, int]] = {}
        while len(nodes) <= MAX_NODES:
            message, fds = channel.receive(connection)
            received += fds
            if message is None:
                raise BackendError("the lan-switch ended its answer early: see 'docker compose logs lan-switch'")
            if message.get("end") and len(fds) == 1:
                missing = [str(n) for n in message.get("missing", [])]
                return Stack(str(message.get("topology", "")), fds[0], nodes, missing)
            if len(fds) != 2 or not isinstance(message.get("node"), str):
                raise BackendError("the lan-switch sent an answer protolab does not understand (is the image current?)")
            nodes[message["node"]] = (fds[0], fds[1])
        raise BackendError("the lan-switch sent more nodes than a topology may have")
    except BaseException as exc:
        for fd in received:
            os.close(fd)
        if isinstance(exc, (OSError, channel.ChannelError)):
            raise BackendError(f"asking the lan-switch at {path} failed: {exc}") from None
        raise
    finally:
        connection.close()


# -- the deployment ----------------------------------------------------------
@dataclass
class ComposeDeployment(NsenterDeployment):
    run_id: str
    topology: Topology
    record: RunRecord
    stack: Stack
    lock_fd: int | None = None
    attached: bool = True  # the network was up before the run, and stays up after it

    def netns_of(self, name: str) -> str:
        return self.stack.path(self.stack.nodes[name][0])

    def mntns_of(self, name: str) -> str:
        return self.stack.path(self.stack.nodes[name][1])

    def work_root(self) -> Path:
        return Path(WORK_DIR)

    def capture_points(self) -> tuple[CapturePoint, ...]:
        return (CapturePoint(self.stack.path(self.stack.switch_net), plan_ports(self.topology)),)

    def nsenter(self, handle: NodeHandle, argv: Sequence[str]) -> list[str]:
        """The container's network and mount namespaces: its own binaries and files."""
        return ["nsenter", f"--net={self.netns_of(handle.name)}", f"--mount={self.mntns_of(handle.name)}", "--", *argv]

    def keep_up(self) -> None:
        raise BackendError(f"the compose backend does not bring networks up itself: {UP_HINT}")

    def teardown(self) -> None:
        """Stop this run's programs and remove its files; the containers stay up."""
        try:
            destroy(self.record)
        finally:
            self.stack.close()
            if self.lock_fd is not None:
                os.close(self.lock_fd)
                self.lock_fd = None


class ComposeBackend:
    name = "compose"

    def deploy(self, topology: Topology, *, source: str = "") -> ComposeDeployment:
        """Attach a run to the running stack (its topology, as the lan-switch says)."""
        if os.geteuid() != 0:
            raise BackendError("the compose backend needs root (it enters the containers' namespaces); run with sudo")
        stack, topology = wait_ready()
        try:
            lock_fd = _lock()
        except BaseException:
            stack.close()
            raise
        try:
            run_id = secrets.token_hex(3)
            record = new_record(run_id, self.name, source or "default", False)
        except BaseException:
            os.close(lock_fd)
            stack.close()
            raise
        return ComposeDeployment(run_id, topology, record, stack, lock_fd)

    def attach(self, record: RunRecord) -> ComposeDeployment:
        raise BackendError("a compose stack is not a 'protolab up' topology: use 'docker compose' to manage it")


def wait_ready(timeout: float = READY_TIMEOUT) -> tuple[Stack, Topology]:
    """The stack once every node is wired and has its addresses (a stack just brought up needs a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        stack = find_stack()
        try:
            topology = _stack_topology(stack)
            problem = _not_ready(stack, topology)
            if problem is None:
                return stack, topology
        except BaseException:
            stack.close()
            raise
        stack.close()
        if time.monotonic() > deadline:
            raise BackendError(problem)
        time.sleep(0.05)


def _stack_topology(stack: Stack) -> Topology:
    try:
        return loads(stack.topology_text, "the lan-switch's topology")
    except Exception as exc:  # noqa: BLE001 - TopologyError, or anything a foreign answer causes
        raise BackendError(f"the lan-switch runs a topology protolab cannot read: {exc}") from None


def _not_ready(stack: Stack, topology: Topology) -> str | None:
    """Why the stack is not ready yet, or None."""
    if stack.missing:
        return (f"node(s) {', '.join(stack.missing)} never registered with the lan-switch: see "
                f"'docker compose logs {stack.missing[0]}' (a lan-switch recreated after the nodes needs "
                "'docker compose up -d --force-recreate')")
    if set(stack.nodes) != {n.name for n in topology.nodes}:
        return "the lan-switch's nodes do not match its topology: recreate the stack"
    for node in topology.nodes:
        if not _has_addresses(stack.path(stack.nodes[node.name][0]), node):
            return f"node {node.name} has not set up its interfaces: see 'docker compose logs {node.name}'"
    return None


def _has_addresses(netns: str, node) -> bool:
    """Whether every interface of the node has its topology address (the node's side is set up)."""
    from pyroute2 import IPRoute

    try:
        with entered(netns):
            ipr = IPRoute()
    except OSError as exc:
        raise BackendError(f"cannot enter a node's network namespace ({exc.strerror or exc})") from None
    try:
        by_index = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        addresses = {
            (by_index.get(msg["index"]), IPv4Address(msg.get_attr("IFA_ADDRESS")))
            for msg in ipr.get_addr(family=socket.AF_INET)
        }
    finally:
        ipr.close()
    return all((iface.name, iface.ip) in addresses for iface in node.interfaces)


def _lock() -> int:
    """One lab run at a time on the stack: two would see each other's frames."""
    fd = exclusive_lock(Path(WORK_DIR) / "compose-stack.lock")
    if fd is None:
        raise BackendError("another lab run is using the container stack: try again when it has finished")
    return fd
