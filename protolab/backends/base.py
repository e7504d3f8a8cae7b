"""The backend seam: one small interface, one implementation per way of running nodes.

A `Backend` deploys a topology (or attaches to one that is up) and returns a
`Deployment`; everything a lab, a service or the CLI needs of a running network
goes through the Deployment and its `NodeHandle`s, never through a backend's
own attributes.
"""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

from ..capture.frames import CapturePoint
from ..topology.model import Node, Topology

if TYPE_CHECKING:
    from .ledger import RunRecord


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

    def call(self, argv: Sequence[str]) -> int:
        """Run a command inside the node on this terminal (stdin, stdout, stderr); its exit code."""
        return self.deployment.call(self, argv)


class Deployment(Protocol):
    """A topology brought up (or attached to) by a backend, for one run."""

    run_id: str
    topology: Topology
    record: RunRecord  # the run's ledger entry: what it owns, removed at teardown or by `clean`
    attached: bool  # the network was up before this run and stays up after it

    def node(self, name: str) -> NodeHandle: ...

    def capture_points(self) -> tuple[CapturePoint, ...]:
        """Where to capture so that every link of the topology is covered once."""
        ...

    @property
    def workdir(self) -> Path:
        """The run's own directory for generated configs and logs (removed at teardown)."""
        ...

    def run(self, handle: NodeHandle, argv: Sequence[str], *, input: str | None = None,
            timeout: float = 10.0) -> subprocess.CompletedProcess: ...

    def popen(self, handle: NodeHandle, argv: Sequence[str], *, what: str, **kwargs) -> subprocess.Popen: ...

    def call(self, handle: NodeHandle, argv: Sequence[str]) -> int: ...

    def release(self, proc: subprocess.Popen, timeout: float = 2.0) -> None:
        """Stop a program started with popen (by PID) and wait for it."""
        ...

    def keep_up(self) -> None:
        """Leave the network up after this process ends (`protolab up`), until `protolab down`."""
        ...

    def teardown(self) -> None: ...


class Backend(Protocol):
    """A way of running nodes: deploy a topology for a run, or attach to one that is up."""

    name: str

    def deploy(self, topology: Topology, *, source: str = "") -> Deployment: ...

    def attach(self, record: RunRecord) -> Deployment: ...
