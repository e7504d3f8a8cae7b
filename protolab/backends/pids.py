"""Stopping processes protolab started, by PID and kernel start time (never by name).

A zombie counts as gone: it holds nothing, and when its parent is a PID 1 that
never reaps (a container, a sandbox) waiting for it to vanish would only
waste the grace period.
"""

from __future__ import annotations

import os
import signal
import time

from .ledger import process_start_time


def alive(pid: int, start: int) -> bool:
    """The same process (PID and start time) still exists and is not a zombie."""
    if process_start_time(pid) != start:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def reap(pid: int) -> bool:
    """Collect the exit status of `pid` if it is our child (or re-parented to us) and has ended."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return False


def stop_process(pid: int, start: int, *, grace: float = 2.0, term_after: float = 0.0) -> None:
    """Give the process `term_after` s to exit by itself, then SIGTERM; SIGKILL
    once `grace` s have passed; reap it if it is ours."""
    begin = time.monotonic()
    signals = [(term_after, signal.SIGTERM), (grace, signal.SIGKILL)]
    while alive(pid, start) and not reap(pid):
        elapsed = time.monotonic() - begin
        if signals and elapsed >= signals[0][0]:
            try:
                os.kill(pid, signals.pop(0)[1])
            except ProcessLookupError:
                return
        elif not signals and elapsed > grace + 1.0:
            return  # SIGKILL sent a second ago and still there: nothing more to do
        time.sleep(0.002)
    reap(pid)  # a zombie left by the loop's last look
