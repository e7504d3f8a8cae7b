"""Topology input a user controls stays bounded: size, nesting, LAN count, subnet size."""

from __future__ import annotations

import os
import time
from ipaddress import IPv4Network

import pytest

from protolab.backends.compose_file import render
from protolab.errors import TopologyError
from protolab.topology import default_path, load, loads
from protolab.topology.loader import MAX_BYTES, MAX_NESTING, nesting

DEFAULT = default_path().read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "value",
    ["[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000, "[" * 5000],
    ids=["arrays", "inline-tables", "unclosed"],
)
def test_deep_nesting_is_refused_before_the_parser_recurses(value):
    with pytest.raises(TopologyError, match=r"t\.toml: nested 5000 levels deep \(at most 16 are allowed\)"):
        loads(f"x = {value}\n", "t.toml")


def test_dotted_keys_nest_without_brackets_and_are_bounded_too():
    with pytest.raises(TopologyError, match="nested 200 levels deep"):
        loads("a" + ".a" * 199 + " = 1\n", "t.toml")


def test_brackets_in_strings_and_comments_do_not_count():
    text = 'a = "[[[[[[[[[[[[[[[[[[[[" # {{{{{{{{{{{{{{{{{{{{{\nb = \'\'\'\n[[[[[[[[[[[[[[[[[[[\n\'\'\'\nc = "\\"[[[[[[[[[[[[[[[[[[["\n'
    assert nesting(text) == 0
    assert nesting(DEFAULT) <= 3
    assert nesting("[nodes.a]\nx = [[1, [2]], {b = [3]}]\n") == 3


def test_the_default_topology_is_well_inside_the_bounds():
    assert len(DEFAULT.encode()) < MAX_BYTES / 50
    assert nesting(DEFAULT) < MAX_NESTING
    load()


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "huge"])
def test_a_topology_path_that_is_not_a_small_file_is_refused_without_reading_it(tmp_path, kind):
    path = {"directory": tmp_path, "device": "/dev/zero"}.get(kind, tmp_path / "t.toml")
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would block until a writer came
    if kind == "huge":
        with open(path, "wb") as f:
            f.truncate(MAX_BYTES + 1)
    expected = {"directory": "is a directory", "fifo": "is a FIFO", "device": "is a character device",
                "huge": "topology files above 1 MiB are refused"}[kind]
    with pytest.raises(TopologyError, match=f"cannot read topology .*{expected}"):
        load(path)


def test_many_lans_are_checked_for_overlap_in_n_log_n():
    lans = "".join(f'[lans.l{k}]\nsubnet = "10.{k // 256}.{k % 256}.0/24"\n' for k in range(8000))
    node = '[nodes.r]\nrole = "router"\ninterfaces = [{ lan = "l0", ip = "10.0.0.1", mac = "02:00:00:00:00:01" }]\n'
    began = time.perf_counter()
    topology = loads(lans + node)
    assert len(topology.lans) == 8000
    overlapping = lans + '[lans.wide]\nsubnet = "10.20.0.0/16"\n' + node
    with pytest.raises(TopologyError, match=r"lans 'l5120' \(10\.20\.0\.0/24\) and 'wide' \(10\.20\.0\.0/16\) overlap"):
        loads(overlapping)
    assert time.perf_counter() - began < 5  # all pairs were 32 million comparisons: ~28 s


def test_a_slash_8_renders_its_compose_file_without_listing_its_hosts(monkeypatch):
    text = DEFAULT.replace('"10.0.2.0/24"', '"10.0.0.0/8"').replace("10.0.1.", "192.168.1.")
    topology = loads(text)
    monkeypatch.setattr(IPv4Network, "hosts", lambda self: pytest.fail("enumerated the subnet's hosts"))
    began = time.perf_counter()
    assert "protolab-node, web]" in render(topology)
    assert time.perf_counter() - began < 1  # was 14 s when the engine's gateway was searched for
