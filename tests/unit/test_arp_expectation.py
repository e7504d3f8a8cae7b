"""The ARP lab's pure parts: parameter checks, the announcement rule, and its
expectation matched against traces built from real frame bytes (no root)."""

from __future__ import annotations

import sys

import pytest
from scapy.layers.l2 import ARP, Ether

from protolab.capture.frames import RawFrame
from protolab.errors import LabError
from protolab.expect import Status, check
from protolab.lab.catalog import load_lab
from protolab.topology import load
from protolab.wire.decode import decode_trace

CLIENT_MAC, CLIENT_IP = "02:00:00:00:01:10", "10.0.1.10"
PEER_MAC, PEER_IP = "02:00:00:00:01:20", "10.0.1.20"
BROADCAST = "ff:ff:ff:ff:ff:ff"


@pytest.fixture(scope="module")
def lab():
    return load_lab("arp")


@pytest.fixture(scope="module")
def topology():
    return load()


def params(lab, **overrides):
    return {**lab.params, **overrides}


def who_has(pdst, dst=BROADCAST, op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, src=CLIENT_MAC):
    return Ether(dst=dst, src=src) / ARP(op=op, hwsrc=hwsrc, psrc=psrc, hwdst="00:00:00:00:00:00", pdst=pdst)


def is_at(dst=CLIENT_MAC, hwdst=CLIENT_MAC):
    return Ether(dst=dst, src=PEER_MAC) / ARP(op=2, hwsrc=PEER_MAC, psrc=PEER_IP, hwdst=hwdst, pdst=CLIENT_IP)


def garp(mac):
    return Ether(dst=BROADCAST, src=mac) / ARP(op=1, hwsrc=mac, psrc=CLIENT_IP, hwdst="00:00:00:00:00:00", pdst=CLIENT_IP)


def trace(topology, *sent):
    """(sender, frame) pairs, 100 µs apart, on lan1."""
    raw = [RawFrame(1_000_000_000 + i * 100_000, "lan1", who, bytes(frame)) for i, (who, frame) in enumerate(sent)]
    return decode_trace(raw, topology, ("lan1",))


def good_frames(lab):
    new_mac = lab_module(lab).NEW_MAC
    return [("client", who_has(PEER_IP)), ("peer", is_at()), ("client", who_has("10.0.1.99")), ("client", garp(new_mac))]


def good_facts(lab):
    return {
        "resolved": PEER_MAC,
        "peer.client_mac": CLIENT_MAC,
        "unresolved.answer": None,
        "unresolved.seconds": 0.021,
        "peer.after_announcement": lab_module(lab).NEW_MAC,
    }


def lab_module(lab):
    """The lab file as a module (load_lab imported it under this name)."""
    return sys.modules[f"protolab_lab_{lab.name}"]


def item(verdict, name):
    return next(i for i in verdict.items if i.name == name)


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"resolve": False, "unresolved": False, "gratuitous": False}, "every part is switched off"),
        ({"missing": "10.0.1"}, "missing='10.0.1' is not an IPv4 address"),
        ({"arp_accept": 3}, "arp_accept=3 must be 0, 1 or 2"),
        ({"wait": 0.0}, "wait=0.0 must be above 0 seconds"),
        ({"missing": "10.0.1.20"}, "missing=10.0.1.20 is a lab machine's address"),
        ({"missing": "10.0.1.10"}, "missing=10.0.1.10 is a lab machine's address"),
    ],
)
def test_bad_parameters_are_one_line_errors(lab, topology, overrides, message):
    with pytest.raises(LabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lab.expectation(topology, params(lab, **overrides))


def test_the_announcement_updates_a_known_entry_and_creates_one_only_with_arp_accept(lab):
    expected = lab_module(lab).announced_mac_expected
    new = lab_module(lab).NEW_MAC
    assert expected(True, 0) == new
    assert expected(False, 0) is None
    assert expected(False, 1) == new and expected(False, 2) == new


# --- the expectation on synthetic traces ----------------------------------------------------


def test_a_correct_exchange_passes(lab, topology):
    verdict = check(lab.expectation(topology, lab.params), trace(topology, *good_frames(lab)), good_facts(lab))
    assert verdict.status is Status.PASS, verdict.explanations()
    assert [i.frames for i in verdict.items if i.kind == "step"] == [(1,), (2,), (3,), (4,)]


def test_a_question_not_sent_to_broadcast_is_explained(lab, topology):
    frames = good_frames(lab)
    frames[0] = ("client", who_has(PEER_IP, dst="00:00:00:00:00:00"))
    del frames[1]  # nobody received it, nobody answered
    verdict = check(lab.expectation(topology, lab.params), trace(topology, *frames), {**good_facts(lab), "resolved": None})
    question = item(verdict, f"who-has {PEER_IP}")
    assert question.status is Status.FAIL
    assert "eth.dst is '00:00:00:00:00:00', expected 'ff:ff:ff:ff:ff:ff'" in question.messages[0]
    assert "does not know the MAC yet" in question.messages[0]
    assert item(verdict, "is-at from peer").status is Status.FAIL


def test_an_answer_to_the_wrong_mac_fails_on_the_is_at(lab, topology):
    frames = good_frames(lab)
    frames[1] = ("peer", is_at(dst="00:00:00:00:00:00", hwdst="00:00:00:00:00:00"))
    verdict = check(lab.expectation(topology, lab.params), trace(topology, *frames), good_facts(lab))
    answer = item(verdict, "is-at from peer")
    assert answer.status is Status.FAIL
    text = " ".join(answer.messages)
    assert "eth.dst is '00:00:00:00:00:00', expected '02:00:00:00:01:10'" in text
    assert "arp.hwdst is '00:00:00:00:00:00'" in text


def test_an_answer_for_the_missing_address_breaks_the_silence(lab, topology):
    frames = good_frames(lab)
    claim = Ether(dst=CLIENT_MAC, src="02:00:00:00:01:01") / ARP(op=2, hwsrc="02:00:00:00:01:01", psrc="10.0.1.99", hwdst=CLIENT_MAC, pdst=CLIENT_IP)
    frames.insert(3, ("router", claim))
    verdict = check(lab.expectation(topology, lab.params), trace(topology, *frames), good_facts(lab))
    never = item(verdict, "nobody claims 10.0.1.99")
    assert never.status is Status.FAIL and never.frames == (4,)
    assert "the address is in use" in never.messages[0]


def test_only_the_chosen_parts_are_expected(lab, topology):
    new_mac = lab_module(lab).NEW_MAC
    only = params(lab, resolve=False, unresolved=False)
    verdict = check(lab.expectation(topology, only), trace(topology, ("client", garp(new_mac))), {"peer.after_announcement": new_mac})
    assert verdict.status is Status.PASS
    assert [i.name for i in verdict.items] == ["gratuitous ARP", f"peer's kernel replaced its entry: {CLIENT_IP} → {new_mac}"]


def test_an_unknown_client_is_expected_to_be_ignored_unless_arp_accept(lab, topology):
    new_mac = lab_module(lab).NEW_MAC
    frames = trace(topology, ("client", garp(new_mac)))
    stranger = params(lab, resolve=False, unresolved=False, peer_knows_client=False)
    ignored = check(lab.expectation(topology, stranger), frames, {"peer.after_announcement": None})
    assert ignored.status is Status.PASS
    assert "arp_accept=0 creates none" in ignored.items[-1].name
    accepting = check(lab.expectation(topology, {**stranger, "arp_accept": 1}), frames, {"peer.after_announcement": None})
    assert accepting.status is Status.FAIL
    assert accepting.items[-1].messages == (f"peer.after_announcement is None, expected '{new_mac}'",)


def test_an_announcement_from_the_old_card_is_explained(lab, topology):
    frames = good_frames(lab)
    frames[3] = ("client", Ether(dst=BROADCAST, src=CLIENT_MAC) / garp(lab_module(lab).NEW_MAC)[ARP])
    verdict = check(lab.expectation(topology, lab.params), trace(topology, *frames), good_facts(lab))
    step = item(verdict, "gratuitous ARP")
    assert step.status is Status.FAIL
    assert "switches learn its port" in step.messages[0] and f"eth.src is '{CLIENT_MAC}'" in step.messages[0]
