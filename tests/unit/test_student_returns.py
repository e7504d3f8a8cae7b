"""What a student's function may return across the sandbox, and the words for what it may not."""

from __future__ import annotations

import socket

from scapy.layers.inet import IP, UDP

from protolab.confine import codec


def returned(value):
    """What the lab receives: the value as the sandbox encodes it and the grader decodes it."""
    return codec.decode(codec.encode(value, types=False), types=False)


def test_plain_values_come_back_as_themselves_and_are_no_problem():
    value = {"echoes": [b"one", b"two"], "n": 3, "ratio": 0.5, "ok": True, "none": None, "pair": ("a", 1)}
    assert returned(value) == value
    assert codec.unsupported(returned(value)) is None


def test_a_scapy_packet_is_named_not_turned_into_its_repr():
    back = returned(IP(dst="10.0.2.80") / UDP(dport=7))
    assert codec.unsupported(back) == (
        "returned a scapy.layers.inet.IP, which cannot leave the sandbox: "
        "return numbers, strings, bytes, tuples, lists, dicts")


def test_an_object_inside_a_container_names_the_container_and_the_object():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        problem = codec.unsupported(returned([b"one", {"sock": sock}]))
    finally:
        sock.close()
    assert problem is not None
    assert problem.startswith("returned a list holding a socket.socket, which cannot leave the sandbox")


def test_a_set_is_not_plain_data_either():
    assert codec.unsupported(returned({1, 2})).startswith("returned a set, which cannot leave")
