"""The netns backend builds exactly the topology, inside namespaces only, and removes exactly it."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from protolab.backends.ledger import all_records
from protolab.backends.netns import NetnsBackend, destroy
from protolab.topology import load

pytestmark = pytest.mark.root


def sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def in_node(deployment, node: str, *argv: str) -> str:
    result = deployment.node(node).run(list(argv))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def deployment():
    d = NetnsBackend().deploy(load())
    yield d
    d.teardown()


def test_every_node_gets_its_addresses_macs_and_routes(deployment):
    topology = deployment.topology
    for node in topology.nodes:
        links = {l["ifname"]: l for l in json.loads(in_node(deployment, node.name, "ip", "-j", "addr"))}
        assert links["lo"]["operstate"] == "UNKNOWN" and "UP" in links["lo"]["flags"]
        for iface in node.interfaces:
            link = links[iface.name]
            assert link["address"] == iface.mac
            assert [(a["local"], a["prefixlen"]) for a in link["addr_info"]] == [
                (str(iface.ip), topology.lan(iface.lan).subnet.prefixlen)
            ], "one IPv4 address and no IPv6 at all"
        routes = json.loads(in_node(deployment, node.name, "ip", "-j", "route"))
        defaults = [r for r in routes if r["dst"] == "default"]
        if node.gateway:
            assert [r["gateway"] for r in defaults] == [str(node.gateway)]
        else:
            assert defaults == [], f"{node.name} must have no route out of the lab"
        forwarding = in_node(deployment, node.name, "cat", "/proc/sys/net/ipv4/ip_forward").strip()
        assert forwarding == ("1" if node.forwarding else "0")


def test_nothing_appears_in_the_root_namespace(deployment):
    root_links = sh("ip", "-br", "link")
    assert "plab" not in root_links and deployment.run_id not in root_links
    for node in deployment.topology.nodes:
        for k, _ in enumerate(node.interfaces):
            assert f"{node.name}-e{k}" not in root_links.split()


def test_bridges_join_each_lan_in_the_switch_namespace(deployment):
    switch = f"plab-{deployment.run_id}-sw"
    links = json.loads(sh("ip", "-n", switch, "-j", "link"))
    masters = {l["ifname"]: l.get("master") for l in links}
    for node in deployment.topology.nodes:
        for k, iface in enumerate(node.interfaces):
            assert masters[f"{node.name}-e{k}"] == f"br-{iface.lan}"


@contextmanager
def kernel_connection(deployment, port: int = 8080) -> Iterator[tuple[socket.socket, socket.socket, tuple]]:
    """A kernel TCP connection from client to web:8080 across the router: (client's socket,
    web's accepted socket, the peer web saw); every socket is closed afterwards."""
    listener = deployment.node("web").socket(socket.AF_INET, socket.SOCK_STREAM)
    client = deployment.node("client").socket(socket.AF_INET, socket.SOCK_STREAM)
    with listener, client:
        listener.bind(("10.0.2.80", port))
        listener.listen()
        client.settimeout(2)
        client.connect(("10.0.2.80", port))
        conn, peer = listener.accept()
        with conn:
            yield client, conn, peer


def test_kernel_tcp_crosses_the_router(deployment):
    with kernel_connection(deployment) as (_, _, peer):
        pass
    assert peer[0] == "10.0.1.10"


def test_the_ledger_records_the_run_before_teardown_and_forgets_it_after():
    d = NetnsBackend().deploy(load())
    record = next(r for r in all_records() if r.run_id == d.run_id)
    assert record.namespaces[0] == f"plab-{d.run_id}-sw"
    assert sorted(record.namespaces[1:]) == sorted(f"plab-{d.run_id}-{n.name}" for n in d.topology.nodes)
    assert record.owner_alive()
    d.teardown()
    assert d.run_id not in {r.run_id for r in all_records()}
    assert f"plab-{d.run_id}-" not in sh("ip", "netns", "list")


def test_two_deployments_never_share_a_name():
    first, second = NetnsBackend().deploy(load()), NetnsBackend().deploy(load())
    try:
        assert first.run_id != second.run_id
        assert not set(first.record.namespaces) & set(second.record.namespaces)
    finally:
        first.teardown()
        second.teardown()


def test_destroy_removes_only_what_the_ledger_lists(deployment):
    bystander = f"plab-{deployment.run_id}-bystander"  # same prefix, not in the ledger
    sh("ip", "netns", "add", bystander)
    try:
        removed = destroy(deployment.record)
        assert len(removed) == len(deployment.topology.nodes) + 1
        assert bystander in sh("ip", "netns", "list")
    finally:
        sh("ip", "netns", "del", bystander)


def test_attach_finds_a_running_deployment(deployment):
    attached = NetnsBackend().attach(deployment.record)
    assert attached.run_id == deployment.run_id
    assert attached.node("web").netns == deployment.node("web").netns
