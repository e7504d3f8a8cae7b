"""The processes and threads a uid runs, read from /proc: what a student's server really started.

    tally = tasks_of(uid)
    tally.processes, tally.threads, tally.zombies     # 1, 101, 0 for a thread per connection
    tally.eventpoll                                   # an epoll instance is open (epoll, asyncio)

Every sandbox runs as a uid of its own (confine/sandbox.py), so the uid names
exactly the student's processes; the sandbox's init and keeper are root's
and are not counted. Read from the grader, which sees every PID namespace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PROC = "/proc"


@dataclass(frozen=True)
class Tally:
    """What the kernel shows of one uid's tasks at one moment."""

    processes: int = 0  # live processes (zombies not counted)
    threads: int = 0  # live threads of those processes, main threads included
    zombies: int = 0  # ended processes nobody has waited for
    eventpoll: bool = False  # one of them holds an epoll instance

    def most(self, other: Tally) -> Tally:
        """The larger of each count (the peak over samples)."""
        return Tally(max(self.processes, other.processes), max(self.threads, other.threads),
                     max(self.zombies, other.zombies), self.eventpoll or other.eventpoll)


def tasks_of(uid: int, proc: str = PROC) -> Tally:
    """The processes, threads and zombies whose real uid is `uid`, now."""
    processes = threads = zombies = 0
    eventpoll = False
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        status = _status(f"{proc}/{name}/status")
        if status is None or _uid(status) != uid:
            continue
        if status.get("State", "").startswith(("Z", "X")):
            zombies += 1
            continue
        processes += 1
        threads += int(status.get("Threads", "1") or 1)
        eventpoll = eventpoll or _has_eventpoll(f"{proc}/{name}/fd")
    return Tally(processes, threads, zombies, eventpoll)


def _status(path: str) -> dict[str, str] | None:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None  # gone in the meantime
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def _uid(status: dict[str, str]) -> int | None:
    try:
        return int(status.get("Uid", "").split()[0])
    except (IndexError, ValueError):
        return None


def _has_eventpoll(fd_dir: str) -> bool:
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(f"{fd_dir}/{name}") == "anon_inode:[eventpoll]":
                return True
        except OSError:
            continue
    return False
