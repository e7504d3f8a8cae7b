"""The udp lab for real: datagrams and their echoes, a TCP stream of the same messages, two closed
ports and a DNS question, with the reference and with the mistakes students make."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.utils import rdpcap

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "udp"
MESSAGES = [b"one", b"two", b"three"]
CLIENT, WEB, DNS = "10.0.1.10", "10.0.2.80", "10.0.2.13"


@pytest.fixture(scope="module")
def lab():
    return load_lab("udp")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def on_lan1(pcap: Path) -> list:
    """The client's link, read with scapy's rdpcap (not protolab's decoder)."""
    return [p for p in rdpcap(str(pcap)) if p.sniffed_on == "lan1" and IP in p]


def test_the_reference_passes_and_the_capture_shows_each_boundary(lab, tmp_path):
    result = run(lab, tmp_path, port=7007)
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert result.facts["web.received"] == MESSAGES and result.facts["web.reads"] == [b"onetwothree"]
    assert result.facts["lengths"] == [11, 11, 13] and result.facts["address"] == WEB
    lan1 = on_lan1(result.pcap)
    # three datagrams out, three echoes back, each one message, the UDP length its header + payload
    out = [p[UDP] for p in lan1 if UDP in p and ICMP not in p and p[IP].src == CLIENT and p[UDP].dport == 7007]
    back = [p[UDP] for p in lan1 if UDP in p and ICMP not in p and p[IP].src == WEB and p[UDP].sport == 7007]
    assert [bytes(u.payload) for u in out] == MESSAGES == [bytes(u.payload) for u in back]
    assert [u.len for u in back] == [8 + len(m) for m in MESSAGES]
    assert [u.chksum for u in back] == result.facts["checksums"]
    # TCP: the stream carried the same bytes, web read them at once; the first segment was message 1 alone
    data = [bytes(p[TCP].payload)[: p[IP].len - 20 - p[TCP].dataofs * 4] for p in lan1
            if TCP in p and p[IP].src == CLIENT and p[TCP].dport == 7007]
    data = [d for d in data if d]
    assert data[0] == b"one" and b"".join(data) == b"onetwothree"
    # the closed ports: ICMP type 3 code 3 from web for UDP, a RST-ACK for TCP
    unreachable = [p for p in lan1 if ICMP in p and p[IP].src == WEB]
    assert [(p[ICMP].type, p[ICMP].code) for p in unreachable] == [(3, 3)]
    assert [str(p[TCP].flags) for p in lan1 if TCP in p and p[IP].src == WEB and p[TCP].sport == 9] == ["RA"]
    # DNS: one datagram each way, and no TCP to the server at all
    dns = [p for p in lan1 if UDP in p and 53 in (p[UDP].sport, p[UDP].dport)]
    assert [p[IP].src for p in dns] == [CLIENT, DNS]
    assert not [p for p in lan1 if TCP in p and DNS in (p[IP].src, p[IP].dst)]


def test_one_datagram_for_three_messages_is_explained_by_the_rule(lab, tmp_path):
    result = run(lab, tmp_path, "one_datagram.py")
    v = result.verdict
    first = item(v, "datagram 1 to web's echo port")
    assert first.status is Status.FAIL and len(first.frames) == 1
    assert "datagram 1 carries message 1 alone — but udp.payload is b'onetwothree', expected b'one'" in first.messages[0]
    assert result.facts["web.received"] == [b"onetwothree"]  # one recvfrom(), one message: the datagram kept its bounds
    assert item(v, "web's echo service made three recvfrom() calls, each returning one whole message").status is Status.FAIL
    assert item(v, "the DNS answer: one datagram").status is Status.PASS  # the rest of the run is judged on its own


def test_a_udp_length_without_its_header_is_explained(lab, tmp_path):
    result = run(lab, tmp_path, "length_without_header.py")
    v = result.verdict
    check = item(v, "the UDP length field counts the 8-byte header and the payload")
    assert check.status is Status.FAIL
    assert "[3, 3, 5]" in " ".join(check.messages) and "[11, 11, 13]" in " ".join(check.messages)
    assert [i.name for i in v.items if i.status is not Status.PASS] == [check.name]


def test_one_send_for_three_messages_shows_in_the_first_segment(lab, tmp_path):
    result = run(lab, tmp_path, "one_send.py")
    v = result.verdict
    first = item(v, "the first data segment")
    assert first.status is Status.FAIL
    assert "but tcp.payload is b'onetwothree', expected b'one'" in first.messages[0]
    assert result.facts["web.reads"] == [b"onetwothree"]  # web cannot tell: the stream looks the same to it


def test_dns_over_tcp_breaks_the_datagram_rule(lab, tmp_path):
    result = run(lab, tmp_path, "dns_over_tcp.py")
    v = result.verdict
    rule = item(v, "DNS in datagrams, not over TCP")
    assert rule.status is Status.FAIL and "SYN" in rule.messages[0]
    assert "TCP would cost a handshake before the question" in rule.messages[0]
    question = item(v, "the DNS question: one datagram")
    assert question.status is Status.FAIL and "no frame" in question.messages[0]
    assert result.facts["address"] == WEB  # the answer was right: how it was asked is what fails


def test_without_the_guard_the_client_kernel_refuses_the_echoes(lab, tmp_path):
    result = run(lab, tmp_path, guard=False)
    rule = item(result.verdict, "no port unreachable from the client")
    assert rule.status is Status.FAIL
    frame = result.trace[rule.frames[0]]
    assert frame.sender == "client" and frame.get("icmp.code") == 3


def test_port_53_is_refused_as_a_parameter(lab, tmp_path):
    from protolab.errors import LabError

    with pytest.raises(LabError, match="^lab udp: port 53 is the DNS server's$"):
        run(lab, tmp_path, closed_port=53)


def test_runs_in_a_row_on_a_network_kept_up_each_see_their_port_unreachable(lab, tmp_path):
    from protolab.backends.netns import NetnsBackend
    from protolab.lab.network import lab_topology
    from protolab.lab.runner import RunOptions, run_lab

    deployment = NetnsBackend().deploy(lab_topology(lab))
    web = deployment.node("web")
    limit = web.run(["sysctl", "-n", "net.ipv4.icmp_ratelimit"]).stdout.strip()
    try:
        for n in range(15):  # more ICMP errors to one host than the kernel allows in this time (a burst of 6, then 1 a second)
            result = run_lab(lab, RunOptions(out_dir=tmp_path / str(n), deployment=deployment))
            assert result.verdict.status is Status.PASS, explain(result.verdict)
        assert web.run(["sysctl", "-n", "net.ipv4.icmp_ratelimit"]).stdout.strip() == limit != "0"  # put back
    finally:
        deployment.teardown()
