"""What `protolab show` tells a student about the five labs' parameters and time."""

from __future__ import annotations

import pytest

from protolab.lab.api import Lab, Range
from protolab.lab.catalog import load_lab

FIVE = ("handshake", "teardown", "dns", "arp", "route")


@pytest.mark.parametrize("name", FIVE)
def test_every_parameter_of_the_five_labs_says_what_it_means(name):
    lab = load_lab(name)
    assert set(lab.param_help) == set(lab.params)
    assert all(text.strip() for text in lab.param_help.values())
    lines = lab.parameter_lines()
    assert len(lines) == len(lab.params)
    assert all(line.split("=", 1)[0] in lab.params for line in lines)


def test_a_parameter_line_holds_the_default_its_meaning_and_its_values():
    lab = Lab(name="x", title="", summary="", instructions="", student=lambda: None, procedure=lambda ctx: None,
              expectation=lambda t, p: None, columns=(), params={"client_port": 0, "guard": True},
              limits={"client_port": Range(0, 65535, note="0 picks one")}, param_help={"client_port": "your source port"})
    assert lab.parameter_lines() == ["client_port=0  your source port; values: 0 to 65535 (0 picks one)",
                                     "guard=True"]


def test_the_instructions_say_what_students_trip_over():
    handshake, teardown = load_lab("handshake").instructions, load_lab("teardown").instructions
    assert "% 2**32" in handshake and "Return (your ISN, web's ISN)" in handshake and "1 s later" in handshake
    assert "% 2**32" in teardown and "What recv keeps" in teardown and "or as one (flags FA" in teardown
    assert "2.5 s" in teardown and "returns\nnothing" in teardown
