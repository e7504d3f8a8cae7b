"""The UDP echo lab for real: hand-made datagrams, a real echo service on web, web's kernel on a closed port."""

from __future__ import annotations

from pathlib import Path

import pytest

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "udp_echo"
MESSAGES = [b"one", b"two", b"three"]


@pytest.fixture(scope="module")
def lab():
    return load_lab("udp_echo")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def test_the_reference_passes_and_each_echo_follows_its_datagram(lab, tmp_path):
    result = run(lab, tmp_path, port=7007)
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert result.facts == {"echoes": MESSAGES, "web.received": MESSAGES}
    frames = [item(v, name).frames[0] for name in (
        "datagram 1 to web's echo port", "web echoes datagram 1", "datagram 2 to web's echo port",
        "web echoes datagram 2", "datagram 3 to web's echo port", "web echoes datagram 3")]
    assert frames == sorted(frames)
    unreachable = result.trace[item(v, "web's kernel: port unreachable").frames[0]]
    assert unreachable.sender == "web" and (unreachable.get("icmp.type"), unreachable.get("icmp.code")) == (3, 3)


def test_a_hard_coded_port_is_explained_by_the_nearest_frame(lab, tmp_path):
    result = run(lab, tmp_path, "wrong_port.py", port=7007)
    v = result.verdict
    assert v.status is Status.FAIL
    first = item(v, "datagram 1 to web's echo port")
    assert first.status is Status.FAIL and first.frames == ()
    assert "no frame in the whole capture matches; the closest is frame #" in first.messages[0]
    assert "udp.dport is 7, expected 7007" in first.messages[0]
    assert item(v, "web echoes datagram 1").status is Status.SKIPPED
    assert result.facts["web.received"] == []


def test_one_datagram_for_three_messages_is_explained_by_the_rule(lab, tmp_path):
    result = run(lab, tmp_path, "one_datagram.py")
    v = result.verdict
    first = item(v, "datagram 1 to web's echo port")
    assert first.status is Status.FAIL and len(first.frames) == 1  # the frame was found: the check explains it
    assert "datagram 1 carries message 1 alone — but udp.payload is b'onetwothree', expected b'one'" in first.messages[0]
    second = item(v, "datagram 2 to web's echo port")
    assert second.status is Status.FAIL and "udp.dport is 9, expected 7" in second.messages[0]
    assert result.facts["web.received"] == [b"onetwothree"]
    assert item(v, "web's kernel: port unreachable").status is Status.PASS


def test_tcp_instead_of_datagrams_breaks_the_never_rule(lab, tmp_path):
    result = run(lab, tmp_path, "uses_tcp.py")
    v = result.verdict
    tcp = item(v, "no TCP to the echo port")
    assert tcp.status is Status.FAIL
    assert "SYN" in tcp.messages[0] and "UDP needs no connection" in tcp.messages[0]
    assert any("raised ConnectionRefusedError" in n for n in v.notes), v.notes
    assert "the frame has no udp.dport" in item(v, "datagram 1 to web's echo port").messages[0]


def test_returning_scapy_packets_is_a_clear_problem_not_a_repr(lab, tmp_path):
    result = run(lab, tmp_path, "returns_packets.py")
    v = result.verdict
    assert v.status is Status.FAIL
    assert item(v, "web echoes datagram 3").status is Status.PASS  # what it did on the wire was right
    assert result.facts["echoes"] is None
    assert ("your echo() returned a list holding a scapy.layers.inet.IP, which cannot leave the sandbox: "
            "return numbers, strings, bytes, tuples, lists, dicts") in v.notes


def test_without_the_guard_the_client_kernel_refuses_the_echoes(lab, tmp_path):
    result = run(lab, tmp_path, guard=False)
    rule = item(result.verdict, "no port unreachable from the client")
    assert rule.status is Status.FAIL
    frame = result.trace[rule.frames[0]]
    assert frame.sender == "client" and frame.get("icmp.code") == 3


def test_the_port_and_the_closed_port_must_differ(lab, tmp_path):
    from protolab.errors import LabError

    with pytest.raises(LabError, match="^lab udp_echo: port and closed_port must differ$"):
        run(lab, tmp_path, port=9)
