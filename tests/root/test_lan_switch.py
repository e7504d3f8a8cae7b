"""The lan-switch of the container stack, in real namespaces: nodes register,
get their ports, a lab run gets the namespaces, a node that goes loses its ports.

The switch runs as its own process in a namespace of its own (as in its
container); the "containers" are namespaces this test creates.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pyroute2 import IPRoute, netns

from protolab.backends.compose import find_stack
from protolab.backends.node_init import configure, register
from protolab.backends.nsenter import entered, netns_path
from protolab.errors import BackendError
from protolab.topology import default_path, load

TOPOLOGY = load()
SWITCH_CODE = """
import sys
from pathlib import Path
from protolab.backends.switch_init import run_switch
from protolab.topology import loads
text = Path(sys.argv[1]).read_text()
run_switch(loads(text), text, Path(sys.argv[2]))
"""


@pytest.fixture
def namespaces():
    """Namespaces by role, created for this test and removed after it (by name)."""
    made: dict[str, str] = {}

    def make(role: str) -> str:
        name = f"plab-t{os.getpid() % 100000}-{role}"
        netns.create(name)
        made[role] = name
        return name

    yield make
    for name in made.values():
        netns.remove(name)


@pytest.fixture
def switch(namespaces, tmp_path):
    socket_path = tmp_path / "lan-switch.sock"
    name = namespaces("sw")
    process = subprocess.Popen(
        ["ip", "netns", "exec", name, sys.executable, "-c", SWITCH_CODE, str(default_path()), str(socket_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the switch never listened"
        time.sleep(0.02)
    yield name, socket_path, process
    if process.poll() is None:
        process.kill()
    process.wait()


def register_in(ns: str, node_name: str, socket_path: Path):
    """What node-init does, from a thread inside the node's namespace."""
    node = TOPOLOGY.node(node_name)
    result = {}

    def work():
        with entered(netns_path(ns)):
            result["connection"] = register(node, socket_path)
            configure(node, TOPOLOGY)  # `ip -batch`, in this thread's namespace

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    return result["connection"]


def links(ns: str) -> dict[str, dict]:
    with entered(netns_path(ns)):
        ipr = IPRoute()
    try:
        return {link.get_attr("IFLA_IFNAME"): link for link in ipr.get_links()}
    finally:
        ipr.close()


def test_registered_nodes_get_their_interfaces_and_a_run_gets_their_namespaces(namespaces, switch):
    switch_ns, socket_path, _process = switch
    client, router = namespaces("client"), namespaces("router")
    held = [register_in(client, "client", socket_path), register_in(router, "router", socket_path)]
    try:
        eth0 = links(client)["eth0"]
        assert eth0.get_attr("IFLA_ADDRESS") == TOPOLOGY.node("client").mac
        routes = json.loads(subprocess.run(["ip", "-n", client, "-j", "route"], capture_output=True, text=True, check=True).stdout)
        assert {(r["dst"], r.get("gateway")) for r in routes} == {("default", "10.0.1.1"), ("10.0.1.0/24", None)}
        assert set(links(router)) == {"lo", "eth0", "eth1"}
        ports = links(switch_ns)
        assert {"br-lan1", "br-lan2", "client-e0", "router-e0", "router-e1"} <= set(ports)
        assert ports["client-e0"].get_attr("IFLA_MASTER") == ports["br-lan1"]["index"]

        stack = find_stack(socket_path)
        try:
            assert set(stack.nodes) == {"client", "router"}
            assert set(stack.missing) == {n.name for n in TOPOLOGY.nodes} - {"client", "router"}
            assert stack.topology_text == default_path().read_text()
            same = os.stat(stack.path(stack.nodes["client"][0])).st_ino == os.stat(netns_path(client)).st_ino
            assert same, "the run got another namespace than the node's"
            assert os.stat(stack.path(stack.switch_net)).st_ino == os.stat(netns_path(switch_ns)).st_ino
        finally:
            stack.close()

        # the client reaches the router across the switch: the wiring carries frames
        with entered(netns_path(router)):
            listener = socket.create_server(("10.0.1.1", 7777))
        with entered(netns_path(client)):
            caller = socket.create_connection(("10.0.1.1", 7777), timeout=5)
        with listener, caller:
            accepted, peer = listener.accept()
            accepted.close()
        assert peer[0] == "10.0.1.10"
    finally:
        for connection in held:
            connection.close()


def test_a_node_whose_container_goes_loses_its_ports(namespaces, switch):
    switch_ns, socket_path, _process = switch
    web = namespaces("web")
    connection = register_in(web, "web", socket_path)
    assert "web-e0" in links(switch_ns)
    connection.close()  # the container's sleep ended
    deadline = time.monotonic() + 5
    while "web-e0" in links(switch_ns):
        assert time.monotonic() < deadline, "the switch kept the ports of a node that went"
        time.sleep(0.02)
    stack = find_stack(socket_path)
    try:
        assert "web" in stack.missing and "web" not in stack.nodes
    finally:
        stack.close()


def test_a_second_registration_replaces_the_first(namespaces, switch):
    # a recreated container registers again, from a new namespace
    switch_ns, socket_path, _process = switch
    first, second = namespaces("old"), namespaces("new")
    held = [register_in(first, "peer", socket_path)]
    held.append(register_in(second, "peer", socket_path))
    try:
        assert "eth0" not in links(first) and "eth0" in links(second)
        stack = find_stack(socket_path)
        try:
            assert os.stat(stack.path(stack.nodes["peer"][0])).st_ino == os.stat(netns_path(second)).st_ino
        finally:
            stack.close()
    finally:
        for connection in held:
            connection.close()


def test_an_unknown_node_is_refused_in_one_line(namespaces, switch):
    _switch_ns, socket_path, _process = switch
    stranger = namespaces("x")
    from protolab.topology.model import Interface, Node
    from ipaddress import IPv4Address

    node = Node(name="stranger", role="host", interfaces=(Interface("eth0", "lan1", IPv4Address("10.0.1.99"), "02:00:00:00:01:99"),))
    errors = []

    def work():
        with entered(netns_path(stranger)):
            try:
                register(node, socket_path)
            except BackendError as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert errors == ["node stranger: the lan-switch refused it: topology 'default' has no node 'stranger'"]


def test_the_switch_removes_its_socket_when_stopped(switch):
    _switch_ns, socket_path, process = switch
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert not socket_path.exists()
    with pytest.raises(BackendError, match="no protolab container stack is running"):
        find_stack(socket_path)
