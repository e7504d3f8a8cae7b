"""Helper of test_cleanup_races: SIGKILL a protolab process while it starts programs.

    python kill_race.py driver NETNS      start `sleep 60` in NETNS again and again, as a run does
    python kill_race.py harness NETNS N SEED PROTOLAB
        N times: start a driver, SIGKILL it at a random moment, then run
        `PROTOLAB clean` once and report, as JSON, every process the drivers
        left that is still running.

The harness is a child subreaper: whatever a killed driver started is
re-parented to it, so it sees every survivor by ancestry, whether or not the
ledger recorded it. Both use the ledger in $PROTOLAB_LEDGER_DIR.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def driver(netns: str) -> None:
    from protolab.backends.base import NodeHandle
    from protolab.backends.ledger import new_record
    from protolab.backends.programs import NsenterDeployment
    from protolab.topology import load

    class Deployment(NsenterDeployment):
        def netns_of(self, name: str) -> str:
            return netns

    topology = load()
    record = new_record(secrets.token_hex(3), "netns", "default", False)  # no namespaces of its own
    deployment = Deployment()
    deployment.run_id, deployment.topology, deployment.record = record.run_id, topology, record
    handle = NodeHandle(topology.node("web"), netns, deployment)
    print(record.run_id, flush=True)
    for _ in range(1000):
        proc = deployment.popen(handle, ["sleep", "60"], what="sleep", stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # not our pipe to the harness
        print(proc.pid, flush=True)


def survivors(me: int) -> list[dict]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.append({"pid": int(entry), "argv": argv})
    return found


def reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def harness(netns: str, rounds: int, seed: int, protolab: str) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    rng = random.Random(seed)
    started, runs = [], []
    for _ in range(rounds):
        child = subprocess.Popen([sys.executable, __file__, "driver", netns], stdout=subprocess.PIPE, text=True)
        runs.append(child.stdout.readline().strip())  # its record is saved: from here on it starts programs
        time.sleep(rng.uniform(0.0, 0.04))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        started.append(len(child.stdout.read().split()))
        child.stdout.close()
    leftovers_before = len(survivors(os.getpid()))
    clean = subprocess.run([protolab, "clean"], capture_output=True, text=True, timeout=120)
    deadline = time.monotonic() + 1.0  # a gate whose driver died exits by itself, within milliseconds
    while survivors(os.getpid()) and time.monotonic() < deadline:
        reap_all()
        time.sleep(0.01)
    left = survivors(os.getpid())
    for proc in left:  # ours, by ancestry: stop them so the suite leaves nothing behind
        os.kill(proc["pid"], signal.SIGKILL)
    time.sleep(0.05)
    reap_all()
    print(json.dumps({"runs": runs, "started": started, "running_before_clean": leftovers_before,
                      "clean": {"code": clean.returncode, "stdout": clean.stdout, "stderr": clean.stderr},
                      "survivors": left}))


if __name__ == "__main__":
    if sys.argv[1] == "driver":
        driver(sys.argv[2])
    else:
        harness(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
