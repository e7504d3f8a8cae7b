"""The lab's whole DNS: every name server and resolver of the topology, for one run.

    with DnsServers(deployment) as dns:
        dns.data.lookup(...)        # the zone data they serve
        dns.ready_after             # seconds from the first launch until all answered

Configurations are written into the run's work directory (one folder per
node), every server is launched inside its node, then all are probed until
they answer, so their start-up times overlap. Leaving the block stops and
waits for every one of them, also after Ctrl-C or an error.
"""

from __future__ import annotations

import shutil
import time
from ..backends.base import Deployment
from ..models.zones import DnsData
from .nsd import nsd_program
from .process import NodeProgram, ServiceError, start_together, stop_all
from .unbound import unbound_program


class DnsServers:
    """NSD on every node with zones, Unbound on every resolver node."""

    def __init__(self, deployment: Deployment, data: DnsData | None = None, ready_timeout: float = 3.0) -> None:
        self.deployment = deployment
        self.ready_timeout = ready_timeout
        self.data = data or DnsData.from_topology(deployment.topology)
        if not self.data.zones:
            raise ServiceError(f"topology '{deployment.topology.name}' declares no DNS zones (nsd services)")
        self.programs: list[NodeProgram] = []
        self.ready_after: float | None = None

    def __enter__(self) -> DnsServers:
        base = self.deployment.workdir / "dns"
        roots = self.data.root_hints()
        clients = [str(lan.subnet) for lan in self.deployment.topology.lans]
        start = time.monotonic()
        try:
            for node in self.data.servers:
                self.programs.append(nsd_program(self.deployment.node(node), self.data.served_by(node), base / node))
            for node in self.data.resolvers:
                self.programs.append(unbound_program(self.deployment.node(node), roots, base / node, clients))
            for program in self.programs:
                program.ready_timeout = self.ready_timeout
            start_together(self.programs)
        except BaseException:
            self.__exit__()  # also closes the probes of programs never started
            raise
        self.ready_after = time.monotonic() - start
        return self

    def __exit__(self, *exc: object) -> None:
        programs, self.programs = self.programs, []
        try:
            stop_all(programs)
        finally:
            shutil.rmtree(self.deployment.workdir / "dns", ignore_errors=True)

    def address(self, node: str) -> str:
        return self.data.addresses[node]
