"""Pure parts of the routing-table, neighbour-cache, rtnetlink and ICMP-counter helpers."""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address, IPv4Network

import pytest

from protolab.kernel.icmp_errors import IcmpCounters, parse_counters
from protolab.kernel.neighbours import parse_neighbour
from protolab.kernel.routes import Route, default_route, lookup, parse_route
from protolab.kernel.rtnl import (
    NDA_DST, NDA_LLADDR, NDMSG, NLMSG_DONE, NLMSG_ERROR, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_TABLE, RTM_NEWNEIGH,
    RTMSG, error_code, pack_attr, pack_message, parse_attrs, parse_messages,
)

ROUTER = [Route(IPv4Network("10.0.1.0/24"), None, "eth0"), Route(IPv4Network("10.0.2.0/24"), None, "eth1")]
CLIENT = [Route(IPv4Network("0.0.0.0/0"), "10.0.1.1", "eth0"), Route(IPv4Network("10.0.1.0/24"), None, "eth0")]


# -- routes ------------------------------------------------------------------------------------


def test_routes_print_like_ip_route():
    assert [str(r) for r in CLIENT] == ["default via 10.0.1.1 dev eth0", "10.0.1.0/24 dev eth0"]


def test_lookup_takes_the_longest_prefix():
    assert lookup(CLIENT, "10.0.1.20") == CLIENT[1]
    assert lookup(CLIENT, "10.0.2.80") == CLIENT[0]
    assert lookup(CLIENT + [Route(IPv4Network("10.0.0.0/8"), "10.0.1.2", "eth0")], "10.0.2.80").dst.prefixlen == 8


def test_an_address_in_no_route_has_no_match_and_no_default():
    assert lookup(ROUTER, "192.0.2.1") is None
    assert default_route(ROUTER) is None
    assert default_route(CLIENT) == CLIENT[0]


def _route_payload(dst: str | None, dst_len: int, gateway: str | None, oif: int, table: int = 254, kind: int = 1) -> bytes:
    attrs = pack_attr(RTA_TABLE, struct.pack("=I", table)) + pack_attr(RTA_OIF, struct.pack("=i", oif))
    if dst:
        attrs += pack_attr(RTA_DST, IPv4Address(dst).packed)
    if gateway:
        attrs += pack_attr(RTA_GATEWAY, IPv4Address(gateway).packed)
    return RTMSG.pack(socket.AF_INET, dst_len, 0, 0, min(table, 255), 3, 0, kind, 0) + attrs


def test_kernel_route_messages_are_parsed():
    assert parse_route(_route_payload("10.0.2.0", 24, None, 3)) == (IPv4Network("10.0.2.0/24"), None, 3)
    assert parse_route(_route_payload(None, 0, "10.0.1.1", 2)) == (IPv4Network("0.0.0.0/0"), "10.0.1.1", 2)


def test_routes_outside_the_main_table_or_not_unicast_are_left_out():
    assert parse_route(_route_payload("10.0.1.1", 32, None, 2, table=255, kind=2)) is None  # local table
    assert parse_route(_route_payload("10.0.9.0", 24, None, 2, table=1000)) is None  # table id only in RTA_TABLE
    assert parse_route(_route_payload("10.0.9.0", 24, None, 2, kind=7)) is None  # unreachable route


# -- neighbours --------------------------------------------------------------------------------


def test_neighbour_messages_are_parsed():
    payload = NDMSG.pack(socket.AF_INET, 2, 0x02, 0, 1) + pack_attr(NDA_DST, IPv4Address("10.0.1.1").packed) + pack_attr(
        NDA_LLADDR, bytes.fromhex("020000000101")
    )
    entry = parse_neighbour(payload)
    assert (entry.ip, entry.mac, entry.ifindex, entry.state, entry.static) == ("10.0.1.1", "02:00:00:00:01:01", 2, "REACHABLE", False)


def test_unresolved_and_static_neighbours():
    incomplete = parse_neighbour(NDMSG.pack(socket.AF_INET, 2, 0x01, 0, 1) + pack_attr(NDA_DST, IPv4Address("10.0.1.99").packed))
    assert incomplete.mac is None and incomplete.state == "INCOMPLETE"
    permanent = parse_neighbour(NDMSG.pack(socket.AF_INET, 2, 0x80, 0, 1) + pack_attr(NDA_DST, IPv4Address("10.0.1.5").packed))
    assert permanent.static


# -- rtnetlink framing -------------------------------------------------------------------------


def test_attributes_are_padded_to_four_bytes_and_read_back():
    packed = pack_attr(1, b"abcde") + pack_attr(2, b"") + pack_attr(3, b"\x01\x02\x03\x04")
    assert len(packed) == 12 + 4 + 8
    assert parse_attrs(packed) == {1: b"abcde", 2: b"", 3: b"\x01\x02\x03\x04"}


def test_a_datagram_with_several_messages_is_split():
    data = pack_message(RTM_NEWNEIGH, 2, 7, b"xyz") + pack_message(NLMSG_DONE, 2, 7, struct.pack("=i", 0))
    assert list(parse_messages(data)) == [(RTM_NEWNEIGH, 7, b"xyz"), (NLMSG_DONE, 7, b"\0\0\0\0")]


def test_error_messages_carry_a_negative_errno():
    (kind, _seq, payload), = parse_messages(pack_message(NLMSG_ERROR, 0, 1, struct.pack("=i", -2) + b"\0" * 16))
    assert kind == NLMSG_ERROR and error_code(payload) == 2
    assert error_code(struct.pack("=i", 0)) == 0


# -- counters ----------------------------------------------------------------------------------

SNMP = """\
Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 12
Icmp: InMsgs OutDestUnreachs OutTimeExcds
Icmp: 0 3 2
"""


def test_proc_counters_are_parsed_by_group():
    assert parse_counters(SNMP) == {"Ip": {"Forwarding": 1, "DefaultTTL": 64, "InReceives": 12},
                                    "Icmp": {"InMsgs": 0, "OutDestUnreachs": 3, "OutTimeExcds": 2}}


def test_mismatched_counter_lines_are_refused():
    with pytest.raises(ValueError):
        parse_counters("Ip: A B\nIcmp: 1 2\n")


def test_counters_subtract_to_what_happened_in_between():
    assert IcmpCounters(5, 3, 9) - IcmpCounters(4, 3, 7) == IcmpCounters(1, 0, 2)
