"""--set KEY=VALUE: typed like the default, checked against the limits a lab declares."""

from __future__ import annotations

import pytest

from protolab.errors import LabError
from protolab.lab.api import Lab, OneOf, Range
from protolab.lab.runner import parse_params


def lab(**limits) -> Lab:
    return Lab(
        name="demo", title="t", summary="s", instructions="i", student=lambda: None,
        procedure=lambda ctx: None, expectation=lambda topology, params: None, columns=(),
        params={"port": 80, "client_port": 0, "wait": 0.5, "guard": True, "closer": "client"},
        limits=limits,
    )


PORTS = lab(port=Range(1, 65535), client_port=Range(0, 65535, note="0 picks one at random"),
            closer=OneOf("client", "server"), wait=Range(0.001, 10))


def error(raw: dict[str, str], subject: Lab = PORTS) -> str:
    with pytest.raises(LabError) as caught:
        parse_params(subject, raw)
    return str(caught.value)


@pytest.mark.parametrize("text", ["70000", "-1", "0", "65536", "99999999999999999999999999", "0x10000"])
def test_a_port_outside_its_declared_range_is_refused(text):
    assert error({"port": text}) == f"parameter port={text!r}: expected 1 to 65535"


def test_the_range_message_says_what_a_special_value_means():
    assert error({"client_port": "70000"}) == "parameter client_port='70000': expected 0 to 65535 (0 picks one at random)"


def test_values_inside_the_range_pass_typed():
    assert parse_params(PORTS, {"port": "65535", "client_port": "0", "wait": "10"}) == {
        **PORTS.params, "port": 65535, "client_port": 0, "wait": 10.0}
    assert parse_params(PORTS, {"port": "0x50"})["port"] == 80  # int(text, 0), as before


def test_choices():
    assert parse_params(PORTS, {"closer": "server"})["closer"] == "server"
    assert error({"closer": "both"}) == "parameter closer='both': expected client or server"


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "NaN", "infinity"])
def test_a_float_must_be_finite_even_without_a_declared_range(text):
    assert error({"wait": text}, lab()) == f"parameter wait={text!r}: expected a float (finite) like 0.5"


def test_an_int_parameter_is_spelt_an_int():
    assert error({"port": "huge"}) == "parameter port='huge': expected an int like 80"


def test_without_limits_any_int_is_taken_as_before():
    assert parse_params(lab(), {"port": "70000"})["port"] == 70000


def test_limits_must_name_parameters_of_the_lab():
    assert "declares limits for 'speed'" in error({}, lab(speed=Range(1, 2)))


def test_range_descriptions():
    assert Range(1).describe() == "at least 1"
    assert Range(high=2.5).describe() == "at most 2.5"
    assert Range().problem(-(10**30)) is None
    assert OneOf("a").describe() == "a"
    assert OneOf(0, 1, 2).describe() == "0, 1 or 2"


def test_every_catalogued_lab_declares_limits_only_for_its_own_parameters():
    from protolab.lab.catalog import lab_names, load_lab

    for name in lab_names():
        subject = load_lab(name)
        assert set(subject.limits) <= set(subject.params), name
        assert parse_params(subject, {}) == dict(subject.params)
