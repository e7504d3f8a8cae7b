"""What every backend's deployment does the same way: node handles, the run's
work directory, and programs run inside a node through nsenter(1).

A backend supplies where a node's network namespace is (`netns_of`), where the
run's files go (`work_root`) and which namespaces nsenter enters (`nsenter`).
Programs started here stay children of protolab and are recorded in the run's
ledger, so teardown and `protolab clean` stop them by PID.

A program is in the ledger *before it runs*. Popen returns only after the
child has been forked, and protolab may be killed (SIGKILL, or a Ctrl-C that
interrupts between two lines) before it records the PID: a program started
directly would then run on, owned by nobody. So each program is started
behind a gate: a tiny bash wrapper that waits for one line on a pipe, then
execs nsenter, which execs the program (the PID never changes, nor its start
time). protolab writes that line only after the PID is in the ledger. If
protolab dies first, its end of the pipe closes, the wrapper reads end of
file and exits without running anything; no other process holds that end
(it is close-on-exec, and Popen closes every other fd in the child). So at
any instant every running program is recorded; an entry may name a gate that
ended by itself, which teardown and `clean` skip (its PID is gone, or a
zombie). The gate costs ~2 ms per program.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Sequence

from ..errors import BackendError
from ..topology.model import Topology
from .base import NodeHandle
from .ledger import RunRecord

# bash, not sh: dash cannot close a descriptor above 9. -p: ignore BASH_ENV,
# SHELLOPTS and functions from the environment (the program gets it unchanged).
GATE = 'gate=$1; shift; read -r -u "$gate" _ || exit 125; exec {gate}<&-; exec "$@"'
GATE_OPEN = b"go\n"


class NsenterDeployment:
    """Mixin for a deployment with `run_id`, `topology` and `record` attributes."""

    run_id: str
    topology: Topology
    record: RunRecord
    attached: bool = False

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

    def call(self, handle: NodeHandle, argv: Sequence[str]) -> int:
        """Run a command in a node on this process's terminal and wait for it; its exit code."""
        try:
            return subprocess.call(self.nsenter(handle, argv))
        except FileNotFoundError as exc:
            raise BackendError(f"cannot run {argv[0]!r} in node {handle.name}: {exc.strerror}") from None

    def popen(self, handle: NodeHandle, argv: Sequence[str], *, what: str, **kwargs) -> subprocess.Popen:
        """Start a program in a node, recorded in the ledger before it can run (see above)."""
        command = self.nsenter(handle, argv)
        env = kwargs.get("env")
        if shutil.which(command[0], path=(env if env is not None else os.environ).get("PATH", os.defpath)) is None:
            raise BackendError(f"cannot start {what} in node {handle.name}: {command[0]} is not installed")
        bash = shutil.which("bash")
        if bash is None:
            raise BackendError(f"cannot start {what} in node {handle.name}: bash is not installed")
        gate_out, gate_in = os.pipe()
        proc = None
        try:
            pass_fds = (*kwargs.pop("pass_fds", ()), gate_out)
            proc = subprocess.Popen(
                [bash, "-p", "-c", GATE, "gate", str(gate_out), *command],
                start_new_session=True, pass_fds=pass_fds, **kwargs,
            )
            self.record.add_process(proc.pid, f"{what} in {handle.name}")
            os.write(gate_in, GATE_OPEN)  # recorded: now it may run
        except BaseException:
            os.close(gate_in)
            gate_in = -1
            if proc is not None:  # at the gate it ends at once (end of file) without running the program
                try:
                    proc.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass  # let through just before the exception: it is recorded, teardown stops it
            raise
        finally:
            os.close(gate_out)
            if gate_in >= 0:
                os.close(gate_in)
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
