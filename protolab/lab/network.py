"""The network a lab runs on: the packaged default, or a topology file beside the lab.

    LAB = Lab(..., topology="segments.toml")      # labs/segments.toml

The file may be a whole topology or start from the default and change only
what differs (`extends = "default"`, then e.g. `[lans.lan2] mtu = 1400`, an
extra LAN, a second router). A fresh run deploys it; a topology brought up
with `protolab up` is used only if it is the same network.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import LabError
from ..topology import load
from ..topology.model import Topology
from .api import Lab

DEFAULT_SOURCE = "default"  # how a run's ledger names the packaged topology


def topology_source(lab: Lab) -> str:
    """The lab's topology file as the ledger records it: an absolute path, or "default"."""
    if not lab.topology:
        return DEFAULT_SOURCE
    if not lab.source:
        raise LabError(f"lab {lab.name} names the topology {lab.topology!r} but has no file to find it beside")
    path = (Path(lab.source).parent / lab.topology).resolve()
    if not path.is_file():
        raise LabError(f"lab {lab.name}: its topology file {path} does not exist")
    return str(path)


def lab_topology(lab: Lab) -> Topology:
    """The network the lab runs on (TopologyError, one line, for a broken file)."""
    source = topology_source(lab)
    return load(None if source == DEFAULT_SOURCE else source)


def mismatch(lab: Lab, running: Topology, wanted: Topology) -> str | None:
    """Why a network that is up cannot serve the lab (None if it can)."""
    if running == wanted:
        return None
    return (f"lab {lab.name} runs on the topology '{wanted.name}' ({lab.topology or 'the default'}), "
            f"but the network that is up runs '{running.name}'")
