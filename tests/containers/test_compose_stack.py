"""The labs in containers: the stack of docker-compose.yml, built and run with podman.

One stack for the whole module (compose_stack): building it costs about a
minute from a cold machine, bringing it up a few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from protolab.backends.compose import find_stack
from protolab.backends.compose_file import container_name, engine_gateway
from protolab.expect import Status
from protolab.lab.catalog import lab_names, load_lab
from protolab.lab.runner import RunOptions, run_lab
from protolab.topology import load

from . import stack

pytestmark = pytest.mark.containers
SOLUTIONS = Path(__file__).resolve().parents[1] / "root" / "solutions"
TOPOLOGY = load()


def in_node(pid: int, *argv: str) -> str:
    """Run a command in a container's network and mount namespaces, from the host."""
    done = subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", f"--mount=/proc/{pid}/ns/mnt", "--", *argv],
        capture_output=True, text=True, check=True, timeout=10,
    )
    return done.stdout


def explain(verdict) -> str:
    return "\n".join(verdict.explanations())


def run(lab_name: str, tmp_path: Path, solution: str | None = None):
    options = RunOptions(backend="compose", out_dir=tmp_path, solution=SOLUTIONS / solution if solution else None)
    return run_lab(load_lab(lab_name), options)


def test_every_node_is_its_topology_node(compose_stack):
    containers = find_stack()
    assert sorted(containers) == sorted(n.name for n in TOPOLOGY.nodes)
    for node in TOPOLOGY.nodes:
        pid = containers[node.name].pid
        links = {link["ifname"]: link for link in json.loads(in_node(pid, "ip", "-j", "addr", "show"))}
        for iface in node.interfaces:
            link = links[iface.name]
            assert link["address"] == iface.mac, node.name
            assert [a["local"] for a in link["addr_info"] if a["family"] == "inet"] == [str(iface.ip)]
            assert not [a for a in link["addr_info"] if a["family"] == "inet6"], f"{node.name} has IPv6"
        assert set(links) == {"lo"} | {i.name for i in node.interfaces}, node.name
        defaults = [r for r in json.loads(in_node(pid, "ip", "-j", "route", "show", "default"))]
        assert [r.get("gateway") for r in defaults] == ([str(node.gateway)] if node.gateway else []), node.name
        forwarding = in_node(pid, "cat", "/proc/sys/net/ipv4/ip_forward").strip()
        assert forwarding == ("1" if node.forwarding else "0"), node.name


def test_lans_are_internal_networks_whose_engine_gateway_no_node_uses(compose_stack):
    for lan in TOPOLOGY.lans:
        (network,) = json.loads(stack.podman("network", "inspect", f"{stack.PROJECT}_{lan.name}"))
        assert network["internal"] is True
        (subnet,) = network["subnets"]
        assert IPv4Network(subnet["subnet"]) == lan.subnet
        gateway = IPv4Address(subnet["gateway"])
        assert gateway == engine_gateway(lan, TOPOLOGY)
        assert gateway not in {i.ip for _n, i in TOPOLOGY.members(lan.name)}
    # the host has no address and no route in the lab's subnets: nothing leads out of the lab
    host = json.loads(subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True).stdout)
    host_ips = [IPv4Address(a["local"]) for link in host for a in link["addr_info"]]
    assert not [ip for ip in host_ips for lan in TOPOLOGY.lans if ip in lan.subnet]
    routes = json.loads(subprocess.run(["ip", "-j", "-4", "route"], capture_output=True, text=True, check=True).stdout)
    assert not [r for r in routes if r["dst"] != "default" and any(IPv4Network(r["dst"], strict=False).overlaps(lan.subnet) for lan in TOPOLOGY.lans)]


@pytest.mark.parametrize("lab_name", lab_names())
def test_every_lab_passes_with_its_reference_solution(compose_stack, lab_name, tmp_path):
    result = run(lab_name, tmp_path)
    assert result.verdict.status is Status.PASS, explain(result.verdict)
    assert result.pcap.is_file() and result.report.is_file()


def test_handshake_frames_are_recorded_once_per_link_by_their_sender(compose_stack, tmp_path):
    result = run("handshake", tmp_path)
    syns = [f for f in result.trace if f.has("tcp") and f.get("tcp.flags") == "S"]
    assert [(f.link, f.sender) for f in syns] == [("lan1", "client"), ("lan2", "router")]
    assert syns[0].get("eth.src") == "02:00:00:00:01:10" and syns[0].get("eth.dst") == "02:00:00:00:01:01"
    assert syns[1].get("eth.src") == "02:00:00:00:02:01" and syns[1].get("eth.dst") == "02:00:00:00:02:80"
    assert syns[1].get("ip.ttl") == syns[0].get("ip.ttl") - 1
    assert result.facts == {"web.accepted": True, "web.state": "ESTABLISHED"}


def test_a_wrong_solution_fails_on_containers_as_on_netns(compose_stack, tmp_path):
    result = run("handshake", tmp_path, "wrong_ack.py")
    assert result.verdict.status is Status.FAIL
    failed = {i.name for i in result.verdict.items if i.status is Status.FAIL}
    assert {"ACK from client", "no RST from web"} <= failed
    assert result.facts["web.accepted"] is False


def test_protolab_run_on_the_host_picks_the_stack_with_backend_compose(compose_stack, tmp_path):
    done = subprocess.run(
        [str(Path(sys.executable).with_name("protolab")), "run", "handshake", "--backend", "compose", "--out", str(tmp_path)],
        capture_output=True, check=False, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and "SYN-ACK" in done.stdout and "on the topology that is up" in done.stdout
    assert (tmp_path / "trace.pcapng").is_file()


@pytest.mark.parametrize("lab_name", lab_names())
def test_every_lab_passes_from_inside_the_client_container(compose_stack, lab_name):
    done = subprocess.run(
        ["podman", "exec", container_name("client"), "protolab", "run", lab_name, "-q"],
        capture_output=True, check=False, text=True, timeout=120, env=stack.env(),
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"{lab_name}: PASS"), done.stdout + done.stderr


def test_inside_the_client_container_the_run_shows_the_ladder(compose_stack):
    done = subprocess.run(
        ["podman", "exec", container_name("client"), "protolab", "run", "handshake"],
        capture_output=True, check=False, text=True, timeout=60, env=stack.env(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "on the topology that is up" in done.stdout and "SYN-ACK" in done.stdout and "PASS" in done.stdout


def test_node_programs_run_in_the_node_container(compose_stack):
    from protolab.backends.compose import ComposeBackend

    deployment = ComposeBackend().deploy(TOPOLOGY)
    try:
        for name in ("web", "router"):
            done = deployment.node(name).run(["cat", "/etc/hostname"])
            assert done.stdout.strip() == name  # the container's own files, not the host's
        assert deployment.workdir.is_dir()
        probe = deployment.workdir / "probe.txt"
        probe.write_text("written on the host")
        seen = deployment.node("auth").run(["cat", str(probe)])
        assert seen.stdout == "written on the host"  # the work directory is shared with every node
    finally:
        deployment.teardown()
    assert not probe.exists()


def test_a_second_run_at_the_same_time_is_refused_with_one_line(compose_stack, tmp_path):
    from protolab.backends.compose import ComposeBackend

    first = ComposeBackend().deploy(TOPOLOGY)
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("protolab")), "run", "handshake", "--backend", "compose", "--out", str(tmp_path)],
            capture_output=True, check=False, text=True, timeout=60,
        )
    finally:
        first.teardown()
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: another lab run is using the container stack")
    assert "Traceback" not in done.stderr
