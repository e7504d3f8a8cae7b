"""The ARP lab for real: hand-made who-has, peer's kernel answering and learning,
silence for an unused address, a gratuitous ARP rewriting peer's cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from protolab.backends.netns import NetnsBackend
from protolab.errors import LabError
from protolab.expect import Status
from protolab.lab.api import LabContext
from protolab.lab.catalog import load_lab
from protolab.lab.offline import check_capture
from protolab.lab.runner import parse_params
from protolab.kernel.neighbours import neighbours
from protolab.topology import load
from tests.root.labrun import explain as text, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "arp"
CLIENT_MAC, CLIENT_IP = "02:00:00:00:01:10", "10.0.1.10"
PEER_MAC, PEER_IP = "02:00:00:00:01:20", "10.0.1.20"
BROADCAST = "ff:ff:ff:ff:ff:ff"
WHO_HAS_PEER = f"who-has {PEER_IP}"


@pytest.fixture(scope="module")
def lab():
    return load_lab("arp")


@pytest.fixture(scope="module")
def new_mac(lab):
    return sys.modules["protolab_lab_arp"].NEW_MAC


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def failed(verdict) -> set[str]:
    return {i.name for i in verdict.failures()}


def frame_of(result, name):
    return result.trace[item(result.verdict, name).frames[0]]


# --- the reference solution -----------------------------------------------------------------


def test_reference_resolves_peer_and_both_kernels_agree(lab, tmp_path, new_mac):
    result = run(lab, tmp_path)
    v = result.verdict
    assert v.status is Status.PASS, text(v)
    facts = result.facts
    assert facts["resolved"] == PEER_MAC
    assert facts["peer.client_mac"] == CLIENT_MAC and facts["peer.client_state"] == "STALE"
    assert facts["unresolved.answer"] is None
    assert facts["peer.before_announcement"] == CLIENT_MAC and facts["peer.after_announcement"] == new_mac

    question = frame_of(result, WHO_HAS_PEER)
    assert question.sender == "client" and question.receiver is None
    assert question.get("eth.type") == 0x0806 and question.get("eth.dst") == BROADCAST
    assert (question.get("arp.op"), question.get("arp.hwsrc"), question.get("arp.psrc"), question.get("arp.pdst")) == (1, CLIENT_MAC, CLIENT_IP, PEER_IP)
    answer = frame_of(result, "is-at from peer")
    assert answer.sender == "peer" and answer.receiver == "client"
    assert (answer.get("arp.op"), answer.get("arp.hwsrc"), answer.get("arp.psrc")) == (2, PEER_MAC, PEER_IP)
    assert (answer.get("arp.hwdst"), answer.get("arp.pdst"), answer.get("eth.dst")) == (CLIENT_MAC, CLIENT_IP, CLIENT_MAC)

    announcement = frame_of(result, "gratuitous ARP")
    assert announcement.get("arp.psrc") == announcement.get("arp.pdst") == CLIENT_IP
    assert announcement.get("arp.hwsrc") == announcement.get("eth.src") == new_mac
    # nothing but the four frames of the three parts: nobody answered for 10.0.1.99
    assert [f.summary for f in result.trace] == [
        f"ARP who-has {PEER_IP} tell {CLIENT_IP}",
        f"ARP {PEER_IP} is-at {PEER_MAC}",
        f"ARP who-has 10.0.1.99 tell {CLIENT_IP}",
        f"ARP who-has {CLIENT_IP} tell {CLIENT_IP}",
    ]


def test_the_stored_capture_is_checked_offline(lab, tmp_path):
    result = run(lab, tmp_path)
    offline = check_capture(lab, result.pcap, {})
    verdict, trace = offline.verdict, offline.trace
    assert verdict.status is Status.PASS and len(trace) == len(result.trace)
    assert any("offline" in note for note in verdict.notes)


def test_an_unanswered_question_returns_none_within_its_timeout(lab, tmp_path):
    result = run(lab, tmp_path, resolve=False, gratuitous=False, wait=0.3)
    assert result.verdict.status is Status.PASS, text(result.verdict)
    assert result.facts["unresolved.answer"] is None
    assert 0.3 <= result.facts["unresolved.seconds"] <= 0.3 + 0.5
    assert [f.get("arp.pdst") for f in result.trace] == ["10.0.1.99"]  # asked once, heard nothing


def test_an_address_behind_the_router_cannot_be_resolved(lab, tmp_path):
    result = run(lab, tmp_path, resolve=False, gratuitous=False, missing="10.0.2.80")
    assert result.verdict.status is Status.PASS, text(result.verdict)
    assert result.facts["unresolved.answer"] is None
    assert {f.link for f in result.trace} == {"lan1"}  # the broadcast stayed on the client's LAN


def test_an_address_in_use_breaks_the_silence(lab, tmp_path):
    result = run(lab, tmp_path, resolve=False, gratuitous=False, missing="10.0.1.1")
    v = result.verdict
    assert v.status is Status.FAIL
    claim = item(v, "nobody claims 10.0.1.1")
    assert claim.status is Status.FAIL and result.trace[claim.frames[0]].sender == "router"
    assert "the address is in use" in claim.messages[0]
    assert result.facts["unresolved.answer"] == "02:00:00:00:01:01"


# --- the gratuitous ARP ---------------------------------------------------------------------


def test_a_stranger_s_announcement_is_ignored_by_default(lab, tmp_path):
    result = run(lab, tmp_path, resolve=False, unresolved=False, peer_knows_client=False)
    assert result.verdict.status is Status.PASS, text(result.verdict)
    assert result.facts["peer.before_announcement"] is None and result.facts["peer.after_announcement"] is None


def test_with_arp_accept_a_stranger_s_announcement_creates_an_entry(lab, tmp_path, new_mac):
    result = run(lab, tmp_path, resolve=False, unresolved=False, peer_knows_client=False, arp_accept=1)
    assert result.verdict.status is Status.PASS, text(result.verdict)
    assert result.facts["peer.after_announcement"] == new_mac


def test_the_lab_sets_its_own_arp_settings_and_leaves_no_trace(lab, new_mac):
    """Inherited settings (here: drop_gratuitous_arp on) do not change the outcome, and
    afterwards every setting is back and no neighbour entry of the run is left."""
    deployment = NetnsBackend().deploy(load())
    try:
        peer = deployment.node("peer")
        inherited = peer.run(["sysctl", "-qw", "net.ipv4.conf.all.drop_gratuitous_arp=1", "net.ipv4.conf.eth0.arp_accept=1"])
        assert inherited.returncode == 0, inherited.stderr
        ctx = LabContext(lab, deployment, parse_params(lab, {}), call_student=lambda *args: lab.student(*args))
        with ctx.stack:
            lab.procedure(ctx)
            assert [(n.ip, n.mac) for n in neighbours(peer)] == [(CLIENT_IP, new_mac)]  # the announcement was taken
            assert _sysctl(peer, "net.ipv4.conf.all.drop_gratuitous_arp") == "0"
        assert ctx.facts["peer.after_announcement"] == new_mac and ctx.facts["resolved"] == PEER_MAC
        assert _sysctl(peer, "net.ipv4.conf.all.drop_gratuitous_arp") == "1"
        assert _sysctl(peer, "net.ipv4.conf.eth0.arp_accept") == "1"
        for node, _ in deployment.topology.members("lan1"):
            assert neighbours(deployment.node(node.name)) == [], node.name
    finally:
        deployment.teardown()


def _sysctl(node, name: str) -> str:
    return node.run(["sysctl", "-n", name]).stdout.strip()


# --- wrong solutions ------------------------------------------------------------------------


def test_a_question_not_sent_to_broadcast_gets_no_answer(lab, tmp_path):
    result = run(lab, tmp_path, "not_broadcast.py")
    v = result.verdict
    assert v.status is Status.FAIL
    question = item(v, WHO_HAS_PEER)
    assert question.status is Status.FAIL
    assert "eth.dst is '00:00:00:00:00:00', expected 'ff:ff:ff:ff:ff:ff'" in question.messages[0]
    assert "does not know the MAC yet" in question.messages[0]
    assert item(v, "is-at from peer").frames == ()  # no answer at all
    assert not any(f.sender == "peer" for f in result.trace)
    assert result.facts["resolved"] is None and result.facts["peer.client_mac"] is None


def test_an_is_at_instead_of_a_who_has_is_ignored(lab, tmp_path):
    result = run(lab, tmp_path, "wrong_op.py")
    v = result.verdict
    question = item(v, WHO_HAS_PEER)
    assert question.status is Status.FAIL
    assert "arp.op is 2, expected 1" in question.messages[0] and "nobody answers an answer" in question.messages[0]
    assert item(v, "is-at from peer").frames == ()
    assert result.facts["resolved"] is None
    assert result.facts["peer.client_mac"] is None  # an unsolicited is-at teaches peer nothing (arp_accept=0)


def test_swapped_sender_and_target_ips_ask_the_wrong_question(lab, tmp_path):
    result = run(lab, tmp_path, "swapped_ips.py")
    v = result.verdict
    question = item(v, WHO_HAS_PEER)
    messages = " ".join(question.messages)
    assert f"arp.psrc is '{PEER_IP}', expected '{CLIENT_IP}'" in messages
    assert f"arp.pdst is '{CLIENT_IP}', expected '{PEER_IP}'" in messages
    assert item(v, "is-at from peer").frames == ()
    assert result.facts["resolved"] is None and result.facts["peer.client_mac"] is None


def test_swapped_sender_and_target_macs_make_peer_answer_and_learn_the_wrong_mac(lab, tmp_path):
    result = run(lab, tmp_path, "swapped_macs.py")
    v = result.verdict
    assert "arp.hwsrc is '00:00:00:00:00:00', expected '02:00:00:00:01:10'" in item(v, WHO_HAS_PEER).messages[0]
    answer = item(v, "is-at from peer")
    assert answer.status is Status.FAIL
    assert "eth.dst is '00:00:00:00:00:00', expected '02:00:00:00:01:10'" in " ".join(answer.messages)
    # the reply still reached the client's socket (flooded), but peer now believes a wrong MAC
    assert result.facts["resolved"] == PEER_MAC
    assert result.facts["peer.client_mac"] == "00:00:00:00:00:00"
    learned = next(i for i in v.failures() if i.kind == "fact")
    assert "peer's kernel learned" in learned.name and learned.messages == ("peer.client_mac is '00:00:00:00:00:00', expected '02:00:00:00:01:10'",)


def test_returning_the_mac_of_the_wrong_field_is_caught(lab, tmp_path):
    result = run(lab, tmp_path, "reads_hwdst.py")
    v = result.verdict
    assert result.facts["resolved"] == CLIENT_MAC  # its own question's source MAC
    assert failed(v) == {next(i.name for i in v.items if i.name.startswith("resolve() returned the MAC"))}
    only = v.failures()[0]
    assert only.messages == (f"resolved is '{CLIENT_MAC}', expected '{PEER_MAC}'",)
    assert "hwsrc" in only.name and "client's own MAC" in only.name


def test_a_resolve_that_ignores_its_timeout_fails(lab, tmp_path):
    result = run(lab, tmp_path, "ignores_timeout.py", resolve=False, gratuitous=False)
    v = result.verdict
    assert v.status is Status.FAIL
    assert result.facts["unresolved.seconds"] >= 1.5
    late = v.failures()
    assert len(late) == 1 and "gave up when its timeout (0.02 s) had passed" in late[0].name


def test_raising_instead_of_returning_none_fails_with_a_readable_note(lab, tmp_path):
    result = run(lab, tmp_path, "raises_when_unanswered.py", resolve=False, gratuitous=False)
    v = result.verdict
    assert v.status is Status.FAIL
    assert any("raised TimeoutError: nobody has 10.0.1.99 (raises_when_unanswered.py:9, in resolve)" in n for n in v.notes), v.notes


# --- bad input ------------------------------------------------------------------------------


def test_bad_parameters_fail_with_one_line_and_leave_nothing(lab, tmp_path):
    with pytest.raises(LabError, match="missing=10.0.1.20 is a lab machine's address"):
        run(lab, tmp_path, missing=PEER_IP)
    cli = subprocess.run(
        [sys.executable, "-m", "protolab.cli", "run", "arp", "--fresh", "--set", "missing=ten", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip().splitlines() == ["error: arp: missing='ten' is not an IPv4 address"]
    assert "Traceback" not in cli.stderr
