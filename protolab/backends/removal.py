"""Removing what a run's ledger lists, whichever backend made it: its processes
(by PID and start time), its namespaces, its work directory, then the entry."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .ledger import OwnedProcess, RunRecord
from .nsenter import netns_path
from .pids import alive, family, stop_process


def _stop(processes: list[OwnedProcess]) -> list[str]:
    """Stop recorded processes (by PID and start time) and what each had forked
    by then, recorded or not (a run killed while a program was forking could
    not record its children). An entry whose process has gone, or is a zombie,
    is skipped: e.g. a program's start gate that ended when its run died before
    letting it run (see programs.py)."""
    removed = []
    for proc in list(processes):
        if not alive(proc.pid, proc.start_time):
            continue
        forked = family(proc.pid, proc.start_time)
        stop_process(proc.pid, proc.start_time)
        removed.append(f"process {proc.pid} ({proc.what})")
        for pid, start in forked:
            if alive(pid, start):
                stop_process(pid, start)
                removed.append(f"process {pid} (forked by {proc.what})")
    return removed


def stop_processes_since(record: RunRecord, before: set[tuple[int, int]]) -> list[str]:
    """Stop the processes recorded in `record` that are not in `before` (PID,
    start time) and forget them: what a lab run on a topology that is up
    started and, interrupted, did not stop itself."""
    new = [p for p in record.processes if (p.pid, p.start_time) not in before]
    if not new:
        return []
    removed = _stop(new)
    record.processes = [p for p in record.processes if (p.pid, p.start_time) in before]
    record.save()
    return removed


def destroy(record: RunRecord) -> list[str]:
    """Remove exactly what a run's ledger lists: its processes (by PID and
    start time, with what they forked), its namespaces (with every veth, bridge and firewall rule in
    them), its work directory, then the ledger entry. Returns what was removed."""
    removed = _stop(record.processes)
    if any(os.path.exists(netns_path(name)) for name in record.namespaces):
        from pyroute2 import netns

        for name in record.namespaces:
            if os.path.exists(netns_path(name)):
                netns.remove(name)
                removed.append(f"namespace {name}")
    if record.workdir and Path(record.workdir).is_dir():
        shutil.rmtree(record.workdir, ignore_errors=True)
    record.delete()
    return removed
