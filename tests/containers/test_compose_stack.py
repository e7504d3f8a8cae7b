"""The labs in containers: the stack of docker-compose.yml, on podman and on Docker Engine.

One stack per engine for the whole module (compose_stack): building it costs
about a minute from a cold machine, bringing it up a few seconds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from protolab.backends.compose import find_stack
from protolab.backends.compose_file import SWITCH_SERVICE, container_name
from protolab.expect import Status
from protolab.lab.catalog import lab_names, load_lab
from protolab.lab.runner import RunOptions, run_lab
from protolab.topology import load

from .engines import PROJECT

pytestmark = pytest.mark.containers
SOLUTIONS = Path(__file__).resolve().parents[1] / "root" / "solutions"
TOPOLOGY = load()

# the labs of the default network, which the stack runs; a lab on a network of its own
# (segments) needs its own stack (`protolab compose --lab NAME`, tests/unit/test_compose_lab.py)
STACK_LABS = [name for name in lab_names() if not load_lab(name).topology]


def in_node(stack, node: str, *argv: str) -> str:
    """Run a command in a container's network and mount namespaces, from the host."""
    net, mnt = stack.nodes[node]
    done = subprocess.run(
        ["nsenter", f"--net={stack.path(net)}", f"--mount={stack.path(mnt)}", "--", *argv],
        capture_output=True, text=True, check=True, timeout=10,
    )
    return done.stdout


def explain(verdict) -> str:
    return "\n".join(verdict.explanations())


def run(lab_name: str, tmp_path: Path, solution: str | None = None):
    options = RunOptions(backend="compose", out_dir=tmp_path, solution=SOLUTIONS / solution if solution else None)
    return run_lab(load_lab(lab_name), options)


def test_every_node_is_its_topology_node(compose_stack):
    stack = find_stack()
    try:
        assert sorted(stack.nodes) == sorted(n.name for n in TOPOLOGY.nodes) and stack.missing == []
        for node in TOPOLOGY.nodes:
            links = {link["ifname"]: link for link in json.loads(in_node(stack, node.name, "ip", "-j", "addr", "show"))}
            for iface in node.interfaces:
                link = links[iface.name]
                assert link["address"] == iface.mac, node.name
                assert [a["local"] for a in link["addr_info"] if a["family"] == "inet"] == [str(iface.ip)]
                assert not [a for a in link["addr_info"] if a["family"] == "inet6"], f"{node.name} has IPv6"
            assert set(links) == {"lo"} | {i.name for i in node.interfaces}, node.name  # nothing of the engine's
            defaults = json.loads(in_node(stack, node.name, "ip", "-j", "route", "show", "default"))
            assert [r.get("gateway") for r in defaults] == ([str(node.gateway)] if node.gateway else []), node.name
            forwarding = in_node(stack, node.name, "cat", "/proc/sys/net/ipv4/ip_forward").strip()
            assert forwarding == ("1" if node.forwarding else "0"), node.name
            assert in_node(stack, node.name, "cat", "/etc/hostname").strip() == node.name  # its own container
    finally:
        stack.close()


def test_the_stack_has_no_engine_network_and_nothing_leads_out(engine, compose_stack):
    assert engine.leftovers(PROJECT)["networks"] == []  # the compose tool made no network
    # the host has no address, route or link into the lab: the LANs are bridges inside the lan-switch
    host = json.loads(subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True).stdout)
    host_ips = [IPv4Address(a["local"]) for link in host for a in link["addr_info"]]
    assert not [ip for ip in host_ips for lan in TOPOLOGY.lans if ip in lan.subnet]
    routes = json.loads(subprocess.run(["ip", "-j", "-4", "route"], capture_output=True, text=True, check=True).stdout)
    assert not [r for r in routes if r["dst"] != "default" and any(IPv4Network(r["dst"], strict=False).overlaps(lan.subnet) for lan in TOPOLOGY.lans)]
    host_links = {link["ifname"] for link in json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)}
    assert not [name for name in host_links if name.startswith("br-lan") or "-e" in name and name.split("-e")[0] in {n.name for n in TOPOLOGY.nodes}]


def test_routed_labs_pass_on_a_stock_host_with_bridged_frames_in_its_firewall(engine, compose_stack, tmp_path):
    # what made every routed lab fail on Docker: br_netfilter on, and Docker's isolation
    # rules for internal networks; no rule is added by hand (DOCKER-USER only returns)
    if engine.name == "docker":
        assert Path("/proc/sys/net/bridge/bridge-nf-call-iptables").read_text().strip() == "1"
        rules = subprocess.run(["iptables", "-S", "DOCKER-USER"], capture_output=True, text=True, check=True).stdout.split("\n")
        assert [r for r in rules if r] == ["-N DOCKER-USER", "-A DOCKER-USER -j RETURN"]
    for lab_name in ("route", "dns"):
        result = run(lab_name, tmp_path / lab_name)
        assert result.verdict.status is Status.PASS, explain(result.verdict)


@pytest.mark.parametrize("lab_name", STACK_LABS)
def test_every_lab_passes_with_its_reference_solution(compose_stack, lab_name, tmp_path):
    result = run(lab_name, tmp_path)
    assert result.verdict.status is Status.PASS, explain(result.verdict)
    assert result.pcap.is_file() and result.report.is_file()


def test_handshake_frames_are_recorded_once_per_link_by_their_sender(compose_stack, tmp_path):
    result = run("handshake", tmp_path)
    syns = [f for f in result.trace if f.has("tcp") and f.get("tcp.flags") == "S"]
    assert [(f.link, f.sender) for f in syns] == [("lan1", "client"), ("lan2", "router")]  # seen on the switch's ports
    assert syns[0].get("eth.src") == "02:00:00:00:01:10" and syns[0].get("eth.dst") == "02:00:00:00:01:01"
    assert syns[1].get("eth.src") == "02:00:00:00:02:01" and syns[1].get("eth.dst") == "02:00:00:00:02:80"
    assert syns[1].get("ip.ttl") == syns[0].get("ip.ttl") - 1
    assert result.facts == {"web.accepted": True, "web.state": "ESTABLISHED"}


WRONG = {"handshake": "wrong_ack.py", "teardown": "teardown/no_final_ack.py", "arp": "arp/wrong_op.py",
         "route": "route/frame_to_web_mac.py", "dns": "dns/stops_at_referral.py", "udp_echo": "udp_echo/one_datagram.py",
         "http": "http/no_host.py", "dhcp": "dhcp/wrong_xid.py", "journey": "journey/asks_root.py",
         "webserver": "webserver/traversal.py", "udp": "udp/one_datagram.py", "multiplex": "multiplex/shared_counters.py",
         "keepalive": "keepalive/new_connection_each.py", "cache": "cache/refetch_while_fresh.py"}


def failed_items(result) -> set[str]:
    return {i.name for i in result.verdict.items if i.status is Status.FAIL}


def test_every_lab_has_a_wrong_solution_here():
    assert set(STACK_LABS) <= set(WRONG)


@pytest.mark.parametrize("lab_name", sorted(set(WRONG) & set(STACK_LABS)))
def test_a_wrong_solution_fails_on_containers_as_on_netns(compose_stack, lab_name, tmp_path):
    on_containers = run(lab_name, tmp_path / "compose", WRONG[lab_name])
    on_netns = run_lab(load_lab(lab_name), RunOptions(out_dir=tmp_path / "netns", solution=SOLUTIONS / WRONG[lab_name], fresh=True))
    assert on_containers.verdict.status is Status.FAIL, explain(on_containers.verdict)
    assert failed_items(on_containers) == failed_items(on_netns) != set()


def test_protolab_run_on_the_host_picks_the_stack_with_backend_compose(compose_stack, tmp_path):
    done = subprocess.run(
        [str(Path(sys.executable).with_name("protolab")), "run", "handshake", "--backend", "compose", "--out", str(tmp_path)],
        capture_output=True, check=False, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and "SYN-ACK" in done.stdout and "on the topology that is up" in done.stdout
    assert (tmp_path / "trace.pcapng").is_file()


@pytest.mark.parametrize("lab_name", STACK_LABS)
def test_every_lab_passes_from_inside_the_client_container(engine, compose_stack, lab_name):
    done = subprocess.run(
        engine.exec_argv(container_name("client"), "protolab", "run", lab_name, "-q"),
        capture_output=True, check=False, text=True, timeout=120, env=engine.env(),
    )
    line = done.stdout.strip()
    assert done.returncode == 0 and re.fullmatch(rf"{lab_name}: PASS \((\d+)/\1\)", line), done.stdout + done.stderr


def test_inside_the_client_container_the_run_shows_the_ladder(engine, compose_stack):
    done = subprocess.run(
        engine.exec_argv(container_name("client"), "protolab", "run", "handshake"),
        capture_output=True, check=False, text=True, timeout=60, env=engine.env(),
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


def test_a_recreated_node_is_wired_again(engine, compose_stack, tmp_path):
    # the switch drops a node whose container goes, and wires the new one
    engine.command("restart", "-t", "1", container_name("web"), timeout=60)
    result = run("handshake", tmp_path)  # waits for the stack to be ready again
    assert result.verdict.status is Status.PASS, explain(result.verdict)
    logs = engine.command("logs", container_name(SWITCH_SERVICE))
    assert "node web has gone" in logs and logs.count("wired web") == 2
