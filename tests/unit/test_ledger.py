"""The run ledger without root: zombies count as gone, locks name their holder,
and a program is recorded before it runs (the start gate)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protolab.backends import ledger
from protolab.backends.ledger import (
    RunRecord,
    lock_for_removal,
    lock_holder,
    new_record,
    process_alive,
    process_start_time,
    try_lock,
)
from protolab.backends.pids import alive, family
from protolab.backends.programs import NsenterDeployment


@pytest.fixture(autouse=True)
def ledger_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(ledger, "LEDGER_DIR", tmp_path / "runs")
    return tmp_path / "runs"


def zombie() -> subprocess.Popen:
    """A child that has exited and is not reaped yet (the caller reaps it)."""
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.005)
    return child


def test_a_zombie_is_not_alive_but_keeps_its_start_time():
    child = zombie()
    try:
        start = process_start_time(child.pid)
        assert start is not None  # still in /proc, with the same start time ...
        assert not process_alive(child.pid, start)  # ... but it has ended
        assert not alive(child.pid, start)
        assert family(child.pid, start) == []
    finally:
        child.wait()


def test_a_run_whose_owner_is_a_zombie_is_a_leftover():
    child = zombie()
    try:
        record = RunRecord("abc123", "netns", "default", child.pid, process_start_time(child.pid))
        assert not record.owner_alive()
    finally:
        child.wait()
    me = RunRecord("abc124", "netns", "default", os.getpid(), process_start_time(os.getpid()))
    assert me.owner_alive()


def test_delete_also_removes_a_save_cut_short(ledger_dir):
    record = new_record("abc125", "netns", "default", False)
    record.path.with_suffix(".tmp").write_text("{")  # what a SIGKILL inside save() leaves
    record.delete()
    assert list(ledger_dir.iterdir()) == []


HOLD = """
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, json.dumps({"pid": os.getpid(), "what": "protolab run handshake"}).encode())
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_run_held_by_another_process_cannot_be_locked_for_removal(ledger_dir):
    record = new_record("abc126", "netns", "default", True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(record.lock_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        began = time.monotonic()
        assert lock_for_removal(record, wait=0.2) is None
        assert time.monotonic() - began >= 0.2  # it waited for the run to finish
        assert lock_holder(record) == f"protolab run handshake, pid {holder.pid}"
        assert try_lock(record, "x") is None
    finally:
        holder.stdin.close()
        holder.wait()
    fd = lock_for_removal(record, wait=0.2)  # the run has finished: now it can be taken
    assert fd is not None
    os.close(fd)


def test_try_lock_records_who_holds_it_and_refuses_a_removed_run(ledger_dir):
    record = new_record("abc127", "netns", "default", True)
    fd = try_lock(record, "protolab run dns")
    try:
        assert json.loads(record.lock_path.read_text())["what"] == "protolab run dns"
        assert lock_holder(record) == f"protolab run dns, pid {os.getpid()}"
    finally:
        os.close(fd)
    record.delete()  # `down` removed it between a run's look at the ledger and its lock
    assert try_lock(record, "protolab run dns") is None
    assert not record.lock_path.exists(), "a lock file for a removed run was left behind"


class Direct(NsenterDeployment):
    """Programs run where the test runs (no namespace): only the start gate is under test."""

    def __init__(self, record: RunRecord) -> None:
        self.run_id, self.topology, self.record = record.run_id, None, record

    def nsenter(self, handle, argv):
        return list(argv)


class Handle:
    name = "here"


CHECK_LEDGER = "import json, os, sys; d = json.load(open(sys.argv[1])); print(os.getpid() in [p['pid'] for p in d['processes']])"


def test_a_program_is_in_the_ledger_before_it_runs(ledger_dir):
    record = new_record("abc128", "netns", "default", False)
    deployment = Direct(record)
    proc = deployment.popen(Handle(), [sys.executable, "-c", CHECK_LEDGER, str(record.path)], what="checker",
                            stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=10)
    assert out == "True\n"  # the program itself found its PID in the ledger file
    assert [p.what for p in record.processes] == ["checker in here"]
    deployment.release(proc)
    assert record.processes == []


def test_the_program_keeps_its_stdin_and_sees_no_gate(ledger_dir):
    record = new_record("abc129", "netns", "default", False)
    proc = Direct(record).popen(Handle(), ["sh", "-c", "cat; ls /proc/self/fd | wc -l"], what="cat",
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate("hello\n", timeout=10)
    assert out.split() == ["hello", "4"]  # stdin, stdout, stderr and ls's own directory: no gate pipe


def test_a_program_whose_recording_fails_never_runs(ledger_dir, tmp_path, monkeypatch):
    record = new_record("abc130", "netns", "default", False)
    marker = tmp_path / "ran"

    def broken(pid, what):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(record, "add_process", broken)
    with pytest.raises(OSError):
        Direct(record).popen(Handle(), ["touch", str(marker)], what="touch")
    time.sleep(0.05)
    assert not marker.exists()


def test_a_missing_program_is_a_one_line_backend_error(ledger_dir):
    from protolab.errors import BackendError

    record = new_record("abc131", "netns", "default", False)
    with pytest.raises(BackendError, match="cannot start thing in node here: no-such-program-here is not installed"):
        Direct(record).popen(Handle(), ["no-such-program-here"], what="thing")
