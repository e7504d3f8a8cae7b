"""`protolab compose --lab`: the stack of a lab that declares its own network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from protolab.backends.compose_file import ENV_TOPOLOGY, TOPOLOGY_IN_CONTAINER
from protolab.topology import loads

LABS = Path(__file__).resolve().parent.parent / "root" / "labs_topology"


def compose(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROTOLAB_LABS": str(LABS)}
    return subprocess.run([sys.executable, "-m", "protolab.cli", "compose", *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)


def test_the_stack_of_a_lab_mounts_its_topology_and_every_node_reads_it(tmp_path):
    out = tmp_path / "pmtu.yml"
    result = compose("--lab", "pmtu", "-o", str(out))
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(out.read_text())["services"]
    mounted = f"{LABS / 'pmtu.toml'}:{TOPOLOGY_IN_CONTAINER}:ro"
    nodes = [s for name, s in services.items() if name != "lan-switch"]
    assert nodes and all(mounted in s["volumes"] and s["environment"][ENV_TOPOLOGY] == TOPOLOGY_IN_CONTAINER
                         for s in nodes)
    # what a container reads at TOPOLOGY_IN_CONTAINER: the file alone, its base from the image's package
    inside = loads((LABS / "pmtu.toml").read_text(), TOPOLOGY_IN_CONTAINER)
    assert inside.lan("lan2").mtu == 1400


def test_an_unknown_lab_is_one_line_exit_2(tmp_path):
    result = compose("--lab", "nosuchlab", "-o", str(tmp_path / "x.yml"))
    assert result.returncode == 2 and "no lab named 'nosuchlab'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
