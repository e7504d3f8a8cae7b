"""Topology files that extend the default, per-LAN MTUs, and topologies as data (what a capture records)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protolab.errors import TopologyError
from protolab.lab.api import Lab
from protolab.lab.network import lab_topology, mismatch, topology_source
from protolab.models.zones import zones_dir
from protolab.topology import default_path, from_data, load, loads, to_data


def write(tmp_path: Path, text: str, name: str = "lab.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_extending_file_changes_only_what_it_names(tmp_path):
    default = load()
    small = load(write(tmp_path, 'extends = "default"\n[lans.lan2]\nmtu = 1400\n'))
    assert small.lan("lan2").mtu == 1400
    assert small.lan("lan1").mtu == 1500
    assert small.lan("lan2").subnet == default.lan("lan2").subnet
    assert small.nodes == default.nodes
    assert small != default  # one MTU makes another network
    assert small.name == "lab"  # named after its file unless it says otherwise


def test_an_extending_file_adds_a_lan_and_a_second_router(tmp_path):
    text = '''extends = "default"
[lans.lan3]
subnet = "10.0.3.0/24"
[nodes.router2]
role = "router"
forwarding = true
interfaces = [{ lan = "lan2", ip = "10.0.2.2", mac = "02:00:00:00:02:02" },
              { lan = "lan3", ip = "10.0.3.1", mac = "02:00:00:00:03:01" }]
[nodes.web]
gateway = "10.0.2.2"
'''
    topology = load(write(tmp_path, text))
    assert [lan.name for lan in topology.lans] == ["lan1", "lan2", "lan3"]
    assert topology.node("router2").forwarding
    assert str(topology.node("web").gateway) == "10.0.2.2"
    assert topology.node("web").interfaces == load().node("web").interfaces  # untouched keys are the base's


def test_an_extending_file_is_validated_as_a_whole(tmp_path):
    clash = 'extends = "default"\n[lans.lan3]\nsubnet = "10.0.2.0/25"\n'
    with pytest.raises(TopologyError, match="lans 'lan2' .* and 'lan3' .* overlap"):
        load(write(tmp_path, clash))


@pytest.mark.parametrize("text, message", [
    ('extends = "other"\n', "only 'default' can be extended"),
    ('extends = "/etc/passwd"\n', "only 'default' can be extended"),
    ('extends = "default"\n[lans.lan2]\nmtu = 100\n', "mtu 100 is not a whole number from 576 to 9000"),
    ('extends = "default"\n[lans.lan2]\nmtu = "big"\n', "mtu 'big' is not a whole number"),
    ('extends = "default"\n[lans.lan2]\nmtu = true\n', "mtu True is not a whole number"),
])
def test_bad_extensions_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(TopologyError, match=message) as info:
        load(write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_zone_files_come_from_the_base_when_the_file_has_none(tmp_path):
    topology = load(write(tmp_path, 'extends = "default"\n'))
    assert zones_dir(topology) == default_path().parent / "zones"
    (tmp_path / "zones").mkdir()
    assert zones_dir(load(write(tmp_path, 'extends = "default"\n'))) == tmp_path / "zones"


def test_a_topology_survives_json_as_a_capture_records_it(tmp_path):
    for topology in (load(), load(write(tmp_path, 'extends = "default"\n[lans.lan1]\nmtu = 9000\n'))):
        again = from_data(json.loads(json.dumps(to_data(topology))), "capture")
        assert again == topology
        assert again.lan("lan1").mtu == topology.lan("lan1").mtu


@pytest.mark.parametrize("data", [
    [], "text", {"lans": "no"}, {"nodes": {"x": {"interfaces": "no"}}}, {"extends": "default"},
    {"lans": {"a": {"subnet": "10.0.0.0/8", "mtu": 10**9}}, "nodes": {}},
])
def test_recorded_data_is_validated_like_a_file(data):
    with pytest.raises(TopologyError):
        from_data(data, "capture")


def lab_with(tmp_path: Path, topology: str) -> Lab:
    source = tmp_path / "mylab.py"
    source.write_text("")
    return Lab(name="mylab", title="t", summary="s", instructions="i", student=print, procedure=print,
               expectation=print, columns=("client",), source=str(source), topology=topology)


def test_a_lab_finds_its_topology_beside_its_file(tmp_path):
    write(tmp_path, 'extends = "default"\n[lans.lan2]\nmtu = 1280\n', "mylab.toml")
    lab = lab_with(tmp_path, "mylab.toml")
    assert topology_source(lab) == str(tmp_path / "mylab.toml")
    assert lab_topology(lab).lan("lan2").mtu == 1280
    assert topology_source(lab_with(tmp_path, "")) == "default"
    assert "runs on the topology 'mylab'" in mismatch(lab, load(), lab_topology(lab))
    assert mismatch(lab, lab_topology(lab), lab_topology(lab)) is None


def test_a_lab_naming_a_missing_topology_says_so(tmp_path):
    from protolab.errors import LabError

    with pytest.raises(LabError, match="its topology file .*nothere.toml does not exist"):
        lab_topology(lab_with(tmp_path, "nothere.toml"))


def test_loads_text_without_a_file_extends_too():
    assert loads('extends = "default"\n', "the lan-switch's topology") == load()
