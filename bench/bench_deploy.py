"""Deploy time of the default topology: protolab's in-process build vs the `ip` command.

Every round builds the packaged default topology once per method, in rotating
order, and tears it down again:

  protolab       NetnsBackend().deploy(load()), then .teardown()
  ip             one `ip` / `ip netns exec ... sysctl` subprocess per step
  ip -batch      the same steps, the `ip -n NS` ones as one `ip -batch` per namespace
  pyroute2 std   netns.create + IPRoute(netns=name) + link_lookup, as documented

Each method builds the same thing: a switch namespace with one bridge per LAN,
one namespace per node, each node interface a veth created in the switch
namespace (enslaved, up) with its peer moved into the node (named, MAC set),
loopback and interfaces up, addresses, default routes, IPv6 off everywhere,
forwarding and icmp_ratelimit=0 on forwarding nodes. Only deploy is timed;
pyroute2 is imported beforehand (its import cost is printed separately).

Removing a namespace returns at once but the kernel frees it later, in the
background; a build started right after competes with that work. Each build
therefore starts after a pause (--settle, default 0.5 s; 0 measures builds
back to back).

The bench removes exactly the namespaces it created (the ledger for protolab,
its own list otherwise), in finally blocks, and checks `ip netns list` after.

Run as root: python bench/bench_deploy.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from protolab.backends.netns import NetnsBackend  # noqa: E402
from protolab.backends.wiring import bridge_name, port_name  # noqa: E402
from protolab.backends.nsenter import netns_path  # noqa: E402
from protolab.topology import load  # noqa: E402
from protolab.topology.model import Topology  # noqa: E402

TARGET_MS_PER_NODE = 6.0
IMPORT_PROBE = "import time; t = time.perf_counter(); from pyroute2 import IPRoute, netns; print(time.perf_counter() - t)"

# A build appends each namespace name to its list before creating it, so the
# matching remove deletes exactly those, even after a failure half way.
Build = Callable[[Topology, list[str]], None]


def pyroute2_import_ms(samples: int = 5) -> float:
    """Median cost of importing pyroute2 in a fresh interpreter."""
    times = [float(subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True).stdout)
             for _ in range(samples)]
    return statistics.median(times) * 1000


def netns_list() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


# -- the `ip` command ---------------------------------------------------------
def names(topology: Topology) -> tuple[str, dict[str, str]]:
    prefix = f"pbench-{secrets.token_hex(3)}"
    return f"{prefix}-sw", {n.name: f"{prefix}-{n.name}" for n in topology.nodes}


def sysctls(forwarding: bool) -> list[str]:
    keys = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
    return keys + (["net.ipv4.ip_forward=1", "net.ipv4.icmp_ratelimit=0"] if forwarding else [])


def ip_plan(topology: Topology, sw: str, ns: dict[str, str]) -> list[tuple[str | None, list[list[str]]]]:
    """The build as steps: (namespace for `ip -n`, or None for a sysctl/netns step, [commands])."""
    steps: list[tuple[str | None, list[list[str]]]] = [
        (None, [["ip", "netns", "add", sw], ["ip", "netns", "exec", sw, "sysctl", "-q", "-w", *sysctls(False)]]),
        (sw, [["link", "add", bridge_name(lan.name), "up", "type", "bridge"] for lan in topology.lans]),
    ]
    for node in topology.nodes:
        name = ns[node.name]
        steps.append((None, [["ip", "netns", "add", name], ["ip", "netns", "exec", name, "sysctl", "-q", "-w", *sysctls(node.forwarding)]]))
        steps.append((sw, [
            ["link", "add", port_name(node.name, k), "master", bridge_name(i.lan), "up", "type", "veth",
             "peer", "name", i.name, "address", i.mac, "netns", name]
            for k, i in enumerate(node.interfaces)
        ]))
        cmds = [["link", "set", "lo", "up"]]
        for i in node.interfaces:
            cmds += [["link", "set", i.name, "up"], ["addr", "add", f"{i.ip}/{topology.lan(i.lan).subnet.prefixlen}", "dev", i.name]]
        if node.gateway is not None:
            cmds.append(["route", "add", "default", "via", str(node.gateway)])
        steps.append((name, cmds))
    return steps


def run(argv: list[str], stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, stdout=subprocess.DEVNULL)


def build_ip(topology: Topology, created: list[str], batch: bool = False) -> None:
    sw, ns = names(topology)
    for where, cmds in ip_plan(topology, sw, ns):
        if where is None:
            for argv in cmds:
                if argv[2] == "add":
                    created.append(argv[3])  # recorded first: removed even if the build stops here
                run(argv)
        elif batch:
            run(["ip", "-n", where, "-batch", "-"], "\n".join(" ".join(c) for c in cmds) + "\n")
        else:
            for c in cmds:
                run(["ip", "-n", where, *c])


def build_ip_batch(topology: Topology, created: list[str]) -> None:
    build_ip(topology, created, batch=True)


def remove_ip(created: list[str]) -> None:
    for name in created:
        subprocess.run(["ip", "netns", "del", name], check=False, stderr=subprocess.DEVNULL)


# -- pyroute2, the documented way ---------------------------------------------
def build_pyroute2(topology: Topology, created: list[str]) -> None:
    from pyroute2 import IPRoute, netns

    def namespace(name: str, forwarding: bool) -> IPRoute:
        created.append(name)
        netns.create(name)
        netns.pushns(name)
        try:
            for item in sysctls(forwarding):
                key, value = item.split("=")
                with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                    f.write(value)
        finally:
            netns.popns()
        return IPRoute(netns=name)

    sw_name, ns = names(topology)
    with namespace(sw_name, False) as sw:
        bridges = {}
        for lan in topology.lans:
            sw.link("add", ifname=bridge_name(lan.name), kind="bridge", state="up")
            bridges[lan.name] = sw.link_lookup(ifname=bridge_name(lan.name))[0]
        for node in topology.nodes:
            with namespace(ns[node.name], node.forwarding) as ipr:
                for k, i in enumerate(node.interfaces):
                    sw.link("add", ifname=port_name(node.name, k), kind="veth", master=bridges[i.lan], state="up",
                            peer={"ifname": i.name, "address": i.mac, "net_ns_fd": ns[node.name]})
                ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
                for i in node.interfaces:
                    index = ipr.link_lookup(ifname=i.name)[0]
                    ipr.link("set", index=index, state="up")
                    ipr.addr("add", index=index, address=str(i.ip), prefixlen=topology.lan(i.lan).subnet.prefixlen)
                if node.gateway is not None:
                    ipr.route("add", dst="0.0.0.0/0", gateway=str(node.gateway))


def remove_pyroute2(created: list[str]) -> None:
    from pyroute2 import netns

    for name in created:
        if os.path.exists(netns_path(name)):
            netns.remove(name)


# -- the bench ----------------------------------------------------------------
PROTOLAB_RUNS: list[str] = []  # run ids this bench deployed, for the leftover check


def time_protolab(topology: Topology) -> tuple[float, float]:
    start = time.perf_counter()
    deployment = NetnsBackend().deploy(topology)
    try:
        built = time.perf_counter()
        PROTOLAB_RUNS.append(deployment.run_id)
    finally:
        down = time.perf_counter()
        deployment.teardown()
    return built - start, time.perf_counter() - down


def timer(build: Build, remove: Callable[[list[str]], None]) -> Callable[[Topology], tuple[float, float]]:
    def time_it(topology: Topology) -> tuple[float, float]:
        created: list[str] = []
        start = time.perf_counter()
        try:
            build(topology, created)
            built = time.perf_counter()
        finally:
            down = time.perf_counter()
            remove(created)
        return built - start, time.perf_counter() - down
    return time_it


def pyroute2_std_works(topology: Topology) -> str | None:
    """None if the documented pyroute2 way builds the topology here, else why not."""
    try:
        timer(build_pyroute2, remove_pyroute2)(topology)
    except Exception as exc:  # any failure means: skip this method, say why
        return f"{type(exc).__name__}: {exc}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--settle", type=float, default=0.5, help="pause before each build, s (default 0.5)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it creates network namespaces")

    before = netns_list()
    print(f"pyroute2 import (fresh interpreter, median of 5): {pyroute2_import_ms():.0f} ms, not counted below")
    from pyroute2 import IPRoute, netns  # noqa: F401  imported now, so no deploy pays for it

    topology = load()
    nodes = len(topology.nodes)
    methods: dict[str, Callable[[Topology], tuple[float, float]]] = {
        "protolab": time_protolab,
        "ip": timer(build_ip, remove_ip),
        "ip -batch": timer(build_ip_batch, remove_ip),
    }
    problem = pyroute2_std_works(topology)
    if problem is None:
        methods["pyroute2 std"] = timer(build_pyroute2, remove_pyroute2)
    else:
        print(f"pyroute2 std skipped: netns.create + IPRoute(netns=...) failed here ({problem})")

    deploy: dict[str, list[float]] = {m: [] for m in methods}
    teardown: dict[str, list[float]] = {m: [] for m in methods}
    order = list(methods)
    for r in range(args.warmup + args.repeat):
        for name in order[r % len(order):] + order[:r % len(order)]:  # rotate: no method always goes first
            time.sleep(args.settle)  # let the kernel finish freeing the previous build's namespaces
            built, removed = methods[name](topology)
            if r >= args.warmup:
                deploy[name].append(built * 1000)
                teardown[name].append(removed * 1000)

    base = statistics.median(deploy["protolab"])
    print(f"\ndefault topology: {nodes} nodes, {len(topology.lans)} LANs; {args.repeat} rounds (+{args.warmup} warm-up), "
          f"methods alternating, {args.settle:g} s pause before each build; target: <= {TARGET_MS_PER_NODE:g} ms per node (protolab)")
    print(f"{'method':<14}{'ms/topology':>12}{'ms/node':>9}{'min':>8}{'max':>8}{'spread':>8}{'vs protolab':>13}{'teardown':>10}")
    for name in methods:
        t = deploy[name]
        med = statistics.median(t)
        print(f"{name:<14}{med:>12.1f}{med / nodes:>9.2f}{min(t):>8.1f}{max(t):>8.1f}{(max(t) - min(t)) / med:>7.0%}"
              f"{med / base:>12.2f}x{statistics.median(teardown[name]):>10.1f}")
    per_node = base / nodes
    print(f"\nprotolab: {per_node:.2f} ms per node (target <= {TARGET_MS_PER_NODE:g}): {'MET' if per_node <= TARGET_MS_PER_NODE else 'MISSED'}")
    print(f"noise: spread = (max - min) / median; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs; other work on this machine shows up as spread")
    mine = tuple(f"plab-{run_id}-" for run_id in PROTOLAB_RUNS) + ("pbench-",)
    left = {name for name in netns_list() - before if name.startswith(mine)}
    print(f"namespaces left behind: {', '.join(sorted(left)) if left else 'none'}")


if __name__ == "__main__":
    main()
