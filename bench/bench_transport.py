"""The transport labs (udp, multiplex, segments), timed: each one's run from nothing as a new
process (deploy its own network, run, report, tear down) beside the handshake lab's, and its
lab phase on a network of its own kept up, over consecutive runs whose verdicts are counted.

    sudo python bench/bench_transport.py [--labs udp,segments] [--fresh-runs 5] [--consecutive 20]

Target (issue 13): each lab from nothing within 1.5 s. segments waits on no timer: the router's
"fragmentation needed" comes at once (PMTU errors are not rate-limited) and the client's kernel
sends the dropped bytes again at once, smaller.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench_labs import from_nothing  # bench/ is sys.path[0] when run as a script

from protolab.backends.netns import NetnsBackend
from protolab.lab.catalog import load_lab
from protolab.lab.network import lab_topology
from protolab.lab.runner import RunOptions, run_lab

LABS = ("udp", "multiplex", "segments")
TARGET_MS = 1500


def kept_up(name: str, count: int, out: Path) -> tuple[Counter, list[float]]:
    """`count` runs in a row on the lab's own network, kept up for them: verdicts, lab-phase ms."""
    lab = load_lab(name)
    deployment = NetnsBackend().deploy(lab_topology(lab))
    verdicts: Counter = Counter()
    lab_ms: list[float] = []
    try:
        for k in range(count):
            result = run_lab(lab, RunOptions(out_dir=out / f"{name}-up-{k}", deployment=deployment))
            verdicts[result.verdict.status.value] += 1
            lab_ms.append(result.timings["lab"] * 1000)
    finally:
        deployment.teardown()
    return verdicts, lab_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", default=",".join(LABS), help=f"comma-separated (default: {','.join(LABS)})")
    parser.add_argument("--fresh-runs", type=int, default=5, help="runs from nothing per lab (default 5)")
    parser.add_argument("--consecutive", type=int, default=20, help="runs on a network kept up per lab (default 20)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_transport needs root")
    names = [n for n in args.labs.split(",") if n]
    for name in names:
        load_lab(name)  # an unknown lab ends the bench here, in one line
    with tempfile.TemporaryDirectory(prefix="protolab-bench-") as tmp:
        out = Path(tmp)
        base = statistics.median(from_nothing("handshake", args.fresh_runs, out))
        print(f"{'lab':<10} {'from nothing ms':>15} {'vs handshake':>12} {'target':>7}  {'kept up: runs':>13} {'PASS':>5} "
              f"{'lab ms median':>13}")
        print(f"{'handshake':<10} {base:>15.0f}")
        for name in names:
            fresh = statistics.median(from_nothing(name, args.fresh_runs, out))
            verdicts, lab_ms = kept_up(name, args.consecutive, out)
            mark = "ok" if fresh <= TARGET_MS else "over"
            print(f"{name:<10} {fresh:>15.0f} {fresh - base:>+11.0f}ms {mark:>7}  {sum(verdicts.values()):>13} "
                  f"{verdicts['PASS']:>5} {statistics.median(lab_ms):>13.1f}")
    print(f"target: from nothing <= {TARGET_MS} ms; every run on a network kept up PASS")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
