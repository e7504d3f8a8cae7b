"""The run ledger: what each run created, so teardown and `clean` remove exactly that.

One JSON file per run under /run/protolab/runs (tmpfs: it disappears with the
namespaces at reboot). An object is recorded *before* it is created, so a crash
between the two leaves at worst a ledger entry for something absent, never an
untracked object. Nothing is ever found or deleted by name pattern.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

LEDGER_DIR = Path(os.environ.get("PROTOLAB_LEDGER_DIR", "/run/protolab/runs"))


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of a process (clock ticks since boot), or None if gone.

    Recorded with every PID so a recycled PID is never mistaken for ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


@dataclass
class OwnedProcess:
    pid: int
    start_time: int
    what: str


@dataclass
class RunRecord:
    run_id: str
    backend: str
    topology: str
    owner_pid: int
    owner_start: int
    persistent: bool = False  # deployed by `protolab up`: lives until `down`
    created: float = field(default_factory=time.time)
    namespaces: list[str] = field(default_factory=list)
    processes: list[OwnedProcess] = field(default_factory=list)
    workdir: str = ""

    @property
    def path(self) -> Path:
        return LEDGER_DIR / f"{self.run_id}.json"

    @property
    def lock_path(self) -> Path:
        """Held (flock) by the lab run using a topology that is up."""
        return LEDGER_DIR / f"{self.run_id}.lock"

    def owner_alive(self) -> bool:
        return process_start_time(self.owner_pid) == self.owner_start

    def save(self) -> None:
        LEDGER_DIR.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, self.path)

    def add_namespace(self, name: str) -> None:
        self.namespaces.append(name)
        self.save()

    def add_process(self, pid: int, what: str) -> None:
        start = process_start_time(pid)
        if start is not None:
            self.processes.append(OwnedProcess(pid, start, what))
            self.save()

    def forget_process(self, pid: int) -> None:
        self.processes = [p for p in self.processes if p.pid != pid]
        self.save()

    def delete(self) -> None:
        self.lock_path.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


def new_record(run_id: str, backend: str, topology: str, persistent: bool) -> RunRecord:
    pid = os.getpid()
    record = RunRecord(run_id, backend, topology, pid, process_start_time(pid) or 0, persistent)
    record.save()
    return record


def load_record(path: Path) -> RunRecord:
    data = json.loads(path.read_text())
    data["processes"] = [OwnedProcess(**p) for p in data.get("processes", [])]
    return RunRecord(**data)


def all_records() -> list[RunRecord]:
    """Every recorded run, oldest first; unreadable files are skipped."""
    records = []
    for path in sorted(LEDGER_DIR.glob("*.json")) if LEDGER_DIR.is_dir() else []:
        try:
            records.append(load_record(path))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(records, key=lambda r: r.created)
