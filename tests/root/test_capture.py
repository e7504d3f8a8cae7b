"""PortCapture against a real bridge: a switch namespace and two node namespaces."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest
from pyroute2 import IPRoute, netns

from protolab.backends.nsenter import entered, netns_path
from protolab.capture import Port, PortCapture

pytestmark = pytest.mark.root

LINK = "lan1"
MACS = {"a": bytes.fromhex("020000000001"), "b": bytes.fromhex("020000000002")}
ETHERTYPE = b"\x88\xb5"  # local experimental
BROADCAST = b"\xff" * 6


@dataclass
class Lab:
    switch: str
    nodes: dict[str, str]  # node -> namespace
    ports: dict[int, Port]

    def capture(self, **kwargs: int) -> PortCapture:
        with entered(self.switch):
            return PortCapture(self.ports, **kwargs)

    def sender(self, node: str) -> socket.socket:
        """A raw socket on the node's eth0 (protocol 0: it never receives)."""
        with entered(self.nodes[node]):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        sock.bind(("eth0", 0))
        return sock


def _disable_ipv6() -> None:
    for conf in ("all", "default"):
        with open(f"/proc/sys/net/ipv6/conf/{conf}/disable_ipv6", "w") as f:
            f.write("1")


def _namespace(stack: ExitStack, name: str) -> IPRoute:
    """Create namespace `name` (removed when `stack` closes), IPv6 off; its netlink socket."""
    with entered(name, create=True):
        stack.callback(netns.remove, name)
        _disable_ipv6()
        ipr = IPRoute()
    stack.callback(ipr.close)
    return ipr


@contextmanager
def build_lab() -> Iterator[Lab]:
    """Switch namespace with bridge br0; nodes a and b, each on a veth into br0."""
    prefix = f"plabtest-{secrets.token_hex(3)}"
    with ExitStack() as stack:
        switch = f"{prefix}-sw"
        sw = _namespace(stack, switch)
        sw.link("add", ifname="br0", kind="bridge", state="up")
        br = sw.link_lookup(ifname="br0")[0]
        nodes, ports = {}, {}
        for node, mac in MACS.items():
            nodes[node] = f"{prefix}-{node}"
            ipr = _namespace(stack, nodes[node])
            fd = os.open(netns_path(nodes[node]), os.O_RDONLY)
            try:
                peer = {"ifname": "eth0", "address": mac.hex(":"), "net_ns_fd": fd}
                sw.link("add", ifname=f"p-{node}", kind="veth", master=br, state="up", peer=peer)
            finally:
                os.close(fd)
            for ifname in ("lo", "eth0"):
                ipr.link("set", index=ipr.link_lookup(ifname=ifname)[0], state="up")
            ifindex = sw.link_lookup(ifname=f"p-{node}")[0]
            ports[ifindex] = Port(ifindex=ifindex, ifname=f"p-{node}", link=LINK, node=node)
        yield Lab(switch=switch, nodes=nodes, ports=ports)


def _netns_list() -> str:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return listing.stdout


@pytest.fixture
def lab() -> Iterator[Lab]:
    with build_lab() as built:
        yield built


def _frame(src: str, dst: bytes, seq: int, size: int = 64) -> bytes:
    head = dst + MACS[src] + ETHERTYPE + seq.to_bytes(4, "big")
    return head.ljust(size, b"\0")


def _burst(lab: Lab, count: int, dst: bytes = BROADCAST) -> list[bytes]:
    frames = [_frame("a", dst, i) for i in range(count)]
    with lab.sender("a") as sock:
        send = sock.send
        for data in frames:
            send(data)
    return frames


def test_frames_are_recorded_once_with_sender_link_and_time(lab: Lab) -> None:
    before = time.time_ns()
    with lab.capture() as cap:
        cap.start()
        sent = {}
        for node in ("a", "b", "a"):
            with lab.sender(node) as sock:
                for _ in range(5):
                    data = _frame(node, BROADCAST, len(sent))
                    sock.send(data)
                    sent[data] = node
        result = cap.stop()
    after = time.time_ns()

    assert result.links == (LINK,)
    assert result.lossless
    assert result.kernel_packets == len(sent)  # bridge and outgoing copies filtered in-kernel
    assert [f.data for f in result.frames] == list(sent)
    assert [f.sender for f in result.frames] == list(sent.values())
    assert {f.link for f in result.frames} == {LINK}
    times = [f.time_ns for f in result.frames]
    assert times == sorted(times)
    assert before <= times[0] and times[-1] <= after


def test_unicast_frame_is_recorded_once(lab: Lab) -> None:
    with lab.capture() as cap:
        cap.start()
        sent = _burst(lab, 1, dst=MACS["b"])
        result = cap.stop()
    assert [(f.sender, f.data) for f in result.frames] == [("a", sent[0])]


def test_egress_capture_on_a_node_records_what_it_sent_not_what_it_received(lab: Lab) -> None:
    """Capture inside node a's namespace, on its own eth0 (where its frames are outgoing)."""
    with entered(lab.nodes["a"]):
        cap = PortCapture({socket.if_nametoindex("eth0"): Port(0, "eth0", LINK, "a")}, egress=True)
    with cap:
        cap.start()
        from_a = _burst(lab, 3, dst=MACS["b"])
        with lab.sender("b") as sock:
            sock.send(_frame("b", MACS["a"], 99))  # received by a: not a frame a sent
        result = cap.stop()
    assert [(f.sender, f.link, f.data) for f in result.frames] == [("a", LINK, d) for d in from_a]
    assert result.kernel_packets == 3


def test_unpaced_burst_is_lossless(lab: Lab) -> None:
    with lab.capture() as cap:
        cap.start()
        sent = _burst(lab, 20_000)
        result = cap.stop()
    assert result.kernel_drops == 0 and result.lossless
    assert [f.data for f in result.frames] == sent


def test_drops_are_reported(lab: Lab) -> None:
    count = 5_000
    with lab.capture(rcvbuf_bytes=64 * 2**10) as cap:
        _burst(lab, count)  # nothing drains while the burst fills the tiny buffer
        cap.start()
        result = cap.stop()
    assert result.kernel_drops > 0 and not result.lossless
    assert result.kernel_packets == count
    assert len(result.frames) + result.kernel_drops == count


def test_stop_is_bounded_under_continuous_traffic(lab: Lab) -> None:
    done = threading.Event()

    def trickle(sock: socket.socket) -> None:
        seq = 0
        while not done.wait(0.001):
            sock.send(_frame("a", BROADCAST, seq))
            seq += 1

    with lab.capture() as cap, lab.sender("a") as sock:
        cap.start()
        sender = threading.Thread(target=trickle, args=(sock,))
        sender.start()
        try:
            time.sleep(0.05)
            began = time.monotonic()
            result = cap.stop(settle_s=0.02, max_wait_s=0.2)
            waited = time.monotonic() - began
        finally:
            done.set()
            sender.join()
    assert waited < 0.5
    assert result.frames and result.lossless


def test_nothing_is_left_behind() -> None:
    with pytest.raises(RuntimeError), build_lab() as built:
        names = [built.switch, *built.nodes.values()]
        assert all(name in _netns_list() for name in names)
        raise RuntimeError("fail mid-test")
    listed = _netns_list()
    assert not any(name in listed for name in names)
