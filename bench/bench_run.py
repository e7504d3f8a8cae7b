"""End-to-end time of `protolab run handshake`, each run a fresh process.

Every run is `protolab run handshake --fresh -q --timings --out <tmpdir>`:
interpreter start, imports, deploy, lab, check and report, teardown. The bench
times the whole subprocess (wall) and parses the phases protolab prints on its
`timings:` line. Every run must PASS.

With --reuse it then brings a topology up (`protolab up`), runs the lab N times
without --fresh (on that topology, checked through each report's run id) and
takes it down again (`protolab down <its run id>`, always).

Run as root: python bench/bench_run.py [--repeat N] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TARGET_S = 1.0
LAB = "handshake"
PHASES = ("imports", "deploy", "lab", "check", "teardown", "total")
TIMEOUT_S = 60.0
ENV = {**os.environ, "COLUMNS": "250"}  # keep the timings on one line (it is parsed either way)


def protolab_cli() -> str:
    beside = Path(sys.executable).parent / "protolab"  # the venv's script when run with its python
    found = str(beside) if beside.exists() else shutil.which("protolab")
    if found is None:
        sys.exit("protolab CLI not found: run with the venv's python or put protolab on PATH")
    return found


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PHASES})
    verdicts: dict[str, int] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)  # timed runs
    all_ids: list[str] = field(default_factory=list)  # warm-ups too, for the leftover check


def run_once(cli: str, fresh: bool, runs: Runs, record: bool) -> None:
    """One `protolab run`; its numbers go into `runs` if `record` (not for a warm-up)."""
    out = Path(tempfile.mkdtemp(prefix="protolab-bench-"))
    argv = [cli, "run", LAB, "-q", "--timings", "--out", str(out)] + (["--fresh"] if fresh else [])
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
        try:
            text = proc.communicate(timeout=TIMEOUT_S)[0]
        except subprocess.TimeoutExpired:
            proc.terminate()  # SIGTERM: protolab removes what it built
            text = proc.communicate()[0] + f"\n(timed out after {TIMEOUT_S:g} s)"
        wall = time.perf_counter() - start
        match = re.search(rf"^{LAB}: (\w+)", text, re.M)
        verdict = match.group(1) if match else f"ERROR (exit {proc.returncode})"
        report = out / "verdict.json"
        data = json.loads(report.read_text()) if report.exists() else {}
        run_id = str(data.get("extra", {}).get("run_id") or data.get("run_id") or "?")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if verdict != "PASS":
        print(f"  run {run_id}: {verdict}\n" + "\n".join("    " + line for line in text.strip().splitlines()))
    runs.all_ids.append(run_id)
    if not record:
        return
    runs.run_ids.append(run_id)
    runs.verdicts[verdict] = runs.verdicts.get(verdict, 0) + 1
    runs.wall.append(wall * 1000)
    timings = dict(re.findall(r"(\w+) (\d+) ms", text.split("timings:", 1)[1])) if "timings:" in text else {}
    for phase in PHASES:
        if phase in timings:
            runs.phases[phase].append(float(timings[phase]))


def report(title: str, runs: Runs) -> None:
    print(f"\n{title}")
    print(f"{'':<24}{'median':>8}{'min':>8}{'max':>8}  (ms)")
    rows = [("wall (bench, subprocess)", runs.wall)] + [(p if p != "total" else "total (protolab)", runs.phases[p]) for p in PHASES]
    for name, values in rows:
        if values:
            print(f"{name:<24}{statistics.median(values):>8.0f}{min(values):>8.0f}{max(values):>8.0f}")
    median_s = statistics.median(runs.wall) / 1000
    verdicts = "  ".join(f"{v} {n}" for v, n in sorted(runs.verdicts.items()))
    print(f"verdicts: {verdicts}  (PASS {runs.verdicts.get('PASS', 0)}/{len(runs.wall)}, FAIL {runs.verdicts.get('FAIL', 0)})")
    print(f"target: median wall <= {TARGET_S:g} s: {median_s:.3f} s, {'MET' if median_s <= TARGET_S else 'MISSED'}")
    spread = (max(runs.wall) - min(runs.wall)) / statistics.median(runs.wall)
    print(f"noise: wall spread (max - min) / median = {spread:.0%}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


def bench(cli: str, repeat: int, warmup: int, fresh: bool) -> Runs:
    runs = Runs()
    for i in range(warmup + repeat):
        run_once(cli, fresh, runs, record=i >= warmup)
    return runs


def namespaces_of(run_ids: list[str]) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    mine = tuple(f"plab-{r}-" for r in run_ids if r != "?")
    return sorted(line.split()[0] for line in out.splitlines() if mine and line.startswith(mine))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="timed runs per mode (default 11)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--reuse", action="store_true", help="also time runs on a topology brought up with `protolab up`")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: protolab builds network namespaces")
    cli = protolab_cli()

    fresh = bench(cli, args.repeat, args.warmup, fresh=True)
    report(f"protolab run {LAB} --fresh: {args.repeat} runs (+{args.warmup} warm-up), each a new process", fresh)
    all_ids = list(fresh.all_ids)

    if args.reuse:
        up = subprocess.run([cli, "up"], capture_output=True, text=True, env=ENV)
        match = re.search(r"up: run (\w+)", up.stdout)
        if up.returncode != 0 or match is None:
            sys.exit(f"protolab up failed: {(up.stdout + up.stderr).strip()}")
        up_id = match.group(1)
        all_ids.append(up_id)
        try:
            reused = bench(cli, args.repeat, args.warmup, fresh=False)
            all_ids += reused.all_ids
        finally:
            down = subprocess.run([cli, "down", up_id], capture_output=True, text=True, env=ENV)
            print(f"\n{(down.stdout + down.stderr).strip()}")
        report(f"protolab run {LAB} on topology {up_id} (protolab up): {args.repeat} runs (+{args.warmup} warm-up)", reused)
        elsewhere = [r for r in reused.run_ids if r != up_id]
        print(f"runs on the topology that was up: {len(reused.run_ids) - len(elsewhere)}/{len(reused.run_ids)}")

    left = namespaces_of(all_ids)
    print(f"\nnamespaces left behind: {', '.join(left) if left else 'none'}")


if __name__ == "__main__":
    main()
