"""The route lab without a network: its pure helpers, and its expectation checked on hand-built traces.

The traces are real frames built with scapy and decoded by protolab's decoder,
as a run on the default topology would capture them (each frame once per link).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from protolab.capture.frames import RawFrame
from protolab.errors import LabError
from protolab.expect import Status, check
from protolab.topology import load
from protolab.wire.decode import decode_trace

LAB_FILE = Path(__file__).resolve().parents[2] / "labs" / "route.py"


def _import_lab():
    spec = importlib.util.spec_from_file_location("route_lab_under_test", LAB_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


route = _import_lab()
TOPOLOGY = load()
CLIENT, GW, WEB, FAR = "10.0.1.10", "10.0.1.1", "10.0.2.80", "192.0.2.1"
C_MAC, R1_MAC, R2_MAC, W_MAC = "02:00:00:00:01:10", "02:00:00:00:01:01", "02:00:00:00:02:01", "02:00:00:00:02:80"
BC = "ff:ff:ff:ff:ff:ff"
ALL = {"part": "all"}


# -- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("all", ("forward", "ttl", "unroutable")),
        ("ttl", ("ttl",)),
        ("unroutable, forward", ("forward", "unroutable")),  # lab order, spaces allowed
        ("ttl,ttl", ("ttl",)),
    ],
)
def test_parts_are_chosen_in_lab_order(value, parts):
    assert route.chosen_parts({"part": value}) == parts


@pytest.mark.parametrize("value", ["", "ttl,bogus", "everything", "all,ttl"])
def test_an_unknown_part_is_a_one_line_error(value):
    with pytest.raises(LabError) as info:
        route.chosen_parts({"part": value})
    assert str(info.value).startswith(f"parameter part={value!r}: expected all, or one or more of forward, ttl, unroutable")
    assert "\n" not in str(info.value)


def test_answers_are_described_in_words():
    assert route.describe(None) == "no answer"
    assert route.describe({"from": GW, "type": 11, "code": 0}) == "10.0.1.1: time exceeded (type 11, code 0)"
    assert route.describe({"from": GW, "type": 3, "code": 0, "extra": 1}) == "10.0.1.1: net unreachable (type 3, code 0)"
    assert route.describe({"from": WEB, "type": 0, "code": 0}) == "10.0.2.80: echo reply (type 0, code 0)"
    assert route.describe({"from": GW, "type": "11", "code": 0}) == "10.0.1.1: ? (type 11, code 0)"
    assert route.describe(("10.0.1.1", 11, 0)) == "('10.0.1.1', 11, 0) (not a {'from', 'type', 'code'} dict)"


def test_the_reference_probe_names_its_fact():
    assert route.probe_key(WEB, 1) == "probe(10.0.2.80, ttl=1)"


# -- hand-built traces -------------------------------------------------------------------------


def _echo(src, dst, ttl, kind=8, ident=7):
    return IP(src=src, dst=dst, ttl=ttl, id=ident) / ICMP(type=kind, id=1, seq=5)


def _error(kind, code, quoted):
    return IP(src=GW, dst=CLIENT, ttl=64) / ICMP(type=kind, code=code) / quoted


def reference_frames(**change):
    """(link, sender, frame) of a correct run of every part; `change` replaces one frame by its key."""
    arp_gw = Ether(src=C_MAC, dst=BC) / ARP(op=1, hwsrc=C_MAC, psrc=CLIENT, pdst=GW)
    gw_is_at = Ether(src=R1_MAC, dst=C_MAC) / ARP(op=2, hwsrc=R1_MAC, psrc=GW, hwdst=C_MAC, pdst=CLIENT)
    frames = {
        "arp": ("lan1", "client", arp_gw),
        "is-at": ("lan1", "router", gw_is_at),
        "req1": ("lan1", "client", Ether(src=C_MAC, dst=R1_MAC) / _echo(CLIENT, WEB, 64)),
        "arp2": ("lan2", "router", Ether(src=R2_MAC, dst=BC) / ARP(op=1, hwsrc=R2_MAC, psrc="10.0.2.1", pdst=WEB)),
        "is-at2": ("lan2", "web", Ether(src=W_MAC, dst=R2_MAC) / ARP(op=2, hwsrc=W_MAC, psrc=WEB, hwdst=R2_MAC, pdst="10.0.2.1")),
        "req2": ("lan2", "router", Ether(src=R2_MAC, dst=W_MAC) / _echo(CLIENT, WEB, 63)),
        "rep2": ("lan2", "web", Ether(src=W_MAC, dst=R2_MAC) / _echo(WEB, CLIENT, 64, kind=0, ident=9)),
        "rep1": ("lan1", "router", Ether(src=R1_MAC, dst=C_MAC) / _echo(WEB, CLIENT, 63, kind=0, ident=9)),
        "ttl1": ("lan1", "client", Ether(src=C_MAC, dst=R1_MAC) / _echo(CLIENT, WEB, 1)),
        "exceeded": ("lan1", "router", Ether(src=R1_MAC, dst=C_MAC) / _error(11, 0, _echo(CLIENT, WEB, 1))),
        "ttl2": ("lan1", "client", Ether(src=C_MAC, dst=R1_MAC) / _echo(CLIENT, WEB, 2)),
        "ttl2-lan2": ("lan2", "router", Ether(src=R2_MAC, dst=W_MAC) / _echo(CLIENT, WEB, 1)),
        "ttl2-rep2": ("lan2", "web", Ether(src=W_MAC, dst=R2_MAC) / _echo(WEB, CLIENT, 64, kind=0)),
        "ttl2-rep1": ("lan1", "router", Ether(src=R1_MAC, dst=C_MAC) / _echo(WEB, CLIENT, 63, kind=0)),
        "far": ("lan1", "client", Ether(src=C_MAC, dst=R1_MAC) / _echo(CLIENT, FAR, 64)),
        "unreachable": ("lan1", "router", Ether(src=R1_MAC, dst=C_MAC) / _error(3, 0, _echo(CLIENT, FAR, 64))),
    }
    frames.update(change)
    return [f for f in frames.values() if f is not None]


ALL_KEYS = ("arp", "is-at", "req1", "arp2", "is-at2", "req2", "rep2", "rep1", "ttl1", "exceeded", "ttl2",
            "ttl2-lan2", "ttl2-rep2", "ttl2-rep1", "far", "unreachable")

REFERENCE_FACTS = {
    "probe(10.0.2.80, ttl=64)": "10.0.2.80: echo reply (type 0, code 0)",
    "probe(10.0.2.80, ttl=1)": "10.0.1.1: time exceeded (type 11, code 0)",
    "probe(10.0.2.80, ttl=2)": "10.0.2.80: echo reply (type 0, code 0)",
    "probe(192.0.2.1, ttl=64)": "10.0.1.1: net unreachable (type 3, code 0)",
    "router: default route": "none",
    "router: packets dropped for lack of a route": 1,
}


def verdict_of(frames, facts=None, params=ALL):
    raw = [RawFrame(1_000_000 * i, link, sender, bytes(frame)) for i, (link, sender, frame) in enumerate(frames)]
    trace = decode_trace(raw, TOPOLOGY, ("lan1", "lan2"))
    return check(route.expectation(TOPOLOGY, params), trace, REFERENCE_FACTS if facts is None else facts)


def item(verdict, name):
    return next(i for i in verdict.items if i.name == name)


def messages(verdict, name):
    return " ".join(item(verdict, name).messages)


def test_a_correct_run_passes_every_item():
    verdict = verdict_of(reference_frames())
    assert verdict.status is Status.PASS, verdict.explanations()
    assert len(verdict.items) == 14 + 1 + 6
    assert verdict.bindings["TTL on lan1"] == 64


def test_a_router_that_keeps_the_lan1_source_mac_is_explained():
    bad = ("lan2", "router", Ether(src=R1_MAC, dst=W_MAC) / _echo(CLIENT, WEB, 63))
    verdict = verdict_of(reference_frames(req2=bad))
    assert verdict.status is Status.FAIL
    assert messages(verdict, "lan2: router → web, same IP header").startswith(
        "frame #6 (ICMP 10.0.1.10 → 10.0.2.80 echo request): on lan2 the router sets the source MAC to its own "
        "lan2 MAC 02:00:00:00:02:01 — but eth.src is '02:00:00:00:01:01', expected '02:00:00:00:02:01'"
    )


def test_a_ttl_that_does_not_drop_by_one_is_explained_with_both_values():
    bad = ("lan2", "router", Ether(src=R2_MAC, dst=W_MAC) / _echo(CLIENT, WEB, 64))
    text = messages(verdict_of(reference_frames(req2=bad)), "lan2: router → web, same IP header")
    assert "the TTL drops by exactly one at the router: 64 on lan1, 63 on lan2 — but ip.ttl is 64, expected TTL on lan1 - 1 = 63" in text


def test_a_changed_ip_header_is_caught():
    bad = ("lan2", "router", Ether(src=R2_MAC, dst=W_MAC) / IP(src="10.0.2.1", dst=WEB, ttl=63, id=8) / ICMP(id=1, seq=5))
    text = messages(verdict_of(reference_frames(req2=bad)), "lan2: router → web, same IP header")
    assert "the IP source is still the client 10.0.1.10" in text and "ip.src is '10.0.2.1'" in text
    assert "unchanged (same identification) — but ip.id is 8, expected IP id on lan1 = 7" in text


def test_an_arp_for_web_is_explained_as_off_link():
    arp_web = ("lan1", "client", Ether(src=C_MAC, dst=BC) / ARP(op=1, hwsrc=C_MAC, psrc=CLIENT, pdst=WEB))
    verdict = verdict_of(reference_frames(arp=arp_web, **{"is-at": None}))
    text = messages(verdict, "client ARPs for its gateway")
    assert "arp.pdst is '10.0.2.80', expected '10.0.1.1'" in text
    assert "web is on lan2, not in 10.0.1.0/24" in text and "nobody would answer for web" in text
    assert item(verdict, "router: gateway is-at its lan1 MAC").status is Status.FAIL


def test_a_frame_for_webs_mac_is_explained():
    bad = ("lan1", "client", Ether(src=C_MAC, dst=W_MAC) / _echo(CLIENT, WEB, 64))
    verdict = verdict_of(reference_frames(req1=bad))
    text = messages(verdict, "lan1: client → router's MAC")
    assert "eth.dst is '02:00:00:00:02:80', expected '02:00:00:00:01:01'" in text
    assert "a frame for web's MAC 02:00:00:00:02:80 finds nobody on lan1" in text


def test_a_frame_for_the_unroutable_address_beyond_lan1_breaks_the_never_rule():
    leak = ("lan2", "router", Ether(src=R2_MAC, dst=W_MAC) / _echo(CLIENT, FAR, 63))
    frames = reference_frames() + [leak]
    verdict = verdict_of(frames)
    rule = item(verdict, "nothing for 192.0.2.1 goes beyond lan1 (nothing leaves the lab)")
    assert rule.status is Status.FAIL
    assert "no default route: it must drop the packet" in rule.messages[0]


def test_a_wrong_reading_of_hop_one_fails_the_fact_with_both_readings():
    facts = {**REFERENCE_FACTS, "probe(10.0.2.80, ttl=1)": "10.0.2.80: time exceeded (type 11, code 0)"}
    verdict = verdict_of(reference_frames(), facts)
    name = "your probe() reports hop 1 = the router 10.0.1.1, 'time exceeded': the sender of the ICMP error, not the address quoted inside it"
    assert item(verdict, name).messages == (
        "probe(10.0.2.80, ttl=1) is '10.0.2.80: time exceeded (type 11, code 0)', "
        "expected '10.0.1.1: time exceeded (type 11, code 0)'",
    )
    assert [i.name for i in verdict.failures()] == [name]


def test_a_ttl_zero_probe_is_explained():
    bad = ("lan1", "client", Ether(src=C_MAC, dst=R1_MAC) / _echo(CLIENT, WEB, 0))
    text = messages(verdict_of(reference_frames(ttl1=bad)), "TTL 1 leaves the client")
    assert "the first probe of a traceroute has TTL 1" in text and "ip.ttl is 0, expected 1" in text
    assert "Hops are counted from 1" in text


@pytest.mark.parametrize(
    ("part", "keys"),
    [("forward", ("arp", "is-at", "req1", "arp2", "is-at2", "req2", "rep2", "rep1")),
     ("ttl", ("ttl1", "exceeded", "ttl2", "ttl2-lan2", "ttl2-rep2", "ttl2-rep1")),
     ("unroutable", ("far", "unreachable"))],
)
def test_each_part_alone_checks_only_its_frames(part, keys):
    frames = reference_frames(**{k: None for k in ALL_KEYS if k not in keys})
    verdict = verdict_of(frames, params={"part": part})
    assert verdict.status is Status.PASS, verdict.explanations()
    expected_steps = {"forward": 7, "ttl": 5, "unroutable": 2}[part]
    assert sum(1 for i in verdict.items if i.kind == "step") == expected_steps


def test_the_expectation_rejects_an_unknown_part():
    with pytest.raises(LabError):
        route.expectation(TOPOLOGY, {"part": "nope"})
