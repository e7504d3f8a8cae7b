"""What a capture says about its run, and the lab's roles on another network's addresses: pure."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import ARP, Ether

from protolab.capture.frames import RawFrame
from protolab.capture.runinfo import RUN_PREFIX, RunInfo, param_text, parse_run_info
from protolab.errors import LabError
from protolab.lab.roles import (
    Reading, capture_addresses, guess_reading, learn_macs, parse_roles, remap, uses_lab_addresses,
)
from protolab.topology import load
from protolab.wire.decode import build_trace, decode_all

TOPOLOGY = load()
A, B, ROUTER_MAC = "10.99.0.1", "10.99.0.2", "02:aa:00:00:00:fe"
MAC_A, MAC_B = "02:aa:00:00:00:01", "02:aa:00:00:00:02"


def frames(*packets) -> list:
    return decode_all([RawFrame(1_000_000 * i, "eth0", None, bytes(p)) for i, p in enumerate(packets)])


def tcp(src_mac, src, dst, flags, sport=40000, dport=8080):
    return Ether(src=src_mac, dst="02:aa:00:00:00:99") / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags)


# --- run descriptions -------------------------------------------------------------------------------


def test_a_run_description_round_trips():
    info = RunInfo("teardown", {"closer": "server", "port": "80"}, "r1", "s42", 3, ("the kernel held back a FIN",), "INCONCLUSIVE")
    assert info.comment().startswith(RUN_PREFIX)
    assert parse_run_info(["something else", info.comment()]) == info


@pytest.mark.parametrize("comment", [
    RUN_PREFIX + "{not json",
    RUN_PREFIX + '{"params": {}}',  # no lab
    RUN_PREFIX + '{"lab": "x", "params": {"port": 80}}',  # a value that is not --set text
    RUN_PREFIX + '{"lab": "x", "drops": -1}',
    RUN_PREFIX + '{"lab": "x", "drops": true}',
    RUN_PREFIX + '{"lab": "x", "doubts": "one"}',
    RUN_PREFIX + '["lab"]',
    RUN_PREFIX + '{"lab": "x", "student": 7}',
    RUN_PREFIX + '{"lab": "' + "x" * 70000 + '"}',
])
def test_a_malformed_description_is_ignored_whole(comment):
    assert parse_run_info([comment]) is None


def test_parameters_are_stored_as_set_would_take_them():
    assert [param_text(v) for v in (True, False, 80, 0.5, "hello")] == ["true", "false", "80", "0.5", "hello"]


# --- --as ---------------------------------------------------------------------------------------------


def test_roles_are_parsed_against_the_topology():
    assert parse_roles(["client=10.99.0.1", " web = 10.99.0.2 ", "lan1=eth0"], TOPOLOGY) == (
        {"client": IPv4Address(A), "web": IPv4Address(B)}, {"eth0": "lan1"})


@pytest.mark.parametrize("items, message", [
    (["client"], "--as takes NODE=ADDRESS or LINK=INTERFACE"),
    (["server=10.0.0.1"], "the lab has no node or link 'server' (nodes: "),
    (["client=10.0.0.300"], "'10.0.0.300' is not an IPv4 address"),
    (["client=10.0.0.1", "client=10.0.0.2"], "--as names client twice"),
    (["client=10.0.0.1", "web=10.0.0.1"], "--as gives 10.0.0.1 to two nodes"),
    (["lan1=eth0", "lan2=eth0"], "--as makes interface eth0 both lan1 and lan2"),
])
def test_bad_roles_are_one_line_errors(items, message):
    with pytest.raises(LabError, match=message.replace("(", r"\(")):
        parse_roles(items, TOPOLOGY)


def test_a_step_on_a_link_the_capture_cannot_name_is_undecided_until_mapped(tmp_path):
    from protolab.expect import Expectation, F, OnLink, Status, Step, check

    decoded = frames(tcp(MAC_A, A, B, "S"))
    expectation = Expectation("x", steps=(Step("SYN on lan1", match=(OnLink("lan1"), F("tcp.flags") == "S")),))
    unmapped = check(expectation, build_trace(decoded, TOPOLOGY), None)
    (step,) = unmapped.items
    assert step.status is Status.INCONCLUSIVE
    assert "the capture does not say which of the lab's links frame #1 was on (it was captured on eth0; " \
           "say it with --as lan1=eth0)" in step.messages[0]
    mapped = decode_all([RawFrame(0, "lan1", None, d.raw.data) for d in decoded])
    assert check(expectation, build_trace(mapped, TOPOLOGY), None).status is Status.PASS


def test_macs_are_learned_only_where_the_capture_shows_them_beyond_doubt():
    decoded = frames(
        Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC_A, psrc=A, pdst=B),
        tcp(MAC_B, B, A, "SA"),
        tcp(ROUTER_MAC, "10.99.5.5", A, "S"),  # a router forwards for two far hosts:
        tcp(ROUTER_MAC, "10.99.5.6", A, "S"),  # its MAC is neither's
    )
    roles = {"client": IPv4Address(A), "web": IPv4Address(B), "router": IPv4Address("10.99.5.5")}
    assert learn_macs(decoded, roles) == {"client": MAC_A, "web": MAC_B}


def test_a_remapped_topology_names_senders_by_the_captures_macs():
    decoded = frames(tcp(MAC_A, A, B, "S"), tcp(MAC_B, B, A, "SA"), tcp("02:aa:00:00:00:77", A, B, "A"))
    reading = Reading({"client": IPv4Address(A), "web": IPv4Address(B)}, {"client": MAC_A, "web": MAC_B})
    mapped = remap(TOPOLOGY, reading)
    assert str(mapped.node("client").ip) == A and mapped.node("web").mac == MAC_B
    assert mapped.node("router") == TOPOLOGY.node("router")
    trace = build_trace(decoded, mapped)
    assert [f.sender for f in trace] == ["client", "web", "?"]
    assert trace.addresses[A] == "client"


def test_a_role_whose_mac_the_capture_does_not_show_names_no_frame():
    reading = Reading({"client": IPv4Address(A)}, {})
    trace = build_trace(frames(tcp(MAC_A, A, B, "S")), remap(TOPOLOGY, reading))
    assert trace[1].sender == "?"


def test_lab_addresses_need_no_mapping():
    client, web = str(TOPOLOGY.node("client").ip), str(TOPOLOGY.node("web").ip)
    assert uses_lab_addresses(frames(tcp(MAC_A, client, web, "S")), TOPOLOGY)
    assert not uses_lab_addresses(frames(tcp(MAC_A, A, B, "S")), TOPOLOGY)


def test_capture_addresses_leave_out_broadcast_multicast_and_unspecified():
    decoded = frames(tcp(MAC_A, A, "255.255.255.255", "S"), tcp(MAC_A, "0.0.0.0", "224.0.0.1", "S"), tcp(MAC_B, B, A, "S"))
    assert capture_addresses(decoded) == [IPv4Address(A), IPv4Address(B)]


def score_by_client_syn(mapped) -> tuple[int, ...]:
    """1 if the mapped client is the one that sent the SYN."""
    client = str(mapped.node("client").ip)
    return (int(any(p.get("tcp", {}).get("flags") == "S" and p["ip"]["src"] == client for p in (d.layers for d in DECODED))),)


DECODED = frames(tcp(MAC_A, A, B, "S"), tcp(MAC_B, B, A, "SA"))


def test_the_one_reading_that_fits_is_chosen_and_said():
    reading, note = guess_reading(DECODED, TOPOLOGY, ["client", "web"], lambda m: (
        *score_by_client_syn(m), int(str(m.node("web").ip) == B)))
    assert reading.addresses == {"client": IPv4Address(A), "web": IPv4Address(B)}
    assert note.endswith("the only reading that fits is client=10.99.0.1, web=10.99.0.2 (override with --as)")


def test_several_readings_that_fit_alike_are_refused():
    with pytest.raises(LabError, match=r"can be read more than one way .*: say which with --as NODE=ADDRESS"):
        guess_reading(DECODED, TOPOLOGY, ["client", "web"], lambda m: (1,))


def test_a_capture_no_reading_fits_is_refused():
    with pytest.raises(LabError, match="none of the lab's steps fit the capture's addresses"):
        guess_reading(DECODED, TOPOLOGY, ["client", "web"], lambda m: (0, 0))
