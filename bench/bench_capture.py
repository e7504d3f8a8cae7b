"""PortCapture vs scapy AsyncSniffer on one unpaced burst through a namespaced bridge.

Builds a switch namespace (bridge br0) and two node namespaces a and b, each on a
veth into br0. A separate process in a's namespace sends 100,000 pre-serialised
64-byte broadcast frames as fast as it can on one raw socket; PortCapture and
AsyncSniffer, both listening in the switch namespace, see the same burst.

Run as root: python bench/bench_capture.py
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from pyroute2 import IPRoute, netns
from scapy.config import conf
from scapy.layers import l2  # noqa: F401  registers Ether for raw Ethernet sockets
from scapy.sendrecv import AsyncSniffer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from protolab.backends.nsenter import entered, netns_path
from protolab.capture import Port, PortCapture

COUNT = 100_000
SIZE = 64
SNIFFER_GRACE_S = 1.0  # time AsyncSniffer gets after the burst to drain its buffer

# Runs in its own process so sending does not compete for the GIL with the capturers.
SENDER = """
import socket, sys, time
from protolab.backends.nsenter import entered
ns, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
head = b"\\xff" * 6 + bytes.fromhex("020000000001") + b"\\x88\\xb5"
frames = [(head + i.to_bytes(4, "big")).ljust(size, b"\\0") for i in range(count)]
with entered(ns):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
sock.bind(("eth0", 0))
send = sock.send
sys.stdin.readline()
start = time.perf_counter()
for data in frames:
    send(data)
print(time.perf_counter() - start, flush=True)
"""


def namespace(stack: ExitStack, name: str) -> IPRoute:
    """Create `name` (removed when `stack` closes) with IPv6 off; its netlink socket."""
    with entered(name, create=True):
        stack.callback(netns.remove, name)
        for conf_dir in ("all", "default"):
            with open(f"/proc/sys/net/ipv6/conf/{conf_dir}/disable_ipv6", "w") as f:
                f.write("1")
        ipr = IPRoute()
    stack.callback(ipr.close)
    return ipr


def build(stack: ExitStack, prefix: str) -> tuple[str, dict[int, Port], IPRoute]:
    switch = f"{prefix}-sw"
    sw = namespace(stack, switch)
    sw.link("add", ifname="br0", kind="bridge", state="up")
    br = sw.link_lookup(ifname="br0")[0]
    ports = {}
    for i, node in enumerate(("a", "b"), start=1):
        ns = f"{prefix}-{node}"
        ipr = namespace(stack, ns)
        fd = os.open(netns_path(ns), os.O_RDONLY)
        try:
            peer = {"ifname": "eth0", "address": f"02:00:00:00:00:0{i}", "net_ns_fd": fd}
            sw.link("add", ifname=f"p-{node}", kind="veth", master=br, state="up", peer=peer)
        finally:
            os.close(fd)
        for ifname in ("lo", "eth0"):
            ipr.link("set", index=ipr.link_lookup(ifname=ifname)[0], state="up")
        ifindex = sw.link_lookup(ifname=f"p-{node}")[0]
        ports[ifindex] = Port(ifindex=ifindex, ifname=f"p-{node}", link="lan1", node=node)
    return switch, ports, sw


def rx_packets(ipr: IPRoute, ifname: str) -> int:
    return ipr.get_links(ifname=ifname)[0].get("stats64")["rx_packets"]


def row(name: str, seen: int, reference: int, extra: str = "") -> None:
    loss = 100 * (reference - seen) / reference
    print(f"{name:<14}{seen:>10,}{loss:>9.2f} %  {extra}")


def main() -> None:
    prefix = f"plabbench-{secrets.token_hex(3)}"
    with ExitStack() as stack:
        switch, ports, sw = build(stack, prefix)
        with entered(switch):
            cap = stack.enter_context(PortCapture(ports))
            listen = conf.L2listen(iface="p-a")
        stack.callback(listen.close)
        # With iface= scapy would open its own socket in this (root) namespace; a dict
        # of opened sockets names the interface instead.
        sniffer = AsyncSniffer(opened_socket={listen: "p-a"}, store=True)
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, f"{prefix}-a", str(COUNT), str(SIZE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        stack.callback(sender.wait)
        stack.callback(sender.kill)
        rx_before = rx_packets(sw, "p-a")
        cap.start()
        sniffer.start()
        elapsed = float(sender.communicate("go\n", timeout=30)[0])
        result = cap.stop()
        time.sleep(SNIFFER_GRACE_S)
        sniffed = len(sniffer.stop())
        entered_port = rx_packets(sw, "p-a") - rx_before

    print(f"burst: {COUNT:,} x {SIZE}-byte frames in {elapsed * 1e3:.0f} ms "
          f"= {COUNT / elapsed:,.0f} frames/s; {entered_port:,} entered port p-a")
    print(f"{'':<14}{'frames':>10}{'loss':>11}")
    row("PortCapture", len(result.frames), COUNT,
        f"kernel packets {result.kernel_packets:,}, drops {result.kernel_drops:,}")
    row("AsyncSniffer", sniffed, COUNT)
    print(f"PortCapture recorded {len(result.frames) / max(sniffed, 1):,.1f}x the frames")


if __name__ == "__main__":
    main()
