"""The lab's DNS: how fast the servers come up, a walk by hand, and a whole `protolab run dns`.

1. servers: the default topology is built once; then, N times, NSD on root,
   tld and auth and Unbound on resolver are started together (all launched,
   then each probed over its own loopback until it answers) and stopped. Timed:
   from the first launch until all four answer (`DnsServers.ready_after`), and
   the stop. Target: all ready <= 150 ms after the namespaces exist.
2. walk: with the servers up, the dns lab's reference `resolve()` walks each
   of the lab's names from the root (in-process, sockets in the client's
   namespace; the resolver's cache plays no part). Target: <= 50 ms a walk.
3. run: `protolab run dns --fresh -q --timings --out <tmpdir>` N times, each a
   new process, from nothing to teardown; every run must PASS. Target: median
   wall <= 1.5 s.

Run as root: python bench/bench_dns.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_run import namespaces_of  # the same check of what a bench's runs left

TARGET_READY_MS = 150.0
TARGET_WALK_MS = 50.0
TARGET_RUN_S = 1.5
CASES = (("www.example.lab", "A"), ("www.shop.lab", "A"), ("alias.example.lab", "A"),
         ("nothere.example.lab", "A"), ("big.example.lab", "TXT"))
ENV = {**os.environ, "COLUMNS": "250"}


def row(name: str, values: list[float], unit: str = "ms") -> str:
    return f"{name:<34}{statistics.median(values):>8.1f}{min(values):>8.1f}{max(values):>8.1f}  {unit}"


def verdict_line(what: str, value: float, target: float, unit: str) -> str:
    return f"target: {what} <= {target:g} {unit}: {value:.1f} {unit}, {'MET' if value <= target else 'MISSED'}"


def bench_servers_and_walks(repeat: int) -> list[str]:
    from protolab.backends import get_backend
    from protolab.lab.catalog import load_lab
    from protolab.servers.hierarchy import DnsServers
    from protolab.topology import load
    from protolab.live.sockets import SocketHost

    resolve = load_lab("dns").student
    deployment = get_backend("netns").deploy(load())
    ready, stops, per_server = [], [], {}
    walks: dict[str, list[float]] = {f"{n} {t}": [] for n, t in CASES}
    try:
        for _ in range(repeat):
            servers = DnsServers(deployment)
            servers.__enter__()
            try:
                ready.append(servers.ready_after * 1000)
                for program in servers.programs:
                    per_server.setdefault(f"  {program.what} in {program.node.name}", []).append(program.ready_after * 1000)
            finally:
                mark = time.perf_counter()
                servers.__exit__()
                stops.append((time.perf_counter() - mark) * 1000)
        with DnsServers(deployment) as servers:
            client = SocketHost(deployment.node("client"))
            try:
                for name, qtype in CASES:
                    resolve(client, "10.0.2.11", name, qtype)  # warm-up: ARP entries, imports
                for _ in range(repeat):
                    for name, qtype in CASES:
                        mark = time.perf_counter()
                        rcode, records = resolve(client, "10.0.2.11", name, qtype)
                        walks[f"{name} {qtype}"].append((time.perf_counter() - mark) * 1000)
                        if rcode != "NXDOMAIN" and not records:
                            sys.exit(f"walk for {name} {qtype} returned nothing")
            finally:
                client.close()
    finally:
        deployment.teardown()

    print(f"\n1. DNS servers (4, started together) on one topology: {repeat} starts")
    print(f"{'':<34}{'median':>8}{'min':>8}{'max':>8}")
    print(row("all 4 ready (from first launch)", ready))
    for name, values in per_server.items():
        print(row(name, values))
    print(row("stop (all, waited for)", stops))
    print(verdict_line("median all ready", statistics.median(ready), TARGET_READY_MS, "ms"))

    print(f"\n2. walks by hand from the root (reference resolve(), servers up): {repeat} each")
    print(f"{'':<34}{'median':>8}{'min':>8}{'max':>8}")
    for name, values in walks.items():
        print(row(f"  {name}", values))
    worst = max(statistics.median(v) for v in walks.values())
    print(verdict_line("slowest median walk", worst, TARGET_WALK_MS, "ms"))
    return [deployment.run_id]


def bench_runs(repeat: int) -> list[str]:
    cli = Path(sys.executable).parent / "protolab"
    if not cli.exists():
        sys.exit("protolab CLI not found beside this python: run with the venv's python")
    wall, phases, verdicts, ids = [], {}, {}, []
    for i in range(repeat + 1):
        out = Path(tempfile.mkdtemp(prefix="protolab-bench-dns-"))
        try:
            mark = time.perf_counter()
            proc = subprocess.run([str(cli), "run", "dns", "--fresh", "-q", "--timings", "--out", str(out)],
                                  capture_output=True, text=True, env=ENV, timeout=60)
            seconds = time.perf_counter() - mark
            report = (out / "verdict.json").read_text() if (out / "verdict.json").exists() else ""
        finally:
            shutil.rmtree(out, ignore_errors=True)
        found = re.search(r'"run_id": "(\w+)"', report)
        ids.append(found.group(1) if found else "?")
        verdict = (re.search(r"^dns: (\w+)", proc.stdout, re.M) or [None, f"ERROR (exit {proc.returncode})"])[1]
        if verdict != "PASS":
            print(f"  run {i}: {verdict}\n{proc.stdout}{proc.stderr}")
        if i == 0:
            continue  # warm-up: page cache, Python byte code
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
        wall.append(seconds * 1000)
        for name, ms in re.findall(r"(\w+) (\d+) ms", proc.stdout.split("timings:", 1)[-1]):
            phases.setdefault(name, []).append(float(ms))
    print(f"\n3. protolab run dns --fresh: {repeat} runs (+1 warm-up), each a new process")
    print(f"{'':<34}{'median':>8}{'min':>8}{'max':>8}")
    print(row("wall (bench, subprocess)", wall))
    for name, values in phases.items():
        print(row(f"  {name}", values))
    print("verdicts: " + "  ".join(f"{v} {n}" for v, n in sorted(verdicts.items())))
    print(verdict_line("median wall", statistics.median(wall) / 1000, TARGET_RUN_S, "s"))
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="timed repetitions of each part (default 11)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: protolab builds network namespaces")
    ids = bench_servers_and_walks(args.repeat)
    ids += bench_runs(args.repeat)
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    left = namespaces_of(ids)
    print(f"namespaces left behind: {', '.join(left) if left else 'none'}")


if __name__ == "__main__":
    main()
