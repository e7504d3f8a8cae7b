"""A program running inside a node for the length of a `with` block.

The program is started with NodeHandle.popen (so the run ledger records it
before it can run, and `protolab clean` can stop it after a crash, even a
kill in the middle of its start; see backends/programs.py), probed until it
answers, and
stopped and waited for when the block ends, whatever ends it (Ctrl-C too).
Several programs can be started together: all are launched first, then each is
waited for, so their start-up times overlap.

A program that forks (NSD runs as three processes) is stopped as a whole:
every process it had forked by the time it was ready is recorded in the ledger
too, and after the program itself has stopped each is waited for (SIGTERM,
then SIGKILL if it lingers).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from ..backends.base import NodeHandle
from ..backends.ledger import process_start_time
from ..backends.pids import descendants, stop_process
from ..errors import BackendError

PROBE_INTERVAL = 0.003  # seconds between readiness probes
PR_SET_CHILD_SUBREAPER = 36
STOP_GRACE = 2.0  # seconds a forked process gets to exit after SIGTERM


class ServiceError(BackendError):
    """A service could not be configured, started or reached."""


class NodeProgram:
    """`with NodeProgram(node, argv, what=..., log=..., probe=...):` — the program runs inside."""

    def __init__(
        self,
        node: NodeHandle,
        argv: Sequence[str],
        *,
        what: str,
        log: Path,
        probe: Callable[[], bool],
        ready_timeout: float = 3.0,
        close: Callable[[], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.node = node
        self.argv = tuple(argv)
        self.what = what
        self.log = log
        self.probe = probe  # True once the program answers; called repeatedly
        self.ready_timeout = ready_timeout
        self._close = close  # releases what the probe holds (its socket)
        self.env = dict(env) if env is not None else None
        self.proc: subprocess.Popen | None = None
        self.forked: list[tuple[int, int]] = []  # (pid, start time) of the processes it forked
        self.ready_after: float | None = None  # seconds from start to the first good probe

    def __repr__(self) -> str:
        state = "not started" if self.proc is None else f"pid {self.proc.pid}"
        return f"<{self.what} in {self.node.name}: {state}>"

    def start(self) -> None:
        """Launch the program (does not wait for it)."""
        _become_subreaper()
        with open(self.log, "wb") as out:
            self.proc = self.node.popen(
                self.argv, what=self.what, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        self._started = time.monotonic()

    def wait_ready(self) -> None:
        """Probe until the program answers; raise ServiceError if it dies or stays silent."""
        assert self.proc is not None, "start() first"
        deadline = self._started + self.ready_timeout
        while True:
            self._record_forked()  # also while starting: a program that dies at start may leave children
            if self.proc.poll() is not None:
                raise ServiceError(f"{self.what} in node {self.node.name} exited at start ({self._last_log_line()})")
            if self.probe():
                self.ready_after = time.monotonic() - self._started
                self._record_forked()
                return
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.what} in node {self.node.name} was not ready within {self.ready_timeout:g} s ({self._last_log_line()})"
                )
            time.sleep(PROBE_INTERVAL)

    def ask_to_stop(self) -> None:
        """SIGTERM without waiting (stop() then waits): lets several programs stop at once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """Stop the program (SIGTERM, then SIGKILL) and wait for it; safe to call twice."""
        if self._close is not None:
            self._close()
            self._close = None
        if self.proc is not None:
            self.node.deployment.release(self.proc)  # SIGTERM: the program stops what it forked
            self.proc = None
        record = self.node.deployment.record
        for pid, start in self.forked:
            stop_process(pid, start, grace=STOP_GRACE, term_after=STOP_GRACE / 4)  # it follows its parent out
            record.forget_process(pid)
        self.forked = []

    def _record_forked(self) -> None:
        """Put the processes the program forked into the run ledger (by PID and start time), once each."""
        record = self.node.deployment.record
        known = {pid for pid, _ in self.forked}
        for pid in descendants(self.proc.pid):
            start = process_start_time(pid)
            if start is not None and pid not in known:
                self.forked.append((pid, start))
                record.add_process(pid, f"{self.what} (forked) in {self.node.name}")

    def __enter__(self) -> NodeProgram:
        start_together([self])
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _last_log_line(self) -> str:
        try:
            lines = [line.strip() for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            lines = []
        return lines[-1] if lines else f"exit code {self.proc.returncode if self.proc else '?'}, no output"


def _become_subreaper() -> None:
    """Have the processes our programs fork re-parented to us when their parent
    exits (not to PID 1, which in a container or sandbox may never reap them),
    so that stopping a program can reap every one of them."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def start_together(programs: Iterable[NodeProgram]) -> None:
    """Launch every program, then wait for each to be ready; on any failure stop them all."""
    programs = list(programs)
    try:
        for program in programs:
            program.start()
        for program in programs:
            program.wait_ready()
    except BaseException:
        stop_all(programs)
        raise


def stop_all(programs: Iterable[NodeProgram]) -> None:
    """Stop every program (all signalled first, then each waited for), even if stopping one fails."""
    programs = list(programs)
    for program in programs:
        program.ask_to_stop()
    error: BaseException | None = None
    for program in reversed(programs):
        try:
            program.stop()
        except BaseException as exc:  # noqa: BLE001 - keep stopping the others
            error = error or exc
    if error is not None:
        raise error


class FolderService:
    """A server with a folder of its own in the run's work directory (config, logs, data) and
    one NodeProgram: the folder is made fresh on entry and removed, with the program
    stopped, on exit. A subclass's __enter__ calls `fresh_folder()`, then starts `program`."""

    def __init__(self, node: NodeHandle, kind: str, ready_timeout: float) -> None:
        self.node = node
        self.ready_timeout = ready_timeout
        self.directory = node.deployment.workdir / kind / node.name
        self.program: NodeProgram | None = None

    @property
    def ready_after(self) -> float | None:
        """Seconds from launch until the program first answered its probe."""
        return self.program.ready_after if self.program else None

    def fresh_folder(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)  # a previous block's leftovers
        self.directory.mkdir(parents=True)

    def __exit__(self, *exc: object) -> None:
        program, self.program = self.program, None
        try:
            if program is not None:
                program.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
