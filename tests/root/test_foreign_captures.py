"""Captures protolab did not make: real kernel TCP and arping, captured with tcpdump
in the test's own two namespaces on another subnet, pass the labs' checks offline.

Transmit checksum offload is left as a real machine has it: the sender's frames
carry only the partial checksum, which the check must tell from a bad one.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from protolab.capture.reader import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, open_capture
from protolab.lab.catalog import load_lab
from protolab.lab.offline import check_capture

pytestmark = pytest.mark.root
PROTOLAB = [sys.executable, "-m", "protolab.cli"]
CLIENT, WEB, PORT = "10.99.0.1", "10.99.0.2", 8080
DATA = "hello, web"  # the teardown lab's default data


@dataclass
class Pair:
    """Two namespaces joined by one veth: a (10.99.0.1, veth-a) and b (10.99.0.2, veth-b)."""

    a: str
    b: str

    def run(self, ns: str, *argv: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", ns, *argv], check=True, capture_output=True, text=True, **kwargs)

    def start(self, ns: str, *argv: str) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def pair() -> Iterator[Pair]:
    prefix = f"plabtest-{secrets.token_hex(3)}"
    a, b = f"{prefix}-a", f"{prefix}-b"
    subprocess.run(["ip", "netns", "add", a], check=True)
    try:
        subprocess.run(["ip", "netns", "add", b], check=True)
        try:
            batch = [
                ["ip", "-n", a, "link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", "netns", b],
                ["ip", "-n", a, "addr", "add", f"{CLIENT}/24", "dev", "veth-a"],
                ["ip", "-n", b, "addr", "add", f"{WEB}/24", "dev", "veth-b"],
            ]
            for ns, dev in ((a, "veth-a"), (b, "veth-b")):  # IPv6 off first: no router solicitations in the captures
                batch += [["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                          ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
                          ["ip", "-n", ns, "link", "set", "lo", "up"], ["ip", "-n", ns, "link", "set", dev, "up"]]
            for argv in batch:
                subprocess.run(argv, check=True)
            yield Pair(a, b)
        finally:
            subprocess.run(["ip", "netns", "del", b], check=False)
    finally:
        subprocess.run(["ip", "netns", "del", a], check=False)


class Tcpdump:
    """tcpdump writing a pcap in a namespace, stopped by its PID."""

    def __init__(self, pair: Pair, ns: str, interface: str, path: Path) -> None:
        # -Z root: write the file as root, into the test's private folder; --immediate-mode: every frame
        # reaches the file at once, none is left in the ring buffer when SIGINT ends tcpdump
        self.proc = pair.start(ns, "tcpdump", "-Z", "root", "--immediate-mode", "-i", interface, "-U", "-s", "0", "-w", str(path))
        deadline = time.monotonic() + 10
        line = ""
        while "listening on" not in line and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"tcpdump did not start: {self.proc.stderr.read()}")

    def stop(self) -> None:
        time.sleep(0.3)  # the last ACKs
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=10)


SERVER = textwrap.dedent("""
    import socket, sys
    closer = sys.argv[1]
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("{web}", {port})); s.listen(); print("ready", flush=True)
    c, _ = s.accept()
    got = b""
    while len(got) < {n}:
        got += c.recv(100)
    if closer == "client":
        while c.recv(100):
            pass
    c.close()
""").format(web=WEB, port=PORT, n=len(DATA))

CLIENT_PROGRAM = textwrap.dedent("""
    import socket, sys, time
    closer = sys.argv[1]
    c = socket.create_connection(("{web}", {port}))
    c.sendall({data!r})
    time.sleep(0.2)  # web's ACK of the data comes first
    if closer == "server":
        while c.recv(100):
            pass
    c.close()
""").format(web=WEB, port=PORT, data=DATA.encode())


def kernel_tcp(pair: Pair, path: Path, closer: str, interface: str = "veth-b") -> None:
    """A real kernel connection: connect, a few bytes, close from `closer`'s side, captured on web's side."""
    dump = Tcpdump(pair, pair.b, interface, path)
    server = pair.start(pair.b, sys.executable, "-c", SERVER, closer)
    try:
        assert server.stdout.readline().strip() == "ready"
        pair.run(pair.a, sys.executable, "-c", CLIENT_PROGRAM, closer, timeout=20)
        assert server.wait(timeout=20) == 0, server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        dump.stop()


def protolab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PROTOLAB, *args], capture_output=True, text=True, timeout=120, check=False)


ROLES = ("--as", f"client={CLIENT}", "--as", f"web={WEB}")


@pytest.mark.parametrize("closer", ["client", "server"])
def test_a_real_kernel_connection_passes_handshake_and_teardown_offline(pair, tmp_path, closer):
    pcap = tmp_path / "kernel.pcap"
    kernel_tcp(pair, pcap, closer)
    with open_capture(pcap) as capture:
        assert {f.interface.linktype for f in capture} == {LINKTYPE_ETHERNET}
    handshake = protolab("check", "handshake", str(pcap), *ROLES, "--set", f"port={PORT}")
    assert handshake.returncode == 0, handshake.stdout + handshake.stderr
    teardown = protolab("check", "teardown", str(pcap), *ROLES, "--set", f"port={PORT}", "--set", f"closer={closer}")
    assert teardown.returncode == 0, teardown.stdout + teardown.stderr
    assert "PASS" in teardown.stdout


def test_the_roles_are_found_without_being_told_when_only_one_reading_fits(pair, tmp_path):
    pcap = tmp_path / "kernel.pcap"
    kernel_tcp(pair, pcap, "client")
    result = check_capture(load_lab("teardown"), pcap, {"port": str(PORT)})
    assert result.verdict.passed, result.verdict.explanations()
    assert f"the only reading that fits is client={CLIENT}, web={WEB}" in " ".join(result.warnings)
    assert {f.sender for f in result.trace} == {"client", "web"}  # from the MACs the capture shows for them


def test_a_linux_cooked_capture_of_any_interface_passes(pair, tmp_path):
    pcap = tmp_path / "any.pcap"
    kernel_tcp(pair, pcap, "server", interface="any")
    with open_capture(pcap) as capture:
        assert {f.interface.linktype for f in capture} == {LINKTYPE_LINUX_SLL2}
    result = check_capture(load_lab("teardown"), pcap, {"port": str(PORT), "closer": "server"},
                           roles=(f"client={CLIENT}", f"web={WEB}"))
    assert result.verdict.passed, result.verdict.explanations()


def test_checksums_left_to_the_card_are_told_from_bad_ones(pair, tmp_path):
    pcap = tmp_path / "kernel.pcap"
    kernel_tcp(pair, pcap, "client")
    lab = load_lab("handshake")
    trace = check_capture(lab, pcap, {"port": str(PORT)}).trace
    # a veth hands the frame over before any checksum is filled in: both ends see the partial sum
    assert {f.layers["checksum"]["tcp"][0] for f in trace if f.has("tcp")} == {"partial"}
    assert {f.layers["checksum"]["ip"][0] for f in trace if f.has("ip")} == {"ok"}

    from scapy.layers.inet import TCP
    from scapy.utils import rdpcap, wrpcap

    packets = rdpcap(str(pcap))
    syn = next(p for p in packets if TCP in p and p[TCP].flags == "S")
    syn[TCP].chksum ^= 0x0101  # neither right nor the partial sum: a corrupted segment
    corrupted = tmp_path / "corrupted.pcap"
    wrpcap(str(corrupted), packets)
    verdict = check_capture(lab, corrupted, {"port": str(PORT)}, roles=(f"client={CLIENT}", f"web={WEB}")).verdict
    assert verdict.status.value == "FAIL"
    (step,) = [i for i in verdict.items if i.name == "SYN from client"]
    assert step.status.value == "FAIL" and "its TCP checksum is 0x" in step.messages[0]
    assert "a receiver drops it as corrupt" in step.messages[0]


def test_an_arping_exchange_passes_the_arp_checks(pair, tmp_path):
    pcap = tmp_path / "arp.pcap"
    dump = Tcpdump(pair, pair.b, "veth-b", pcap)
    try:
        pair.run(pair.a, "arping", "-c", "1", "-w", "2", "-I", "veth-a", WEB, timeout=20)
    finally:
        dump.stop()
    checked = protolab("check", "arp", str(pcap), "--as", f"client={CLIENT}", "--as", f"peer={WEB}",
                       "--set", "unresolved=false", "--set", "gratuitous=false")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "who-has" in checked.stdout and "is-at" in checked.stdout


def test_a_role_that_is_not_a_node_is_a_one_line_error(pair, tmp_path):
    pcap = tmp_path / "kernel.pcap"
    kernel_tcp(pair, pcap, "client")
    wrong = protolab("check", "handshake", str(pcap), "--as", f"server={WEB}")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "the lab has no node or link 'server'" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
