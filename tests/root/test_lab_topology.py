"""Labs that declare their own network: deployed as declared, recorded in the capture, checked on it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.utils import rdpcap

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from protolab.lab.offline import check_capture
from protolab.lab.runner import RunOptions, run_lab

pytestmark = pytest.mark.root

LABS = Path(__file__).resolve().parent / "labs_topology"
PROTOLAB = [sys.executable, "-m", "protolab.cli"]


@pytest.fixture
def pmtu(monkeypatch):
    monkeypatch.setenv("PROTOLAB_LABS", str(LABS))
    return load_lab("pmtu")


def run(lab, out: Path, fresh: bool = True):
    return run_lab(lab, RunOptions(out_dir=out, fresh=fresh))


def frag_needed_mtus(pcap: Path) -> list[int]:
    """The next-hop MTUs of every ICMP "fragmentation needed" in the capture (scapy, not protolab's decoder)."""
    return [p[ICMP].nexthopmtu for p in rdpcap(str(pcap)) if ICMP in p and p[ICMP].type == 3 and p[ICMP].code == 4]


def test_a_lab_runs_on_the_network_it_declares(pmtu, tmp_path):
    result = run(pmtu, tmp_path)
    assert result.verdict.status is Status.PASS, "\n".join(result.verdict.explanations())
    assert result.topology.lan("lan2").mtu == 1400
    assert frag_needed_mtus(result.pcap) == [1400]  # the router's kernel saw a 1400-byte link


def test_the_same_lab_on_the_default_network_sees_no_smaller_link(pmtu, tmp_path):
    result = run(dataclasses.replace(pmtu, topology=""), tmp_path)
    assert result.verdict.status is Status.FAIL
    assert frag_needed_mtus(result.pcap) == []


def test_check_uses_the_network_the_capture_was_made_on(pmtu, tmp_path):
    pcap = run(pmtu, tmp_path / "run").pcap
    on_default = dataclasses.replace(pmtu, topology="")  # the lab file changed since: the capture still says 1400
    offline = check_capture(on_default, pcap, {})
    assert offline.topology.lan("lan2").mtu == 1400
    assert offline.verdict.status is Status.PASS, "\n".join(offline.verdict.explanations())


def protolab(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROTOLAB_LABS": str(LABS)}
    return subprocess.run([*PROTOLAB, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_a_network_that_is_up_serves_only_the_labs_it_was_made_for(tmp_path):
    default_up = protolab("up")
    assert default_up.returncode == 0, default_up.stderr
    default_id = default_up.stdout.split("run ")[1].split()[0]
    lab_id = None
    try:
        first = protolab("run", "pmtu", "--out", str(tmp_path / "a"))
        assert first.returncode == 0, first.stdout
        assert "on a fresh topology" in first.stdout  # the default network that is up is not pmtu's
        lab_up = protolab("up", "--lab", "pmtu")
        assert lab_up.returncode == 0, lab_up.stderr
        lab_id = lab_up.stdout.split("run ")[1].split()[0]
        second = protolab("run", "pmtu", "--out", str(tmp_path / "b"))
        assert second.returncode == 0, second.stdout
        assert f"run {lab_id} on the topology that is up" in second.stdout
    finally:
        for run_id in (default_id, lab_id):
            if run_id:
                assert protolab("down", run_id).returncode == 0


def test_up_with_both_a_file_and_a_lab_is_one_line_exit_2(tmp_path):
    both = protolab("up", "--lab", "pmtu", "--topology", str(LABS / "pmtu.toml"))
    assert both.returncode == 2 and "give --topology or --lab, not both" in both.stderr
    assert len(both.stderr.strip().splitlines()) == 1
