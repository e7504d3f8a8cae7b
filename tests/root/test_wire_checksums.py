"""A netns lab's frames carry real checksums: no node leaves them to its veth's offload."""

from __future__ import annotations

import socket

import pytest

from protolab.backends.netns import NetnsBackend
from protolab.backends.nsenter import entered
from protolab.backends.offload import tx_checksum
from protolab.capture import PortCapture
from protolab.topology import load
from protolab.wire.checksums import verify
from tests.root.test_netns_backend import kernel_connection

pytestmark = pytest.mark.root

IPV4 = b"\x08\x00"  # the EtherType


@pytest.fixture(scope="module")
def deployment():
    d = NetnsBackend().deploy(load())
    yield d
    d.teardown()


def test_no_node_interface_offloads_its_transmit_checksum(deployment):
    offloading = []
    for node in deployment.topology.nodes:
        with entered(deployment.netns_of(node.name)):
            offloading += [f"{node.name} {i.name}" for i in node.interfaces if tx_checksum(i.name)]
    assert offloading == []


def test_kernel_frames_are_captured_with_correct_checksums(deployment):
    point, = deployment.capture_points()
    with entered(point.netns):
        capture = PortCapture(point.ports)
    with capture:
        capture.start()
        _talk(deployment)
        result = capture.stop()
    seen: dict[tuple[str, str, str], set[str]] = {}  # (sender, LAN, checksum) → statuses
    for frame in result.frames:
        if frame.data[12:14] == IPV4:
            for key, checksum in verify(frame.data[14:]).items():
                seen.setdefault((frame.sender, frame.link, key), set()).add(checksum.status)
    assert {where: statuses for where, statuses in seen.items() if statuses != {"ok"}} == {}
    sent = {("client", "lan1", "tcp"), ("web", "lan2", "tcp"), ("router", "lan1", "udp"), ("router", "lan2", "udp")}
    assert sent <= set(seen), "every kind of frame the test sent was captured"


def _talk(deployment) -> None:
    """TCP with data both ways between client and web, across the router; UDP from each router interface."""
    with kernel_connection(deployment) as (client, conn, _):
        client.sendall(b"an odd-length request")
        conn.recv(100)
        conn.sendall(b"x" * 5000)  # more than one segment
        received = 0
        while received < 5000:
            received += len(client.recv(8192))
    router = deployment.node("router").socket(socket.AF_INET, socket.SOCK_DGRAM)
    with router:
        for host, address in (("client", "10.0.1.10"), ("web", "10.0.2.80")):
            with deployment.node(host).socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
                receiver.bind((address, 9999))
                receiver.settimeout(2)
                router.sendto(b"hello", (address, 9999))
                receiver.recv(100)  # it crossed the bridge, so the capture holds it
