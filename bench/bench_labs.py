"""Every lab, timed and repeated: lab-phase time on a topology that is up, whole
runs from nothing beside the handshake lab's, and verdict stability over many
consecutive runs.

    python bench/bench_labs.py [--labs arp,route] [--consecutive 200] [--timed 15] [--fresh-runs 5] [--set KEY=VALUE]

--set passes lab parameters (like `protolab run --set`) to every run, e.g.
`--labs teardown --set closer=server` for the lab's other variant.

Targets (issue "labs"): each lab's own run on a topology already up ≤ 100 ms
median; from nothing within 0.2 s of the handshake lab; 200 consecutive runs of
each lab with the reference solution: 0 verdicts other than PASS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from protolab.backends.netns import NetnsBackend
from protolab.errors import LabError
from protolab.lab.catalog import lab_names, load_lab
from protolab.lab.runner import RunOptions, parse_params, run_lab
from protolab.topology import load

ROUTE_ERROR_PACE_S = 1.05  # Linux sends one "net unreachable" per second per sender (host-wide error_cost)


def consecutive(lab_name: str, count: int, out: Path, pace: float,
                params: dict[str, str] | None = None) -> tuple[Counter, list[float], list[str]]:
    """`count` runs in a row on one topology brought up for them; verdicts, lab-phase times, first misses."""
    lab = load_lab(lab_name)
    deployment = NetnsBackend().deploy(load())
    deployment.record.persistent = True  # runs attach to it like to `protolab up`
    deployment.record.save()
    verdicts: Counter = Counter()
    lab_ms: list[float] = []
    misses: list[str] = []
    try:
        for k in range(count):
            started = time.monotonic()
            result = run_lab(lab, RunOptions(out_dir=out / f"{lab_name}-{k}", params=params or {}))
            assert result.run_id == deployment.run_id, "the run did not use the bench's topology"
            verdicts[result.verdict.status.value] += 1
            lab_ms.append(result.timings["lab"] * 1000)
            if not result.verdict.passed and len(misses) < 3:
                misses.append(f"run {k}: " + "; ".join(result.verdict.explanations())[:300])
            time.sleep(max(0.0, pace - (time.monotonic() - started)))
    finally:
        deployment.teardown()
    return verdicts, lab_ms, misses


def from_nothing(lab_name: str, repeat: int, out: Path, params: dict[str, str] | None = None) -> list[float]:
    """Wall time of `protolab run LAB --fresh` as a new process (deploy, lab, report, teardown)."""
    cli = [sys.executable, "-m", "protolab.cli"]
    sets = [arg for key, value in (params or {}).items() for arg in ("--set", f"{key}={value}")]
    times = []
    for k in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([*cli, "run", lab_name, "--fresh", "-q", "--out", str(out / f"fresh-{lab_name}-{k}"), *sets],
                              capture_output=True, text=True, check=False)
        times.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            print(f"  {lab_name} from nothing, run {k}: exit {done.returncode} {done.stdout.strip()} {done.stderr.strip()}")
    return times


def parse_sets(sets: list[str]) -> dict[str, str]:
    """`["closer=server"]` → `{"closer": "server"}`; a malformed item ends the bench with a one-line error."""
    params = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            sys.exit(f"bench_labs: --set {item!r}: expected KEY=VALUE")
        params[key] = value
    return params


def check_params(lab_name: str, params: dict[str, str]) -> None:
    """Stop before any topology is up if a lab does not exist or does not take these parameters."""
    try:
        lab = load_lab(lab_name)
        lab.expectation(load(), parse_params(lab, params))  # a lab checks its own parameters' values there
    except LabError as exc:
        sys.exit(f"bench_labs: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", default="", help="comma-separated lab names (default: every lab)")
    parser.add_argument("--consecutive", type=int, default=200, help="runs in a row per lab (default 200)")
    parser.add_argument("--fresh-runs", type=int, default=5, help="runs from nothing per lab (default 5)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="a lab parameter for every run of the labs given (repeatable)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_labs needs root")
    names = [n for n in args.labs.split(",") if n] or lab_names()
    params = parse_sets(args.sets)
    if params and not args.labs:
        sys.exit("bench_labs: --set needs --labs (parameters belong to particular labs)")
    for name in names:
        check_params(name, params)
    with tempfile.TemporaryDirectory(prefix="protolab-bench-") as tmp:
        out = Path(tmp)
        if params:
            print("lab parameters: " + " ".join(f"{key}={value}" for key, value in params.items()))
        print(f"{'lab':<10} {'runs':>5} {'PASS':>5} {'other':>6}  {'lab ms median':>13} {'p90':>6}  {'from nothing ms':>15} {'vs handshake':>12}")
        base = statistics.median(from_nothing("handshake", args.fresh_runs, out))
        for name in names:
            pace = ROUTE_ERROR_PACE_S if name == "route" else 0.0
            verdicts, lab_ms, misses = consecutive(name, args.consecutive, out, pace, params)
            fresh = statistics.median(from_nothing(name, args.fresh_runs, out, params)) if name != "handshake" or params else base
            other = sum(v for k, v in verdicts.items() if k != "PASS")
            p90 = statistics.quantiles(lab_ms, n=10)[-1] if len(lab_ms) >= 2 else lab_ms[0]
            print(f"{name:<10} {sum(verdicts.values()):>5} {verdicts['PASS']:>5} {other:>6}  "
                  f"{statistics.median(lab_ms):>13.1f} {p90:>6.1f}  {fresh:>15.0f} {fresh - base:>+11.0f}ms")
            for miss in misses:
                print(f"    {miss}")
    print("targets: lab ms median <= 100 on a topology already up; from nothing within +200 ms of handshake; other = 0")
    print(f"route runs are paced {ROUTE_ERROR_PACE_S} s apart: the kernel sends one 'net unreachable' per second per sender")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
