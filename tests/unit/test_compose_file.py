"""docker-compose.yml generated from the topology: staleness, networks, capabilities, addresses."""

from __future__ import annotations

import os
import subprocess
import time
import sys
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from protolab.backends.compose import _from_proc
from protolab.backends.compose_file import (
    ENV_NODE,
    IMAGE,
    compose_model,
    container_name,
    engine_gateway,
    render,
)
from protolab.topology import load, loads

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load()
MODEL = compose_model(TOPOLOGY)
PROTOLAB = str(Path(sys.executable).with_name("protolab"))


def test_the_checked_in_compose_file_is_the_generated_one():
    checked_in = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert checked_in == render(TOPOLOGY), "docker-compose.yml is stale: run 'protolab compose' and commit it"


def test_every_lan_is_an_internal_network_with_its_subnet():
    assert set(MODEL["networks"]) == {lan.name for lan in TOPOLOGY.lans}
    for lan in TOPOLOGY.lans:
        network = MODEL["networks"][lan.name]
        assert network["internal"] is True
        (config,) = network["ipam"]["config"]
        assert IPv4Network(config["subnet"]) == lan.subnet


def test_the_engine_gateway_is_an_address_no_node_uses():
    for lan in TOPOLOGY.lans:
        gateway = IPv4Address(MODEL["networks"][lan.name]["ipam"]["config"][0]["gateway"])
        assert gateway in lan.subnet
        assert gateway not in {iface.ip for _node, iface in TOPOLOGY.members(lan.name)}
    assert str(engine_gateway(TOPOLOGY.lan("lan1"), TOPOLOGY)) == "10.0.1.254"  # the router keeps .1


def test_engine_gateway_skips_used_addresses_and_fails_on_a_full_subnet():
    topology = loads(
        """
        [lans.a]
        subnet = "10.9.0.0/29"
        [nodes.x]
        interfaces = [{ lan = "a", ip = "10.9.0.6", mac = "02:00:00:00:09:06" }]
        [nodes.y]
        interfaces = [{ lan = "a", ip = "10.9.0.5", mac = "02:00:00:00:09:05" }]
        """
    )
    assert str(engine_gateway(topology.lan("a"), topology)) == "10.9.0.4"
    full = loads(
        """
        [lans.a]
        subnet = "10.9.0.0/30"
        [nodes.x]
        interfaces = [{ lan = "a", ip = "10.9.0.1", mac = "02:00:00:00:09:01" }]
        [nodes.y]
        interfaces = [{ lan = "a", ip = "10.9.0.2", mac = "02:00:00:00:09:02" }]
        """
    )
    with pytest.raises(ValueError, match="no free address"):
        engine_gateway(full.lan("a"), full)


def test_one_service_per_node_with_its_addresses_and_macs():
    services = MODEL["services"]
    assert list(services) == [n.name for n in TOPOLOGY.nodes]
    for node in TOPOLOGY.nodes:
        service = services[node.name]
        assert service["image"] == IMAGE
        assert service["container_name"] == container_name(node.name)
        assert service["command"] == ["protolab", "node-init", node.name]
        assert service["environment"][ENV_NODE] == node.name
        assert service["networks"] == {
            iface.lan: {"ipv4_address": str(iface.ip), "mac_address": iface.mac} for iface in node.interfaces
        }


def test_capabilities_init_and_the_shared_pid_namespace():
    services = MODEL["services"]
    client = services["client"]
    assert client["init"] is True and "pid" not in client and client["build"] == "."
    assert client["cap_add"] == ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"]
    assert client["security_opt"] == ["systempaths=unconfined", "apparmor=unconfined"]  # sysctls, bind mounts
    for name, service in services.items():
        if name == "client":
            continue
        assert "init" not in service  # podman refuses an init in a shared PID namespace
        assert service["pid"] == "container:protolab-client" and service["depends_on"] == ["client"]
        assert service["cap_add"] == ["NET_ADMIN", "NET_RAW"]
        assert service["pull_policy"] == "never"
        assert "security_opt" not in service


def test_only_the_router_forwards_and_nobody_speaks_ipv6():
    for node in TOPOLOGY.nodes:
        sysctls = MODEL["services"][node.name]["sysctls"]
        assert sysctls["net.ipv6.conf.all.disable_ipv6"] == 1
        assert sysctls["net.ipv6.conf.default.disable_ipv6"] == 1
        assert sysctls["net.ipv4.ip_forward"] == (1 if node.name == "router" else 0)
        if node.forwarding:  # as on netns: no ICMP error is held back by rate limits
            assert sysctls["net.ipv4.icmp_ratelimit"] == 0 and sysctls["net.ipv4.icmp_ratemask"] == 0


def test_a_topology_file_is_mounted_into_every_container():
    model = compose_model(TOPOLOGY, source="/srv/course/topology.toml")
    for service in model["services"].values():
        assert "/srv/course/topology.toml:/etc/protolab/topology.toml:ro" in service["volumes"]
        assert service["environment"]["PROTOLAB_TOPOLOGY"] == "/etc/protolab/topology.toml"
        assert service["labels"]["org.protolab.topology"] == "/srv/course/topology.toml"


def test_the_yaml_reads_back_as_the_model():
    yaml = pytest.importorskip("yaml")  # installed with podman-compose by scripts/bootstrap
    assert yaml.safe_load(render(TOPOLOGY)) == MODEL


def test_protolab_compose_writes_the_file_and_check_sees_a_stale_one(tmp_path):
    target = tmp_path / "docker-compose.yml"
    done = subprocess.run([PROTOLAB, "compose", "-o", str(target)], capture_output=True, check=False, text=True)
    assert done.returncode == 0 and target.read_text() == render(TOPOLOGY)
    assert subprocess.run([PROTOLAB, "compose", "-o", str(target), "--check"], capture_output=True, check=False).returncode == 0
    target.write_text(target.read_text().replace("10.0.2.80", "10.0.2.81"))
    done = subprocess.run([PROTOLAB, "compose", "-o", str(target), "--check"], capture_output=True, check=False, text=True)
    assert done.returncode == 1 and "stale" in done.stdout


def test_without_a_running_stack_the_compose_backend_says_so_in_one_line(tmp_path):
    env = {**os.environ, "PROTOLAB_ENGINE": str(tmp_path / "no-such-engine")}
    env.pop(ENV_NODE, None)
    done = subprocess.run([PROTOLAB, "run", "handshake", "--backend", "compose", "-q"], capture_output=True, check=False, text=True, env=env, cwd=ROOT)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "needs root" in done.stderr if os.geteuid() else "no protolab container stack is running" in done.stderr


def test_inside_a_container_nodes_are_found_by_their_environment():
    child = subprocess.Popen(["sleep", "30"], env={**os.environ, ENV_NODE: "unit-test-node"})
    try:
        # Popen returns once exec() is past its point of no return, a moment before
        # the kernel has set up the new program's environment: look again briefly
        deadline = time.monotonic() + 2.0
        found = _from_proc()
        while "unit-test-node" not in found and time.monotonic() < deadline:
            time.sleep(0.005)
            found = _from_proc()
        assert found["unit-test-node"].pid == child.pid
    finally:
        child.kill()
        child.wait()


def test_node_init_refuses_to_run_outside_its_container():
    env = {k: v for k, v in os.environ.items() if k != ENV_NODE}
    done = subprocess.run([PROTOLAB, "node-init", "client"], capture_output=True, check=False, text=True, env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: node-init is a lab container's command: it runs only where PROTOLAB_NODE=client"
