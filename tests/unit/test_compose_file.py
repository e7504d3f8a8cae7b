"""docker-compose.yml generated from the topology: staleness, one file for every Compose, capabilities."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from protolab.backends.compose_file import (
    ENV_NODE,
    IMAGE,
    compose_model,
    SWITCH_SERVICE,
    container_name,
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


def test_no_engine_network_and_no_engine_specific_option():
    # Compose v1 rejects a top-level name:, `pid: container:` before the container
    # exists and systempaths=unconfined; podman-compose does not understand `pid:
    # service:`; engine networks put frames through the host's firewall rules
    assert set(MODEL) == {"services", "x-podman"}
    for name, service in MODEL["services"].items():
        assert service["network_mode"] == "none", name
        assert not {"networks", "pid", "ipc", "ports", "privileged"} & set(service), name
        assert not [o for o in service.get("security_opt", []) if o.startswith("systempaths")], name


def test_the_lan_switch_and_one_service_per_node():
    services = MODEL["services"]
    assert list(services) == [SWITCH_SERVICE] + [n.name for n in TOPOLOGY.nodes]
    switch = services[SWITCH_SERVICE]
    assert switch["command"] == ["protolab-node", SWITCH_SERVICE] and switch["cap_add"] == ["NET_ADMIN"]
    assert switch["sysctls"]["net.ipv6.conf.all.disable_ipv6"] == 1  # its bridge ports stay quiet
    for node in TOPOLOGY.nodes:
        service = services[node.name]
        assert service["image"] == IMAGE
        assert service["container_name"] == container_name(node.name)
        assert service["command"] == ["protolab-node", node.name]
        assert service["environment"][ENV_NODE] == node.name
        assert service["depends_on"] == [SWITCH_SERVICE]


def test_capabilities_init_and_who_builds():
    services = MODEL["services"]
    client = services["client"]
    assert client["build"] == "." and "pull_policy" not in client
    assert client["cap_add"] == ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"]
    assert client["security_opt"] == ["apparmor=unconfined", "seccomp=unconfined"]  # the sandbox's mounts, pivot_root
    for name, service in services.items():
        assert service["init"] is True, name
        assert service["volumes"][0].endswith(":/run/protolab/work"), name  # the switch's socket, run files
        if name in ("client", SWITCH_SERVICE):
            continue
        assert service["cap_add"] == ["NET_ADMIN", "NET_RAW"]
        assert service["pull_policy"] == "never"
        assert "security_opt" not in service and "build" not in service


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
    for service in model["services"].values():  # the lan-switch too: it wires that topology
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
    target.write_text(target.read_text().replace("protolab-node, web]", "protolab-node, webb]"))
    done = subprocess.run([PROTOLAB, "compose", "-o", str(target), "--check"], capture_output=True, check=False, text=True)
    assert done.returncode == 1 and "stale" in done.stdout


def test_without_a_running_stack_the_compose_backend_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ENV_NODE}
    argv = [PROTOLAB, "run", "handshake", "--backend", "compose", "-q"]
    if os.geteuid() == 0:  # a mount namespace of its own, where no lan-switch socket is, whatever runs here
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mkdir -p /run/protolab/work && mount -t tmpfs none /run/protolab/work && exec "$@"', "-", *argv]
    done = subprocess.run(argv, capture_output=True, check=False, text=True, env=env, cwd=ROOT)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "needs root" in done.stderr if os.geteuid() else "no protolab container stack is running" in done.stderr


@pytest.mark.parametrize("name", ["client", SWITCH_SERVICE])
def test_the_container_command_refuses_to_run_outside_its_container(name):
    env = {k: v for k, v in os.environ.items() if k != ENV_NODE}
    done = subprocess.run([str(Path(sys.executable).with_name("protolab-node")), name], capture_output=True, check=False, text=True, env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: protolab-node is a lab container's command: it runs only where PROTOLAB_NODE={name}"


def test_the_container_command_names_an_unknown_node():
    env = {**os.environ, ENV_NODE: "nobody"}
    done = subprocess.run([str(Path(sys.executable).with_name("protolab-node")), "nobody"], capture_output=True, check=False, text=True, env=env)
    assert (done.returncode, done.stderr.strip()) == (2, "error: topology 'default' has no node 'nobody'")


COMPOSE_SPEC = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")  # Debian's docker-compose


@pytest.mark.skipif(not COMPOSE_SPEC.is_file(), reason="needs Debian's docker-compose (scripts/bootstrap --containers)")
def test_the_file_is_valid_for_the_compose_specification():
    # Compose v2 reads the Compose Specification; its JSON schema ships with v1
    jsonschema = pytest.importorskip("jsonschema")
    yaml = pytest.importorskip("yaml")
    schema = json.loads(COMPOSE_SPEC.read_text())
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))  # the spec's draft


@pytest.mark.parametrize("tool", ["docker-compose", "podman-compose"])
def test_each_compose_tool_reads_the_file_as_it_is(tool):
    found = shutil.which(tool) or str(Path(sys.executable).with_name(tool))
    if not Path(found).is_file():
        pytest.skip(f"{tool} is not installed (scripts/bootstrap --containers)")
    done = subprocess.run([found, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True, text=True,
                          check=False, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load(done.stdout)["services"]
    assert set(services) == set(MODEL["services"])
    assert all(s.get("network_mode") == "none" for s in services.values())


def test_a_node_container_configures_its_side_as_the_netns_backend_does():
    from protolab.backends.wiring import configure_commands

    assert configure_commands(TOPOLOGY.node("router"), TOPOLOGY) == [
        "link set dev lo up",
        "link set dev eth0 up", "address add 10.0.1.1/24 dev eth0",
        "link set dev eth1 up", "address add 10.0.2.1/24 dev eth1",
    ]
    assert configure_commands(TOPOLOGY.node("web"), TOPOLOGY)[-1] == "route add default via 10.0.2.1"
