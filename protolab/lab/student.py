"""Run a student's function isolated in a child process, with a time limit.

Forked, so it shares the lab's open sockets (and namespaces) but cannot touch
the grader's memory; a hang is ended by SIGKILL after the lab's timeout; an
exception comes back as a short, readable message instead of a traceback.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: Any = None
    error: str = ""
    seconds: float = 0.0


def call_isolated(func: Callable[..., Any], args: tuple, kwargs: dict, timeout: float) -> Outcome:
    read_fd, write_fd = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child: run, report, leave without running the parent's cleanup
        os.close(read_fd)
        code = 0
        try:
            try:
                payload = ("ok", _picklable(func(*args, **kwargs)))
            except BaseException as exc:  # noqa: BLE001 - everything a solution can do wrong
                payload = ("error", describe_exception(exc))
            os.write(write_fd, pickle.dumps(payload))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    data = None
    try:
        data = _read_all(read_fd, timeout)
    finally:
        os.close(read_fd)
        _reap(pid, force=data is None)
    seconds = time.monotonic() - start
    if data is None:
        return Outcome(False, error=f"did not return within {timeout:g} s and was stopped", seconds=seconds)
    if not data:
        return Outcome(False, error="ended without returning (did it call exit()?)", seconds=seconds)
    kind, value = pickle.loads(data)
    return Outcome(kind == "ok", value if kind == "ok" else None, "" if kind == "ok" else value, seconds)


def describe_exception(exc: BaseException) -> str:
    """"ValueError: message (solution.py:12, in connect)" — the innermost frame of the student's file."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    for fr in reversed(frames):
        if "/protolab/" not in fr.filename and "/scapy/" not in fr.filename:
            where = f" ({os.path.basename(fr.filename)}:{fr.lineno}, in {fr.name})"
            break
    text = str(exc) or "(no message)"
    return f"{type(exc).__name__}: {text}{where}"


def _picklable(value: Any) -> Any:
    try:
        pickle.dumps(value)
        return value
    except Exception:  # noqa: BLE001
        return repr(value)


def _read_all(fd: int, timeout: float) -> bytes | None:
    """Everything the child writes until it closes the pipe; None on timeout."""
    chunks = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _reap(pid: int, force: bool) -> None:
    """Wait for the child (ours, by PID); kill it first if it overran or we are interrupted."""
    try:
        if force:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        pass
