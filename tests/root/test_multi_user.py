"""A shared machine: each user's runs, exec, status, down and clean keep to that user's own topologies.

Two students are simulated the way sudo presents them, by $SUDO_UID (the
process stays root). Each test uses a ledger of its own (PROTOLAB_LEDGER_DIR),
so root's `clean --all` here sees only the topologies these tests made.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.root
PROTOLAB = [sys.executable, "-m", "protolab.cli"]
ALICE, BOB = "61001", "61002"


def as_user(uid: str | None, ledger: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    env["PROTOLAB_LEDGER_DIR"] = str(ledger)
    if uid is not None:
        env["SUDO_UID"] = uid
    return subprocess.run([*PROTOLAB, *args], capture_output=True, text=True, timeout=90, env=env, check=False)


def up(uid: str, ledger: Path) -> str:
    result = as_user(uid, ledger, "up")
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"up: run (\w+) ", result.stdout).group(1)
    assert f"'protolab down {run_id}' removes it" in result.stdout  # the message names the run to pass
    return run_id


def namespaces_of(run_id: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"plab-{run_id}-")]


def test_a_second_user_never_uses_sees_or_removes_the_first_users_topology(tmp_path):
    ledger = tmp_path / "ledger"
    alices = up(ALICE, ledger)
    bobs = None
    try:
        run = as_user(BOB, ledger, "run", "handshake", "--out", str(tmp_path / "bob"))
        assert run.returncode == 0, run.stdout + run.stderr
        assert "on a fresh topology" in run.stdout and alices not in run.stdout

        status = as_user(BOB, ledger, "status")
        assert alices not in status.stdout
        assert "no protolab run of yours is up (1 run(s) of other users not shown)" in status.stdout

        refused = as_user(BOB, ledger, "down", alices)
        assert refused.returncode == 2
        assert refused.stderr.strip().count("\n") == 0 and f"run {alices} belongs to uid {ALICE}, not to you" in refused.stderr
        assert namespaces_of(alices), "bob's down removed alice's topology"

        gone = as_user(BOB, ledger, "exec", "client", "--", "true")
        assert gone.returncode == 2 and "no topology of yours is up" in gone.stderr
        assert as_user(BOB, ledger, "exec", "--run", alices, "client", "--", "true").returncode == 2
        assert as_user(BOB, ledger, "clean", "--all").stdout.strip() == "nothing to clean"
        assert namespaces_of(alices)

        mine = as_user(ALICE, ledger, "status")
        assert alices in mine.stdout and f"uid {ALICE}" in mine.stdout  # the owner column names the user
        reused = as_user(ALICE, ledger, "run", "handshake", "-q", "--out", str(tmp_path / "alice"))
        assert reused.returncode == 0, reused.stdout + reused.stderr
        assert as_user(ALICE, ledger, "exec", "client", "--", "true").returncode == 0

        bobs = up(BOB, ledger)
        both = as_user(BOB, ledger, "run", "handshake", "--out", str(tmp_path / "bob2"))
        assert f"(run {bobs} on the topology that is up)" in both.stdout  # his own, not alice's newer or older one
    finally:
        cleaned = as_user(None, ledger, "clean", "--all")  # root itself: every user's
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"clean: run {alices}" in cleaned.stdout and f"clean: run {bobs}" in cleaned.stdout
    assert namespaces_of(alices) == [] and namespaces_of(bobs) == []
    assert not list(ledger.glob("*.json"))
