"""The handshake lab for real: namespaces, a kernel listener, hand-made segments, capture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scapy.utils import PcapNgReader

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from protolab.lab.offline import check_capture
from tests.root.labrun import explain as text, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions"


@pytest.fixture(scope="module")
def lab():
    return load_lab("handshake")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def test_reference_solution_passes(lab, tmp_path):
    result = run(lab, tmp_path)
    assert result.verdict.status is Status.PASS, text(result.verdict)
    assert result.facts == {"web.accepted": True, "web.state": "ESTABLISHED"}
    bindings = result.verdict.bindings
    syn_ack = result.trace[item(result.verdict, "SYN-ACK from web").frames[0]]
    assert syn_ack.get("tcp.ack") == (bindings["isn"] + 1) % 2**32
    # the SYN crosses both LANs: the router rewrites the MACs, not the IP header
    syns = [f for f in result.trace if f.has("tcp") and f.get("tcp.flags") == "S"]
    assert [f.link for f in syns] == ["lan1", "lan2"]
    assert syns[0].get("ip.src") == syns[1].get("ip.src") == "10.0.1.10"
    assert syns[0].get("eth.dst") == "02:00:00:00:01:01" and syns[1].get("eth.src") == "02:00:00:00:02:01"
    assert syns[1].get("ip.ttl") == syns[0].get("ip.ttl") - 1


def test_run_writes_a_pcap_wireshark_can_read_and_a_json_report(lab, tmp_path):
    result = run(lab, tmp_path)
    packets = list(PcapNgReader(str(result.pcap)))
    assert len(packets) == len(result.trace)
    report = json.loads(result.report.read_text())
    assert report["status"] == "PASS"
    assert report["extra"]["facts"]["web.state"] == "ESTABLISHED"


def test_stored_capture_is_checked_offline_by_the_same_core(lab, tmp_path):
    result = run(lab, tmp_path)
    offline = check_capture(lab, result.pcap, {})
    verdict, trace = offline.verdict, offline.trace
    assert verdict.status is Status.PASS
    assert len(trace) == len(result.trace)
    assert any("offline" in note for note in verdict.notes)


def test_wrong_ack_is_explained_with_both_numbers(lab, tmp_path):
    result = run(lab, tmp_path, "wrong_ack.py")
    v = result.verdict
    assert v.status is Status.FAIL
    ack_step = item(v, "ACK from client")
    assert ack_step.status is Status.FAIL
    server_isn = v.bindings["server_isn"]
    message = " ".join(ack_step.messages)
    assert "acknowledges web's ISN + 1" in message
    assert f"tcp.ack is {server_isn}," in message and f"= {(server_isn + 1) % 2**32}" in message
    # web's kernel refuses the bad acknowledgement with a RST
    assert item(v, "no RST from web").status is Status.FAIL
    assert result.facts["web.accepted"] is False


def test_missing_final_ack_leaves_the_server_waiting(lab, tmp_path):
    result = run(lab, tmp_path, "no_final_ack.py")
    v = result.verdict
    assert v.status is Status.FAIL
    assert item(v, "SYN-ACK from web").status is Status.PASS
    missing = item(v, "ACK from client")
    assert missing.status is Status.FAIL and missing.frames == ()
    assert "after SYN-ACK from web" in missing.messages[0]
    assert result.facts == {"web.accepted": False, "web.state": "SYN_RECV"}
    assert item(v, "web's kernel holds the connection as ESTABLISHED").messages == ("web.state is 'SYN_RECV', expected 'ESTABLISHED'",)


def test_without_the_guard_the_client_kernel_resets_the_connection(lab, tmp_path):
    result = run(lab, tmp_path, guard=False)
    v = result.verdict
    assert v.status is Status.FAIL
    rst = item(v, "no RST from the client")
    assert rst.status is Status.FAIL
    frame = result.trace[rst.frames[0]]
    assert frame.sender == "client" and "R" in frame.get("tcp.flags")
    assert "after frame" in rst.messages[0] and "SYN-ACK" in rst.messages[0]
    assert "had no socket for this hand-made connection" in rst.messages[0]
    assert result.facts["web.accepted"] is False


def test_a_crashing_solution_fails_with_a_readable_message(lab, tmp_path):
    result = run(lab, tmp_path, "raises.py")
    assert result.verdict.status is Status.FAIL
    note = next(n for n in result.verdict.notes if "connect()" in n)
    assert "raised ValueError: forgot how to read a SYN-ACK (raises.py:7, in connect)" in note
    assert item(result.verdict, "SYN from client").status is Status.PASS  # what it did send is still checked


def test_a_hanging_solution_is_stopped_within_the_timeout(lab, tmp_path):
    result = run(lab, tmp_path, "hangs.py", timeout=0.5)
    assert result.verdict.status is Status.FAIL
    assert any("did not return within 0.5 s" in n for n in result.verdict.notes)
    assert result.timings["lab"] < 5


@pytest.mark.parametrize(
    ("solution", "expected"),
    [("syntax_error.py", "syntax_error.py:1: syntax error"), ("no_function.py", "defines no function connect()")],
)
def test_an_unusable_solution_file_is_graded_as_a_failure(lab, tmp_path, solution, expected):
    result = run(lab, tmp_path, solution)
    assert result.verdict.status is Status.FAIL
    assert any(expected in n for n in result.verdict.notes), result.verdict.notes


def test_an_isn_of_2_32_minus_1_passes_its_syn_ack_wraps_to_ack_0(lab, tmp_path):
    result = run(lab, tmp_path, "isn_max.py")
    assert result.verdict.status is Status.PASS, text(result.verdict)
    assert result.verdict.bindings["isn"] == 2**32 - 1
    synack = result.trace[item(result.verdict, "SYN-ACK from web").frames[0]]
    assert synack.get("tcp.ack") == 0
