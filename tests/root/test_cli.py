"""The command line as a user meets it: exit codes, one-line errors, up/down, Ctrl-C, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protolab.backends.ledger import LEDGER_DIR

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions"
PROTOLAB = [sys.executable, "-m", "protolab.cli"]


def protolab(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*PROTOLAB, *args], capture_output=True, text=True, timeout=timeout, check=False)


def run_ids() -> set[str]:
    return {p.stem for p in LEDGER_DIR.glob("*.json")} if LEDGER_DIR.is_dir() else set()


def namespaces_of(run_id: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"plab-{run_id}-")]


def test_reference_run_exits_0_and_prints_ladder_and_verdict(tmp_path):
    result = protolab("run", "handshake", "--fresh", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SYN seq=0" in result.stdout and "SYN-ACK" in result.stdout
    assert "PASS" in result.stdout and str(tmp_path / "trace.pcapng") in result.stdout
    assert (tmp_path / "trace.pcapng").stat().st_size > 0


def test_failing_solution_exits_1_and_junit_names_the_failed_step(tmp_path):
    junit = tmp_path / "junit.xml"
    result = protolab("run", "handshake", "--fresh", "-q", "--out", str(tmp_path), "--junit", str(junit),
                      "--solution", str(SOLUTIONS / "wrong_ack.py"))
    assert result.returncode == 1
    # -q: the verdict line and the first failure with its reason, on one line
    line = result.stdout.strip()
    assert line.startswith("handshake: FAIL — ACK from client: frame #") and "\n" not in line
    assert "the ACK acknowledges web's ISN + 1 — but tcp.ack is" in line
    xml = junit.read_text()
    assert 'testcase name="step: ACK from client"' in xml
    assert "the ACK acknowledges web&apos;s ISN + 1" in xml or "the ACK acknowledges web's ISN + 1" in xml


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "nosuchlab"), "no lab named 'nosuchlab'"),
        (("run", "handshake", "--set", "guard=maybe"), "parameter guard='maybe': expected a bool"),
        (("run", "handshake", "--set", "speed=3"), "lab handshake has no parameter 'speed'"),
        (("run", "handshake", "--set", "novalue"), "--set takes KEY=VALUE"),
        (("run", "handshake", "--solution", "/nonexistent/solution.py"), "solution file /nonexistent/solution.py does not exist"),
        (("check", "handshake", "/nonexistent.pcapng"), "cannot read /nonexistent.pcapng"),
        (("show", "nosuchlab"), "no lab named 'nosuchlab'"),
        (("down", "zzzzzz"), "no run zzzzzz"),
        (("frobnicate",), "No such command"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(args, message):
    before = run_ids()
    result = protolab(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1
    assert run_ids() == before


def test_list_and_show():
    listing = protolab("list")
    assert listing.returncode == 0 and "handshake" in listing.stdout
    shown = protolab("show", "handshake")
    assert shown.returncode == 0
    assert "SYN-ACK   seq = y, ack = x + 1" in shown.stdout and "--solution" in shown.stdout


def test_up_status_run_down_reuses_the_running_topology(tmp_path):
    before = run_ids()
    up = protolab("up")
    assert up.returncode == 0, up.stderr
    (run_id,) = run_ids() - before
    try:
        assert len(namespaces_of(run_id)) == 10  # 9 nodes + the switch
        status = protolab("status")
        assert run_id in status.stdout and "up" in status.stdout
        result = protolab("run", "handshake", "--out", str(tmp_path))
        assert result.returncode == 0, result.stdout
        assert f"run {run_id} on the topology that is up" in result.stdout
        assert namespaces_of(run_id), "a lab run must not tear down a topology brought up with 'up'"
    finally:
        down = protolab("down", run_id)
    assert down.returncode == 0 and f"run {run_id} removed" in down.stdout
    assert namespaces_of(run_id) == [] and run_id not in run_ids()


def test_two_runs_at_once_do_not_collide(tmp_path):
    procs = [
        subprocess.Popen([*PROTOLAB, "run", "handshake", "--fresh", "-q", "--out", str(tmp_path / str(k))], stdout=subprocess.PIPE, text=True)
        for k in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(o.strip() == "handshake: PASS (8/8)" for o in outputs)


def _start_hanging_run(tmp_path) -> tuple[subprocess.Popen, str]:
    """A run whose student code hangs: it is certainly mid-run when we signal it."""
    before = run_ids()
    log = tmp_path / "stdout.txt"
    proc = subprocess.Popen(
        [*PROTOLAB, "run", "handshake", "--fresh", "--timeout", "60", "--out", str(tmp_path), "--solution", str(SOLUTIONS / "hangs.py")],
        stdout=log.open("w"), stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        new = run_ids() - before
        if new and "your connect() runs" in log.read_text():
            time.sleep(0.2)  # let the forked student code start hanging
            return proc, new.pop()
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    pytest.fail("the run did not reach the student's code")


def test_ctrl_c_in_the_middle_of_a_run_leaves_nothing_behind(tmp_path):
    proc, run_id = _start_hanging_run(tmp_path)
    assert namespaces_of(run_id)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole process group
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert namespaces_of(run_id) == []
    assert run_id not in run_ids()


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    proc, run_id = _start_hanging_run(tmp_path)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert namespaces_of(run_id) == [] and run_id not in run_ids()


def test_clean_removes_what_a_killed_run_left_and_nothing_else(tmp_path):
    other = protolab("up")  # a topology that is up on purpose: clean must keep it
    assert other.returncode == 0
    kept = run_ids()
    try:
        proc, run_id = _start_hanging_run(tmp_path)
        os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up
        proc.communicate(timeout=10)
        assert len(namespaces_of(run_id)) == 10 and run_id in run_ids()
        assert "gone: leftover" in protolab("status").stdout
        cleaned = protolab("clean")
        assert cleaned.returncode == 0 and f"run {run_id}: removed" in cleaned.stdout
        assert namespaces_of(run_id) == [] and run_id not in run_ids()
        assert kept <= run_ids(), "clean removed a topology that was up on purpose"
        assert protolab("clean").stdout.strip() == "nothing to clean"
    finally:
        for run_id in kept:
            protolab("down", run_id)


def test_exec_runs_a_command_inside_a_node_of_the_topology_that_is_up():
    host_resolv = Path("/etc/resolv.conf").read_bytes()
    before = run_ids()
    assert protolab("up").returncode == 0
    (run_id,) = run_ids() - before
    try:
        addr = protolab("exec", "--run", run_id, "client", "--", "ip", "-br", "addr")
        assert addr.returncode == 0 and "10.0.1.10/24" in addr.stdout
        assert "10.0.2.80" not in addr.stdout
        resolv = protolab("exec", "--run", run_id, "client", "--", "cat", "/etc/resolv.conf")
        assert resolv.stdout == "nameserver 10.0.2.53\n"
        assert protolab("exec", "--run", run_id, "client", "--", "sh", "-c", "exit 3").returncode == 3
        short = protolab("exec", "--run", run_id, "--dns", "client", "--", "dig", "+short", "www.example.lab")
        assert (short.returncode, short.stdout) == (0, "10.0.2.80\n"), short.stderr
        trace = protolab("exec", "--run", run_id, "--dns", "client", "--", "dig", "+trace", "+nodnssec", "www.example.lab")
        assert "from 10.0.2.11#53(a.root-servers.lab)" in trace.stdout  # the walk starts at the lab's root
        assert "www.example.lab.\t3600\tIN\tA\t10.0.2.80" in trace.stdout
        unknown = protolab("exec", "--run", run_id, "nosuch", "--", "true")
        assert unknown.returncode == 2 and "has no node 'nosuch'" in unknown.stderr
    finally:
        protolab("down", run_id)
    assert Path("/etc/resolv.conf").read_bytes() == host_resolv
    gone = protolab("exec", "--run", run_id, "client", "--", "true")
    assert gone.returncode == 2 and f"no run {run_id} is up" in gone.stderr
