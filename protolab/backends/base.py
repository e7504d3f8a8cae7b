"""The backend seam: one small interface, one implementation per way of running nodes."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from typing import Protocol, Sequence

from ..capture.frames import CapturePoint
from ..topology.model import Node, Topology


@dataclass(frozen=True)
class NodeHandle:
    """A running node: where to open its sockets and run its programs.

    `netns` is a path to a network namespace file (/run/netns/..., or
    /proc/PID/ns/net of a container), entered with setns(2) by the owning thread.
    """

    node: Node
    netns: str
    deployment: "Deployment"

    @property
    def name(self) -> str:
        return self.node.name

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A socket created inside this node's namespace (it stays there)."""
        from .nsenter import entered

        with entered(self.netns):
            return socket.socket(family, kind, proto)

    def run(self, argv: Sequence[str], *, input: str | None = None, timeout: float = 10.0) -> subprocess.CompletedProcess:
        """Run a short command inside the node and wait for it."""
        return self.deployment.run(self, argv, input=input, timeout=timeout)

    def popen(self, argv: Sequence[str], *, what: str, **kwargs) -> subprocess.Popen:
        """Start a long-running program inside the node, owned by this run."""
        return self.deployment.popen(self, argv, what=what, **kwargs)


class Deployment(Protocol):
    """A topology brought up by a backend."""

    run_id: str
    topology: Topology

    def node(self, name: str) -> NodeHandle: ...

    def capture_points(self) -> tuple[CapturePoint, ...]:
        """Where to capture so that every link of the topology is covered once."""
        ...

    def run(self, handle: NodeHandle, argv: Sequence[str], *, input: str | None, timeout: float) -> subprocess.CompletedProcess: ...

    def popen(self, handle: NodeHandle, argv: Sequence[str], *, what: str, **kwargs) -> subprocess.Popen: ...

    def release(self, proc: subprocess.Popen, timeout: float = 2.0) -> None:
        """Stop a program started with popen (by PID) and wait for it."""
        ...

    def teardown(self) -> None: ...


class Backend(Protocol):
    name: str

    def deploy(self, topology: Topology, *, persistent: bool = False) -> Deployment: ...

    def attach(self, run_id: str) -> Deployment: ...
