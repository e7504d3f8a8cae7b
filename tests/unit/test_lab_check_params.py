"""Lab.check_params: the one hook for what limits cannot say, run after every --set is typed and in range."""

from __future__ import annotations

import pytest

from protolab.errors import LabError
from protolab.lab.api import Lab, Range
from protolab.lab.runner import parse_params


def lab(check=None) -> Lab:
    return Lab(name="demo", title="t", summary="s", instructions="i", student=lambda client: None,
               procedure=lambda ctx: None, expectation=lambda topology, params: None, columns=("client",),
               params={"port": 7, "closed_port": 9}, limits={"port": Range(1, 65535)}, check_params=check)


def differ(params) -> str | None:
    return "port and closed_port must differ" if params["port"] == params["closed_port"] else None


def test_the_hook_sees_typed_values_and_its_problem_is_one_line():
    assert parse_params(lab(differ), {"port": "8"}) == {"port": 8, "closed_port": 9}
    with pytest.raises(LabError, match=r"^lab demo: port and closed_port must differ$"):
        parse_params(lab(differ), {"port": "9"})


def test_limits_are_checked_before_the_hook():
    seen = []
    with pytest.raises(LabError, match="port='0': expected 1 to 65535"):
        parse_params(lab(lambda params: seen.append(params)), {"port": "0"})
    assert seen == []


def test_without_a_hook_nothing_more_is_checked():
    assert parse_params(lab(), {"port": "9"}) == {"port": 9, "closed_port": 9}
