"""The embedded default backend: one network namespace per node, built in-process with pyroute2.

Layout of a run `r`: namespace `plab-r-sw` holds one bridge per LAN; every node
gets namespace `plab-r-<node>`; the links are wired as on every backend
(wiring.py): nothing ever appears in the root namespace and no route leads
out of the lab.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..capture.frames import CapturePoint
from ..errors import BackendError
from ..topology import load
from ..topology.model import Topology
from .kernel_settings import QUIET, node_sysctls, proc_path
from .ledger import OwnedProcess, RunRecord, new_record
from .nsenter import entered, netns_path
from .pids import alive, family, stop_process
from .programs import NsenterDeployment
from .wiring import add_bridges, add_ports, checksum_offload_off, configure_node, plan_ports

WORK_ROOT = Path("/run/protolab/work")


def ns_name(run_id: str, node: str) -> str:
    return f"plab-{run_id}-{node}"


def switch_ns(run_id: str) -> str:
    return ns_name(run_id, "sw")


def _sysctl(path: str, value: str) -> None:
    """Write a sysctl of the namespace the calling thread is in."""
    with open(f"/proc/sys/{path}", "w") as f:
        f.write(value)


def _apply(settings: dict[str, str]) -> None:
    """Write sysctls in the entered namespace, before any interface exists (IPv6 off from the start)."""
    for name, value in settings.items():
        _sysctl(proc_path(name), value)


@dataclass
class NetnsDeployment(NsenterDeployment):
    run_id: str
    topology: Topology
    record: RunRecord

    def netns_of(self, name: str) -> str:
        return netns_path(ns_name(self.run_id, name))

    def work_root(self) -> Path:
        return WORK_ROOT

    def capture_points(self) -> tuple[CapturePoint, ...]:
        return (CapturePoint(netns_path(switch_ns(self.run_id)), plan_ports(self.topology)),)

    def teardown(self) -> None:
        destroy(self.record)


class NetnsBackend:
    name = "netns"

    def deploy(self, topology: Topology, *, persistent: bool = False, source: str = "") -> NetnsDeployment:
        if os.geteuid() != 0:
            raise BackendError("the netns backend needs root (network namespaces); run with sudo")
        run_id = secrets.token_hex(3)
        record = new_record(run_id, self.name, source or "default", persistent)
        record.namespaces = [switch_ns(run_id)] + [ns_name(run_id, n.name) for n in topology.nodes]
        record.save()  # intent first: a crash from here on is cleaned from the ledger
        deployment = NetnsDeployment(run_id, topology, record)
        try:
            _build(run_id, topology)
        except BaseException as exc:
            destroy(record)
            if isinstance(exc, (OSError, ValueError)) or type(exc).__module__.startswith("pyroute2"):
                raise BackendError(f"building the lab network failed: {exc}") from exc
            raise
        return deployment

    def attach(self, record: RunRecord) -> NetnsDeployment:
        topology = load(record.topology if record.topology != "default" else None)
        missing = [n for n in record.namespaces if not os.path.exists(netns_path(n))]
        if missing:
            raise BackendError(f"run {record.run_id} is incomplete (missing {missing[0]}): run 'protolab clean'")
        return NetnsDeployment(record.run_id, topology, record)


def _build(run_id: str, topology: Topology) -> None:
    """Create every namespace, bridge, veth, address and route of a run."""
    from pyroute2 import IPRoute

    with entered(switch_ns(run_id), create=True):
        _apply(QUIET)
        sw = IPRoute()
    try:
        bridges = add_bridges(sw, topology)
        for node in topology.nodes:
            name = ns_name(run_id, node.name)
            with entered(name, create=True):
                _apply(node_sysctls(node))  # before any interface exists: IPv6 off from the start
                ipr = IPRoute()
            try:
                fd = os.open(netns_path(name), os.O_RDONLY)
                try:
                    add_ports(sw, fd, node, topology, bridges)
                finally:
                    os.close(fd)
                with entered(name):  # the ioctl acts on the calling thread's namespace
                    checksum_offload_off(node)
                configure_node(ipr, node, topology)
            finally:
                ipr.close()
    finally:
        sw.close()


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
    from pyroute2 import netns

    removed = _stop(record.processes)
    for name in record.namespaces:
        if os.path.exists(netns_path(name)):
            netns.remove(name)
            removed.append(f"namespace {name}")
    if record.workdir and Path(record.workdir).is_dir():
        import shutil

        shutil.rmtree(record.workdir, ignore_errors=True)
    record.delete()
    return removed
