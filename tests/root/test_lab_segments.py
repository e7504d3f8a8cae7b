"""The segments lab for real, on its own network (labs/segments.toml: a 1400-byte server LAN, far
behind it): the MSS of each side, a write cut into segments, a small MSS announced by hand, path
MTU discovery; with the reference, on a fresh and on a kept-up network, and with the mistakes
students make."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, TCPerror
from scapy.utils import rdpcap

from protolab.backends.netns import NetnsBackend
from protolab.expect import Status
from protolab.kernel.pmtu import learned_pmtu
from protolab.lab.catalog import load_lab
from protolab.lab.network import lab_topology
from protolab.lab.runner import RunOptions, run_lab
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "segments"
CLIENT, WEB, FAR, ROUTER = "10.0.1.10", "10.0.2.80", "10.0.3.80", "10.0.1.1"


@pytest.fixture(scope="module")
def lab():
    return load_lab("segments")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def payload_len(p) -> int:
    return p[IP].len - p[IP].ihl * 4 - p[TCP].dataofs * 4


def wire(pcap: Path) -> dict:
    """Read with scapy's rdpcap, not protolab's decoder."""
    packets = [p for p in rdpcap(str(pcap)) if IP in p]
    lan1 = [p for p in packets if p.sniffed_on == "lan1"]
    tcp1 = [p for p in lan1 if TCP in p]
    syns = [p for p in tcp1 if p[IP].src == CLIENT and p[IP].dst == WEB and str(p[TCP].flags) == "S"]
    kernel = next(p for p in syns if dict(p[TCP].options).get("MSS") != 500)
    synack = next(p for p in tcp1 if p[IP].src == WEB and p[TCP].dport == kernel[TCP].sport and str(p[TCP].flags) == "SA")
    to_web = {p[TCP].seq: payload_len(p) for p in tcp1 if p[IP].dst == WEB and p[TCP].sport == kernel[TCP].sport
              and payload_len(p) > 0}
    hand = next(p for p in syns if p is not kernel)
    from_web = [payload_len(p) for p in packets if p.sniffed_on == "lan2" and TCP in p and p[IP].src == WEB
                and p[TCP].dport == hand[TCP].sport and payload_len(p) > 0]
    errors = [p for p in lan1 if ICMP in p and p[IP].src == ROUTER and (p[ICMP].type, p[ICMP].code) == (3, 4)]
    to_far = [p for p in tcp1 if p[IP].dst == FAR and payload_len(p) > 0]
    return {"mss": (dict(kernel[TCP].options)["MSS"], dict(synack[TCP].options)["MSS"]), "to_web": to_web,
            "hand_mss": dict(hand[TCP].options).get("MSS"), "from_web": from_web, "errors": errors, "to_far": to_far,
            "lan2_largest": max(p[IP].len for p in packets if p.sniffed_on == "lan2")}


def test_the_reference_passes_and_the_capture_shows_the_sizes(lab, tmp_path):
    result = run(lab, tmp_path)
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    seen = wire(result.pcap)
    assert seen["mss"] == (1460, 1360)  # the client's 1500-byte link, web's 1400-byte one
    sizes = list(seen["to_web"].values())
    assert sum(sizes) == 10000 and max(sizes) == 1348 == result.facts["largest"]  # 1360 less 12 of timestamps
    assert len(sizes) == 8 == result.facts["segments"]
    assert seen["hand_mss"] == 500 and seen["from_web"] == [500, 500, 500, 500] == result.facts["small"]
    # the router's error names 1400 and quotes the client's segment to far; what follows fits in 1400
    first = seen["errors"][0]
    assert first[ICMP].nexthopmtu == 1400 == result.facts["pmtu"]
    quoted = first[TCPerror]
    big = next(p for p in seen["to_far"] if p[TCP].seq == quoted.seq)
    assert big[IP].len > 1400 and big[IP].flags.DF
    again = [p for p in seen["to_far"] if p[TCP].seq == quoted.seq and p.time > first.time]
    assert again and all(p[IP].len <= 1400 for p in again)
    assert seen["lan2_largest"] <= 1400  # nothing bigger ever crossed the server LAN
    assert result.facts["client.pmtu"] == 1400 and result.facts["far.read"] == 10000 == result.facts["web.read"]


def test_on_a_network_kept_up_the_learned_path_mtu_is_forgotten_first(lab, tmp_path, monkeypatch):
    deployment = NetnsBackend().deploy(lab_topology(lab))
    try:
        for n in (1, 2):
            result = run_lab(lab, RunOptions(out_dir=tmp_path / str(n), deployment=deployment))
            assert result.verdict.status is Status.PASS, explain(result.verdict)
            assert len(wire(result.pcap)["errors"]) >= 1  # the second run met the narrow LAN again
            assert learned_pmtu(deployment.node("client"), FAR) == 1400  # what carries over to the next run
        # without forgetting it, the client's kernel already knows the path: nothing too big, no error
        monkeypatch.setitem(lab.procedure.__globals__, "forget_pmtu", lambda node: None)
        stale = run_lab(lab, RunOptions(out_dir=tmp_path / "stale", deployment=deployment))
        assert item(stale.verdict, "a segment too big for the server LAN").status is Status.FAIL
        assert wire(stale.pcap)["errors"] == []
    finally:
        deployment.teardown()


def test_predicting_from_its_own_mss_is_explained(lab, tmp_path):
    result = run(lab, tmp_path, "own_mss.py")
    v = result.verdict
    count = next(i for i in v.items if i.name.startswith("your count of the segments of the 10000-byte write"))
    assert count.messages == ("segments is 7, expected wire.segments = 8",)
    assert "the MSS the other side announced" in count.name
    assert "largest is 1448, expected wire.largest = 1348" in item(v, "your largest segment payload (the same rule)").messages[0]
    assert [i.name for i in v.items if i.status is not Status.PASS] == [
        count.name, "your largest segment payload (the same rule)"]  # the wire itself was right


def test_forgetting_the_timestamps_is_explained(lab, tmp_path):
    result = run(lab, tmp_path, "no_timestamps.py")
    v = result.verdict
    assert [i.name for i in v.items if i.status is not Status.PASS] == ["your largest segment payload (the same rule)"]
    assert "largest is 1360, expected wire.largest = 1348" in item(v, "your largest segment payload (the same rule)").messages[0]


def test_a_syn_without_the_mss_option_gets_web_s_default(lab, tmp_path):
    result = run(lab, tmp_path, "no_mss_option.py")
    v = result.verdict
    syn = item(v, "your SYN announces a small MSS")
    assert syn.status is Status.FAIL and "tcp.mss is None, expected 500" in syn.messages[0]
    sizes = item(v, "web's segments keep to your MSS")
    assert "tcp.len is 536, expected at most 500" in sizes.messages[0]  # RFC 1122's default without the option
    assert wire(result.pcap)["from_web"][0] == 536


def test_the_socket_s_segment_size_is_not_the_path_mtu(lab, tmp_path):
    result = run(lab, tmp_path, "pmtu_from_socket.py")
    v = result.verdict
    check = item(v, "the next-hop MTU the router named: 1400")
    assert check.status is Status.FAIL and check.messages == ("pmtu is 1348, expected 1400",)
    assert item(v, "your kernel learned the path MTU to far: 1400").status is Status.PASS


def test_a_slow_ack_makes_web_send_again(lab, tmp_path):
    result = run(lab, tmp_path, "slow_ack.py")
    rule = item(result.verdict, "web sends nothing twice")
    assert rule.status is Status.FAIL and "ACK web's data at once" in rule.messages[0]
    assert result.trace[rule.frames[0]].get("tcp.len") == 500
