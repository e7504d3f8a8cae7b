"""What every backend's deployment does the same way: node handles, the run's
work directory, and programs run inside a node through nsenter(1).

A backend supplies where a node's network namespace is (`netns_of`), where the
run's files go (`work_root`) and which namespaces nsenter enters (`nsenter`).
Programs started here stay children of protolab and are recorded in the run's
ledger, so teardown and `protolab clean` stop them by PID.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Sequence

from ..errors import BackendError
from ..topology.model import Topology
from .base import NodeHandle
from .ledger import RunRecord


class NsenterDeployment:
    """Mixin for a deployment with `run_id`, `topology` and `record` attributes."""

    run_id: str
    topology: Topology
    record: RunRecord

    def netns_of(self, name: str) -> str:
        raise NotImplementedError

    def work_root(self) -> Path:
        raise NotImplementedError

    def nsenter(self, handle: NodeHandle, argv: Sequence[str]) -> list[str]:
        return ["nsenter", f"--net={handle.netns}", "--", *argv]

    def node(self, name: str) -> NodeHandle:
        try:
            node = self.topology.node(name)
        except KeyError:
            raise BackendError(f"topology '{self.topology.name}' has no node '{name}'") from None
        return NodeHandle(node, self.netns_of(name), self)

    @property
    def workdir(self) -> Path:
        """This run's own directory for generated configs and logs (recorded for clean-up)."""
        path = self.work_root() / self.run_id
        path.mkdir(parents=True, exist_ok=True)
        if self.record.workdir != str(path):
            self.record.workdir = str(path)
            self.record.save()
        return path

    def run(self, handle: NodeHandle, argv: Sequence[str], *, input: str | None = None, timeout: float = 10.0) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(self.nsenter(handle, argv), input=input, capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError as exc:
            raise BackendError(f"cannot run {argv[0]!r} in node {handle.name}: {exc.strerror}") from None
        except subprocess.TimeoutExpired:
            raise BackendError(f"{' '.join(argv)} in node {handle.name} did not finish within {timeout:g} s") from None

    def popen(self, handle: NodeHandle, argv: Sequence[str], *, what: str, **kwargs) -> subprocess.Popen:
        try:
            proc = subprocess.Popen(self.nsenter(handle, argv), start_new_session=True, **kwargs)
        except FileNotFoundError as exc:
            raise BackendError(f"cannot start {what} in node {handle.name}: {exc.strerror}") from None
        self.record.add_process(proc.pid, f"{what} in {handle.name}")
        return proc

    def release(self, proc: subprocess.Popen, timeout: float = 2.0) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.record.forget_process(proc.pid)
