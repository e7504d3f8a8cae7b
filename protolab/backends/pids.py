"""Stopping processes protolab started, by PID and kernel start time (never by name).

A zombie counts as gone: it holds nothing, and when its parent is a PID 1 that
never reaps (a container, a sandbox) waiting for it to vanish would only
waste the grace period.
"""

from __future__ import annotations

import os
import signal
import time

from .ledger import process_alive, process_start_time


def alive(pid: int, start: int) -> bool:
    """The same process (PID and start time) still exists and is not a zombie."""
    return process_alive(pid, start)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), from /proc."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def family(pid: int, start: int) -> list[tuple[int, int]]:
    """(PID, start time) of a process's descendants, if it is the one that started at `start`."""
    if not alive(pid, start):
        return []
    found = []
    for kid in descendants(pid):
        kid_start = process_start_time(kid)
        if kid_start is not None:
            found.append((kid, kid_start))
    return found


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
