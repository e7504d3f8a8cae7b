"""The multiplex lab for real: two interleaved hand-made connections to web:80, a segment for no
connection, two UDP ports, with the reference and with the mistakes students make."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.utils import rdpcap

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "multiplex"
CLIENT, WEB = "10.0.1.10", "10.0.2.80"
READ = {"A": b"appleapricot", "B": b"bananablueberry"}


@pytest.fixture(scope="module")
def lab():
    return load_lab("multiplex")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def test_the_reference_passes_and_the_capture_shows_two_4_tuples_interleaved(lab, tmp_path):
    result = run(lab, tmp_path, port=8080, udp_port=6001)
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert result.facts["web.accepted"] == ["A", "B"] == result.facts["web.sockets"]
    assert result.facts["web.read"] == READ
    assert result.facts["web.udp(6001)"] == [b"for port 6001"] and result.facts["web.udp(6002)"] == [b"for port 6002"]
    # read with scapy's rdpcap, not protolab's decoder: the client's link
    lan1 = [p for p in rdpcap(str(result.pcap)) if p.sniffed_on == "lan1" and IP in p]
    syns = [p[TCP].sport for p in lan1 if TCP in p and p[IP].src == CLIENT and str(p[TCP].flags) == "S"]
    assert len(syns) == 2 and syns[0] != syns[1]  # same addresses, same server port: the client port tells them apart
    data = [(p[TCP].sport, bytes(p[TCP].payload)) for p in lan1
            if TCP in p and p[IP].src == CLIENT and p[TCP].dport == 8080 and p[TCP].sport in syns and len(p[TCP].payload)]
    assert data == [(syns[0], b"apple"), (syns[1], b"banana"), (syns[0], b"apricot"), (syns[1], b"blueberry")]
    resets = [p for p in lan1 if TCP in p and p[IP].src == WEB and p[TCP].flags.R]
    assert len(resets) == 1 and resets[0][TCP].dport not in syns
    assert sorted(p[UDP].dport for p in lan1 if UDP in p and p[IP].src == CLIENT) == [6001, 6002]


def test_connections_one_after_the_other_are_not_interleaved(lab, tmp_path):
    result = run(lab, tmp_path, "sequential.py")
    v = result.verdict
    second = item(v, "A: data segment 2")
    assert second.status is Status.FAIL and "no frame after B: data segment 1" in second.messages[0]
    assert "Interleave the connections" in second.messages[0]
    assert item(v, "B: data segment 2").status is Status.SKIPPED
    assert result.facts["web.read"] == READ  # web demultiplexed them all the same: the order is the lesson


def test_one_pair_of_counters_for_both_connections_is_explained(lab, tmp_path):
    result = run(lab, tmp_path, "shared_counters.py")
    v = result.verdict
    b1 = item(v, "B: data segment 1")
    assert b1.status is Status.FAIL and len(b1.frames) == 1
    assert "B's own numbering: seq = B's ISN + 1 — but tcp.seq is" in b1.messages[0]
    assert result.facts["web.read"] == {"A": b"apple", "B": b""}  # out of B's window: web's kernel dropped it
    assert item(v, "each connection's application read its own bytes only, in order").status is Status.FAIL


def test_a_stray_segment_from_an_open_connection_gets_no_rst(lab, tmp_path):
    result = run(lab, tmp_path, "stray_from_open_port.py")
    v = result.verdict
    stray = item(v, "a segment for no connection")
    assert stray.status is Status.FAIL
    assert "PSH-ACK seq=1 ack=1 len=7): tcp.sport is" in stray.messages[0] and "expected anything but cA" in stray.messages[0]
    assert "a segment from A's or B's port belongs to that connection" in stray.messages[0]
    assert item(v, "web's kernel: RST").status is Status.SKIPPED
    assert item(v, "no RST from web on A or B").status is Status.PASS


def test_both_datagrams_to_one_port_reach_that_socket_only(lab, tmp_path):
    result = run(lab, tmp_path, "one_udp_port.py")
    v = result.verdict
    assert "udp.dport is 5001, expected 5002" in item(v, "a datagram to UDP port 5002").messages[0]
    assert result.facts["web.udp(5001)"] == [b"for port 5001", b"for port 5002"] and result.facts["web.udp(5002)"] == []
    assert [i.name for i in v.items if i.status is not Status.PASS] == [
        "a datagram to UDP port 5002", "web's socket on UDP port 5001 received its datagram only",
        "web's socket on UDP port 5002 received its datagram only"]
