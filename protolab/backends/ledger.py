"""The run ledger: what each run created, so teardown and `clean` remove exactly that.

One JSON file per run under /run/protolab/runs (tmpfs: it disappears with the
namespaces at reboot). An object is recorded *before* it is created, so a crash
between the two leaves at worst a ledger entry for something absent, never an
untracked object. Nothing is ever found or deleted by name pattern.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

LEDGER_DIR = Path(os.environ.get("PROTOLAB_LEDGER_DIR", "/run/protolab/runs"))


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of a process (clock ticks since boot), or None if gone.

    Recorded with every PID so a recycled PID is never mistaken for ours."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def process_alive(pid: int, start: int) -> bool:
    """The same process (PID and start time) exists and is not a zombie.

    A zombie has ended: it holds no socket, file or lock, only its exit status
    until its parent (maybe a PID 1 that never reaps) collects it."""
    fields = _stat(pid)
    return fields is not None and int(fields[19]) == start and fields[0] != "Z"


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
    owner_uid: int = 0  # the user who made the run (see invoking_user); a record of before this field: root's
    owner_name: str = ""

    @property
    def path(self) -> Path:
        return LEDGER_DIR / f"{self.run_id}.json"

    @property
    def lock_path(self) -> Path:
        """Held (flock) by the lab run using a topology that is up."""
        return LEDGER_DIR / f"{self.run_id}.lock"

    def owner_alive(self) -> bool:
        """The process that made this run is still running (a zombie is not)."""
        return process_alive(self.owner_pid, self.owner_start)

    def save(self) -> None:
        LEDGER_DIR.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, self.path)

    def add_process(self, pid: int, what: str) -> None:
        """Record a process by PID and start time (nothing if it has already gone)."""
        start = process_start_time(pid)
        if start is not None:
            self.processes.append(OwnedProcess(pid, start, what))
            self.save()

    def forget_process(self, pid: int) -> None:
        self.processes = [p for p in self.processes if p.pid != pid]
        self.save()

    def delete(self) -> None:
        self.lock_path.unlink(missing_ok=True)
        self.path.with_suffix(".tmp").unlink(missing_ok=True)  # a save() cut short by a kill
        self.path.unlink(missing_ok=True)


# -- locks --------------------------------------------------------------------
def exclusive_lock(path: Path) -> int | None:
    """An exclusive flock(2) on `path` (created 0600 if need be), held by its
    descriptor until that is closed; None if another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


# -- the lock on a topology that is up ----------------------------------------
# A lab run on a topology brought up with `protolab up` holds an flock on the
# run's lock file for as long as it uses it, and writes who it is into the
# file; `down` and `clean --all` take the same lock before destroying the
# topology, so they never pull it from under a running lab.
def try_lock(record: RunRecord, holder: str = "") -> int | None:
    """Lock a recorded run for this process: the lock's fd, or None if another
    process holds it or the run has been removed meanwhile."""
    fd = exclusive_lock(record.lock_path)
    if fd is None:
        return None
    if not record.path.exists():  # removed (by `down`) between our look and our lock
        _unlink_if_same(record.lock_path, fd)
        os.close(fd)
        return None
    pid = os.getpid()
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": pid, "start": process_start_time(pid), "what": holder}).encode(), 0)
    return fd


def lock_for_removal(record: RunRecord, wait: float = 0.5) -> int | None:
    """Lock a run before removing it, waiting up to `wait` s for a lab run to
    finish; None if it is still held (see `lock_holder` for whom)."""
    deadline = time.monotonic() + wait
    while True:
        fd = try_lock(record, "removing it")
        if fd is not None or time.monotonic() >= deadline:
            return fd
        time.sleep(0.02)


def lock_holder(record: RunRecord) -> str:
    """Who holds a run's lock, in words ("protolab run handshake, pid 123")."""
    try:
        data = json.loads(record.lock_path.read_text() or "{}")
    except (OSError, ValueError):
        data = {}
    pid, what = data.get("pid"), data.get("what") or "another protolab process"
    return f"{what}, pid {pid}" if pid else what


def _unlink_if_same(path: Path, fd: int) -> None:
    try:
        st, now = os.fstat(fd), os.stat(path)
    except OSError:
        return
    if (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino):
        path.unlink(missing_ok=True)


def invoking_user() -> tuple[int, str]:
    """The user protolab acts for: under sudo (root with $SUDO_UID) the user who
    ran sudo, else the real uid; with a name for `status` (the uid if it has none)."""
    uid = os.getuid()
    sudo = os.environ.get("SUDO_UID", "")
    if os.geteuid() == 0 and sudo.isdigit():
        uid = int(sudo)
    try:
        return uid, pwd.getpwuid(uid).pw_name
    except KeyError:
        return uid, f"uid {uid}"


def is_root_itself() -> bool:
    """Root acting as root (not a user under sudo): the one who may clean every user's runs."""
    return os.geteuid() == 0 and invoking_user()[0] == 0


def new_record(run_id: str, backend: str, topology: str, persistent: bool) -> RunRecord:
    pid = os.getpid()
    uid, name = invoking_user()
    record = RunRecord(run_id, backend, topology, pid, process_start_time(pid) or 0, persistent,
                       owner_uid=uid, owner_name=name)
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


def own_records() -> list[RunRecord]:
    """The recorded runs of the invoking user (see invoking_user), oldest first: what
    a run may reuse and what exec, status, down and clean see."""
    uid = invoking_user()[0]
    return [r for r in all_records() if r.owner_uid == uid]
