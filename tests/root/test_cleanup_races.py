"""Clean-up races: a kill while a program starts, a zombie owner, `down` under a live run.

Each test uses a ledger of its own (PROTOLAB_LEDGER_DIR), so `clean` and
`clean --all` only ever see the runs the test made, whatever else runs on the
machine."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protolab.backends.ledger import load_record, process_alive, process_start_time

pytestmark = pytest.mark.root
HERE = Path(__file__).parent
PROTOLAB = str(Path(sys.executable).with_name("protolab"))


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return tmp_path / "ledger"


def protolab(ledger: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([PROTOLAB, *args], capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "PROTOLAB_LEDGER_DIR": str(ledger)})


def records(ledger: Path) -> list:
    return [load_record(p) for p in sorted(ledger.glob("*.json"))] if ledger.is_dir() else []


def test_a_run_killed_at_any_moment_of_a_program_start_leaves_nothing_after_clean(ledger):
    from protolab.backends.netns import NetnsBackend
    from protolab.topology import load

    deployment = NetnsBackend().deploy(load())  # the drivers start their programs in its web node
    seed = random.randrange(1 << 30)
    try:
        harness = subprocess.run(
            [sys.executable, str(HERE / "kill_race.py"), "harness", deployment.netns_of("web"), "12", str(seed), PROTOLAB],
            capture_output=True, text=True, timeout=120, env={**os.environ, "PROTOLAB_LEDGER_DIR": str(ledger)},
        )
    finally:
        deployment.teardown()
    assert harness.returncode == 0, harness.stderr
    report = json.loads(harness.stdout)
    why = f"seed {seed}: {report}"
    assert report["survivors"] == [], f"processes left running after 'protolab clean' ({why})"
    assert report["clean"]["code"] == 0, why
    assert sum(report["started"]) > 0 and report["running_before_clean"] > 0, f"nothing was started: {why}"
    assert set(report["runs"]) <= {line.split()[2].rstrip(":") for line in report["clean"]["stdout"].splitlines()
                                   if line.startswith("clean: run ")}, why
    assert records(ledger) == [] and not list(ledger.glob("*.tmp")), why


ZOMBIE_OWNER = """
import subprocess, sys
from protolab.backends.ledger import new_record
record = new_record("zz" + sys.argv[1], "netns", "default", False)
sleeper = subprocess.Popen(["sleep", "60"])
record.add_process(sleeper.pid, "sleep")
print(sleeper.pid, flush=True)
"""


def test_a_run_whose_owner_is_a_zombie_is_cleaned(ledger):
    run_id = os.urandom(2).hex()
    owner = subprocess.Popen([sys.executable, "-c", ZOMBIE_OWNER, run_id], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PROTOLAB_LEDGER_DIR": str(ledger)})
    sleeper = int(owner.stdout.readline())
    start = process_start_time(sleeper)
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{owner.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":  # exited, not reaped
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert f" {owner.pid} (gone: leftover)" in protolab(ledger, "status").stdout
        cleaned = protolab(ledger, "clean")
        assert cleaned.returncode == 0, cleaned.stderr
        assert cleaned.stdout.strip() == f"clean: run zz{run_id}: removed 1 object(s)"
        assert not process_alive(sleeper, start)
        assert records(ledger) == []
    finally:
        owner.wait()  # reap the zombie
        owner.stdout.close()
        if process_alive(sleeper, start):
            os.kill(sleeper, signal.SIGKILL)


def test_down_and_clean_all_refuse_a_topology_a_live_run_holds(ledger, tmp_path):
    up = protolab(ledger, "up")
    assert up.returncode == 0, up.stderr
    (record,) = records(ledger)
    lock = ledger / f"{record.run_id}.lock"
    log = tmp_path / "run.txt"
    run = subprocess.Popen(
        [PROTOLAB, "run", "handshake", "--timeout", "30", "--out", str(tmp_path / "out"),
         "--solution", str(HERE / "solutions" / "hangs.py")],
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PROTOLAB_LEDGER_DIR": str(ledger), "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        while "protolab run handshake" not in (lock.read_text() if lock.exists() else ""):
            assert run.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        time.sleep(0.3)  # well into the run
        for args in (("down",), ("down", record.run_id), ("clean", "--all")):
            refused = protolab(ledger, *args)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert refused.stderr.splitlines() == [
                f"error: run {record.run_id} is in use by protolab run handshake, pid {run.pid}: "
                "try again when that has finished"
            ]
            assert run.poll() is None, "the run holding the topology was disturbed"
            assert [r.run_id for r in records(ledger)] == [record.run_id]
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=30)
        down = protolab(ledger, "down", record.run_id)
    assert run.returncode == 130, log.read_text()  # it ended by our signal, not by a topology pulled away
    assert "Traceback" not in log.read_text()
    assert down.returncode == 0 and f"down: run {record.run_id} removed" in down.stdout
    assert records(ledger) == [] and not lock.exists()
