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
from ..kernel.sysctl import write_sysctls
from .kernel_settings import QUIET, node_sysctls
from .ledger import RunRecord, new_record
from .nsenter import entered, netns_path
from .programs import NsenterDeployment
from .removal import destroy
from .wiring import add_bridges, add_ports, checksum_offload_off, configure_node, plan_ports

WORK_ROOT = Path("/run/protolab/work")


def ns_name(run_id: str, node: str) -> str:
    return f"plab-{run_id}-{node}"


def switch_ns(run_id: str) -> str:
    return ns_name(run_id, "sw")


@dataclass
class NetnsDeployment(NsenterDeployment):
    run_id: str
    topology: Topology
    record: RunRecord
    attached: bool = False  # True for a topology brought up with `protolab up` that a run attaches to

    def netns_of(self, name: str) -> str:
        return netns_path(ns_name(self.run_id, name))

    def work_root(self) -> Path:
        return WORK_ROOT

    def capture_points(self) -> tuple[CapturePoint, ...]:
        return (CapturePoint(netns_path(switch_ns(self.run_id)), plan_ports(self.topology)),)

    def keep_up(self) -> None:
        """Only once complete: a half-built run stays a leftover for `clean`."""
        self.record.persistent = True
        self.record.save()

    def teardown(self) -> None:
        destroy(self.record)


class NetnsBackend:
    name = "netns"

    def deploy(self, topology: Topology, *, source: str = "") -> NetnsDeployment:
        if os.geteuid() != 0:
            raise BackendError("the netns backend needs root (network namespaces); run with sudo")
        run_id = secrets.token_hex(3)
        record = new_record(run_id, self.name, source or "default", False)
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
        return NetnsDeployment(record.run_id, topology, record, attached=True)


def _build(run_id: str, topology: Topology) -> None:
    """Create every namespace, bridge, veth, address and route of a run."""
    from pyroute2 import IPRoute

    with entered(switch_ns(run_id), create=True):
        write_sysctls(QUIET)
        sw = IPRoute()
    try:
        bridges = add_bridges(sw, topology)
        for node in topology.nodes:
            name = ns_name(run_id, node.name)
            with entered(name, create=True):
                write_sysctls(node_sysctls(node))  # before any interface exists: IPv6 off from the start
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

