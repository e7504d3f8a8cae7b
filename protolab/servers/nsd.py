"""NSD, an authoritative-only name server, serving a node's zones for one run.

Everything it needs lives in its own directory of the run's work dir: the
configuration, a copy of each zone file, its pid and state files. It runs in
the foreground (-d) as root without chroot, on every address of its node.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Sequence

from ..backends.base import NodeHandle
from .dnsprobe import DnsProbe
from .process import NodeProgram, ServiceError
from ..models.zones import Zone, zone_file_name

PROGRAM = "nsd"
# NSD loads OpenSSL's default CA store at start (for zone transfers over TLS,
# which the lab never makes): parsing the system bundle costs tens of ms per
# server. OpenSSL's own variables point it at nothing instead.
NO_CA_STORE = {"SSL_CERT_FILE": "/dev/null", "SSL_CERT_DIR": "/nonexistent"}


def nsd_conf(directory: Path, zones: Sequence[Zone]) -> str:
    """The nsd.conf text for serving `zones` from `directory`."""
    lines = [
        "# written by protolab for one run",
        "server:",
        f'    zonesdir: "{directory}"',
        '    username: ""',
        '    chroot: ""',
        f'    pidfile: "{directory}/nsd.pid"',
        '    database: ""',
        f'    zonelistfile: "{directory}/zone.list"',
        f'    xfrdfile: "{directory}/xfrd.state"',
        f'    xfrdir: "{directory}"',
        "    ip-address: 0.0.0.0",
        "    do-ip6: no",
        "    server-count: 1",
        "    rrl-size: 1000",  # the default table costs ~30 MiB per server
        "    xfrd-tcp-max: 1",  # no zone transfers: the defaults cost 16384 getrandom() calls at start
        "    xfrd-tcp-pipeline: 1",
        "    hide-version: yes",
        "    verbosity: 1",
        "    refuse-any: yes",
        "remote-control:",
        "    control-enable: no",
    ]
    for zone in zones:
        lines += ["zone:", f'    name: "{zone.origin}"', f'    zonefile: "{zone_file_name(zone.origin)}"']
    return "\n".join(lines) + "\n"


def nsd_program(node: NodeHandle, zones: Sequence[Zone], directory: Path) -> NodeProgram:
    """NSD for `zones` in `node`, configured in `directory` (created); not started yet."""
    if not zones:
        raise ServiceError(f"nsd in node {node.name}: no zones to serve")
    if shutil.which(PROGRAM) is None:
        raise ServiceError("nsd is not installed (scripts/bootstrap installs it)")
    directory.mkdir(parents=True, exist_ok=True)
    for zone in zones:
        shutil.copyfile(zone.path, directory / zone_file_name(zone.origin))
    conf = directory / "nsd.conf"
    conf.write_text(nsd_conf(directory, zones))
    probe = DnsProbe(node, zones[0].origin, "SOA")
    return NodeProgram(
        node, [PROGRAM, "-d", "-c", str(conf)], what="nsd", log=directory / "nsd.log", probe=probe, close=probe.close,
        env={**os.environ, **NO_CA_STORE},
    )
