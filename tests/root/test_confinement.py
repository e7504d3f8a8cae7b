"""A student's file runs confined: in its node, unprivileged, limited, and unable to touch the verdict.

Every hostile file in solutions/hostile/ is handed in as a student would; each
run must end as FAIL with its reason named, change nothing outside the
sandbox's scratch directory, reach nothing outside the lab, and leave no
process of the student behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import protolab
from protolab.confine.limits import Limits
from protolab.confine.sandbox import UID_BASE
from protolab.expect import Status
from protolab.lab.catalog import labs_dir, load_lab
from protolab.lab.runner import RunOptions, run_lab
from tests.root.labrun import explain

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions"
HOSTILE = SOLUTIONS / "hostile"
PROTOLAB = Path(sys.executable).with_name("protolab")


@pytest.fixture(scope="module")
def lab():
    return load_lab("handshake")


def hand_in(tmp_path: Path, name: str, **fill: object) -> Path:
    """A copy of a hostile file with its {WORDS} filled in, in a folder of the student's own."""
    text = (HOSTILE / name).read_text()
    for word, value in fill.items():
        text = text.replace("{" + word + "}", str(value))
    folder = tmp_path / "submission"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def run(lab, tmp_path: Path, solution: Path, timeout: float = 3.0):
    options = RunOptions(solution=solution, out_dir=tmp_path / "out", fresh=True, timeout=timeout)
    return run_lab(lab, options)


def output(result) -> str:
    return result.student_output.text() if result.student_output else ""


def sandbox_processes() -> list[int]:
    """Live processes running as a sandbox uid (zombies hold nothing and are left out)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid = int(fields.get("Uid", "0").split()[0])
        if uid >= UID_BASE and not fields.get("State", "").strip().startswith("Z"):
            found.append(int(name))
    return found


def assert_failed_with(result, *words: str) -> None:
    text = explain(result.verdict)
    assert result.verdict.status is Status.FAIL, text
    for word in words:
        assert word in text, text
    assert sandbox_processes() == []


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- where the code runs ---------------------------------------------------------------------


def test_scapy_global_sr1_acts_inside_the_client_node(lab, tmp_path):
    """The textbook solution (scapy's own sr1/send) passes, and nothing of it appears on the host."""
    seen_on_host = []
    stop = threading.Event()
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # the host's namespace
    sniffer.settimeout(0.05)

    def sniff():
        while not stop.is_set():
            try:
                frame = sniffer.recv(65535)
            except TimeoutError:
                continue
            if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[30:34] == socket.inet_aton("10.0.2.80"):
                seen_on_host.append(frame)

    thread = threading.Thread(target=sniff, daemon=True)
    thread.start()
    try:
        result = run(lab, tmp_path, SOLUTIONS / "textbook_global_scapy.py")
    finally:
        stop.set()
        thread.join()
        sniffer.close()
    assert result.verdict.status is Status.PASS, explain(result.verdict)
    syn = next(f for f in result.trace if f.has("tcp") and f.get("tcp.flags") == "S")
    assert syn.link == "lan1" and syn.get("ip.src") == "10.0.1.10"
    assert seen_on_host == [], "frames for web's address crossed the host's own interfaces"


def test_bare_dnspython_queries_act_inside_the_client_node(tmp_path):
    lab = load_lab("dns")
    result = run_lab(lab, RunOptions(solution=SOLUTIONS / "dns" / "bare_dnspython.py", out_dir=tmp_path, fresh=True))
    assert result.verdict.status is Status.PASS, explain(result.verdict)
    queries = [f for f in result.trace if f.has("dns") and f.get("ip.src") == "10.0.1.10"]
    assert queries and all(f.link == "lan1" for f in queries if f.sender == "client")


def test_the_student_runs_unprivileged_with_a_filter_in_its_own_pid_namespace(lab, tmp_path):
    solution = hand_in(tmp_path, "enters_namespaces.py", GRADER=os.getpid())
    result = run(lab, tmp_path, solution)
    text = output(result)
    assert_failed_with(result, "SYN from client")
    assert "no open /proc/1/ns/net Permission denied" in text, text  # PID 1 is the sandbox's own init, root
    assert f"no open /proc/{os.getpid()}/ns/net" in text, text  # the grader is not even visible
    assert "no open /run/netns/web" in text, text
    assert "setns /proc/self/ns/net Operation not permitted" in text, text  # the filter refuses even its own
    assert " OK" not in text, text
    assert text.count("unshare") == 3 and "unshare 0x40000000 Operation not permitted" in text, text
    assert "processes I can see: [1, 2]" in text, text
    uid_line = next(line for line in text.splitlines() if line.startswith("my uid:"))
    assert int(uid_line.split()[2].rstrip(",")) >= UID_BASE
    assert "CapEff:\\t0000000000002000" in uid_line and "NoNewPrivs:\\t1" in uid_line and "Seccomp:\\t2" in uid_line


def test_host_loopback_is_out_of_reach(lab, tmp_path):
    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.05)
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            received.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        solution = hand_in(tmp_path, "reaches_host_loopback.py", PORT=server.getsockname()[1], HOST_IP="127.0.0.2")
        result = run(lab, tmp_path, solution)
    finally:
        stop.set()
        thread.join()
        server.close()
    assert received == []
    assert "CONNECTED" not in output(result) and "refused 127.0.0.1" in output(result)
    assert_failed_with(result, "SYN from client")


# -- files -------------------------------------------------------------------------------------


def test_host_files_stay_untouched(lab, tmp_path):
    package_init = Path(protolab.__file__)
    lab_file = labs_dir() / "handshake.py"
    marker = tmp_path / "marker.txt"
    before = {p: digest(p) for p in (package_init, lab_file)}
    targets = [str(marker), str(package_init), str(lab_file), "/run/protolab/runs/forged", "/etc/passwd",
               str(Path.home() / "protolab-was-here"), "/tmp/protolab-was-here", "/dev/shm/../../etc/hostname"]
    solution = hand_in(tmp_path, "writes_host_files.py", TARGETS=targets)
    result = run(lab, tmp_path, solution)
    wrote = [line for line in output(result).splitlines() if line.startswith("WROTE")]
    assert wrote == ["WROTE /tmp/protolab-was-here"], output(result)  # its own scratch /tmp, not the host's
    assert not marker.exists() and not Path("/run/protolab/runs/forged").exists()
    assert not (Path.home() / "protolab-was-here").exists() and not Path("/tmp/protolab-was-here").exists()
    assert {p: digest(p) for p in before} == before
    assert_failed_with(result, "SYN from client")


def test_secrets_and_the_reference_are_out_of_sight(lab, tmp_path):
    solution = hand_in(tmp_path, "reads_secrets.py", LABS=labs_dir())
    result = run(lab, tmp_path, solution, timeout=20.0)  # it walks the whole Python installation
    text = output(result)
    assert "READ" not in text and "LISTED" not in text, text
    assert "labs found: []" in text, text
    assert_failed_with(result, "SYN from client")


def test_reference_cannot_be_found_or_called(lab, tmp_path):
    result = run(lab, tmp_path, HOSTILE / "calls_reference.py")
    assert_failed_with(result, "no reference found", "SYN from client")


# -- the verdict is the grader's alone ---------------------------------------------------------


def test_patching_the_checker_at_import_changes_nothing(lab, tmp_path):
    result = run(lab, tmp_path, HOSTILE / "patches_checker.py")
    assert_failed_with(result, "SYN from client")
    assert json.loads(result.report.read_text())["status"] == "FAIL"


def test_a_pickle_bomb_comes_back_as_data(lab, tmp_path):
    target = tmp_path / "pwned"
    result = run(lab, tmp_path, hand_in(tmp_path, "pickle_bomb.py", TARGET=target))
    assert not target.exists()
    assert_failed_with(result, "SYN from client")


def test_a_daemon_cannot_rewrite_the_verdict(lab, tmp_path):
    result = run(lab, tmp_path, hand_in(tmp_path, "rewrites_verdict.py", OUT=tmp_path / "out"))
    assert_failed_with(result, "left 1 process running after it returned")
    time.sleep(0.3)
    assert json.loads(result.report.read_text())["status"] == "FAIL"


# -- ways of ending ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, timeout, words", [
    ("exits_at_import.py", 1, ["could not be used: exited at import (sys.exit(0))"]),
    ("os_exits_at_import.py", 1, ["exited at import with code 0"]),
    ("hangs_at_import.py", 1, ["did not finish importing within 1 s and was stopped"]),
    ("hangs_forever.py", 1, ["did not return within 1 s and was stopped"]),
    ("fork_bomb.py", 1, ["did not return within 1 s and was stopped"]),
    ("forks_and_hides.py", 1, ["left 3 processes running after it returned: they were stopped"]),
    ("memory_bomb.py", 10, ["used more than 512 MiB of memory and was stopped"]),  # zeroing 512 MiB takes ~1 s
])
def test_each_way_of_ending_is_named(lab, tmp_path, name, timeout, words):
    started = time.monotonic()
    result = run(lab, tmp_path, HOSTILE / name, timeout=timeout)
    assert_failed_with(result, *words)
    assert time.monotonic() - started < timeout + 7


def test_a_thread_left_running_does_not_hold_the_run(lab, tmp_path):
    started = time.monotonic()
    result = run(lab, tmp_path, HOSTILE / "starts_thread.py")
    assert_failed_with(result, "SYN from client")
    assert time.monotonic() - started < 8


def test_cpu_time_is_limited(lab, tmp_path):
    limited = dataclasses.replace(lab, student_limits=Limits(cpu_seconds=1))
    result = run(limited, tmp_path, HOSTILE / "burns_cpu.py", timeout=20.0)
    assert_failed_with(result, "used more than 1 s of CPU time and was stopped")


def test_output_is_captured_and_capped(lab, tmp_path, capfd):
    result = run(lab, tmp_path, HOSTILE / "output_flood.py", timeout=10.0)
    assert_failed_with(result, "your code printed 104.9 MB: the first 65.5 KB are in student-output.txt")
    kept = (tmp_path / "out" / "student-output.txt").read_bytes()
    assert len(kept) == Limits().output and kept.startswith(b"xxxx")
    assert result.student_output.total == 100 * 1024 * 1024
    assert len(capfd.readouterr().out) < 10_000  # nothing streamed to the terminal


# -- the grader killed -------------------------------------------------------------------------


def test_sigkill_of_the_grader_leaves_no_student_process(tmp_path):
    grader = subprocess.Popen([str(PROTOLAB), "run", "handshake", "--fresh", "--timeout", "60", "-q",
                               "--out", str(tmp_path / "out"), "--solution", str(HOSTILE / "hangs_forever.py")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while len(sandbox_processes()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(sandbox_processes()) >= 2, "the student's processes never started"
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        deadline = time.monotonic() + 3
        while sandbox_processes() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sandbox_processes() == []
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
        subprocess.run([str(PROTOLAB), "clean"], capture_output=True, timeout=60)  # the namespaces the kill left
