"""Stopping processes by PID and start time (children of the test itself)."""

import subprocess
import sys
import time

from protolab.backends.ledger import process_start_time
from protolab.backends.pids import alive, stop_process


def test_a_process_is_terminated_and_reaped():
    child = subprocess.Popen(["sleep", "30"])
    start = process_start_time(child.pid)
    stop_process(child.pid, start)
    assert not alive(child.pid, start)
    assert process_start_time(child.pid) is None  # reaped, not left as a zombie


def test_a_process_ignoring_sigterm_is_killed_after_the_grace():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    start = process_start_time(child.pid)
    began = time.monotonic()
    stop_process(child.pid, start, grace=0.3)
    assert not alive(child.pid, start)
    assert time.monotonic() - began >= 0.3  # SIGTERM alone did not end it


def test_a_recycled_pid_is_never_signalled():
    child = subprocess.Popen(["sleep", "30"])
    try:
        stop_process(child.pid, process_start_time(child.pid) + 1)  # another process's start time
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()
