"""The container stack with podman: image build, `up`, `down`, and a lab run on it.

  build    scripts/podman/build-images (with --cold: after removing the lab
           and base images this bench's build made, i.e. from nothing)
  up       podman-compose up -d  (containers created and started)
  ready    from the end of `up` until every node's node-init has set it up
  down     podman-compose down -t 2
  run      `protolab run handshake --backend compose -q` on the host (wall time)

Each round brings the stack up and down once (default 3 rounds). The host state
podman changes (ip_forward, firewall tables, bridges, CNI state) is saved first
and put back at the end, also after a failure; the bench checks it is.

Run as root: python bench/bench_compose.py [--repeat N] [--cold] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from protolab.backends.compose import find_stack, wait_ready
from tests.containers import stack
from tests.containers.host_state import HostState

TARGETS = {"up": 2.0, "down": 2.0}  # seconds
STAGE_TARGET = 300.0  # the whole container stage from a cold machine
IMAGES = ("localhost/protolab-lab:latest", "localhost/protolab-base:bookworm")


def timed(action) -> float:
    mark = time.perf_counter()
    action()
    return time.perf_counter() - mark


def row(name: str, values: list[float], target: float | None = None) -> str:
    med = statistics.median(values)
    verdict = "" if target is None else (f"  ✔ ≤ {target:.1f} s" if med <= target else f"  ✘ > {target:.1f} s")
    return f"{name:<8} median {med:7.2f} s   min {min(values):7.2f}   max {max(values):7.2f}   n={len(values)}{verdict}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="up/down rounds")
    parser.add_argument("--runs", type=int, default=3, help="lab runs per round")
    parser.add_argument("--cold", action="store_true", help="remove the images first and time a build from nothing")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_compose: needs root (rootful podman)", file=sys.stderr)
        return 2
    if stack.missing_tools():
        print(f"bench_compose: missing {', '.join(stack.missing_tools())}: run scripts/bootstrap --containers", file=sys.stderr)
        return 2

    saved = HostState.save()
    figures: dict[str, list[float]] = {"up": [], "ready": [], "down": [], "run": []}
    verdicts: list[str] = []
    try:
        if args.cold:
            for image in IMAGES:
                subprocess.run(["podman", "rmi", "-f", image], env=stack.env(), capture_output=True, check=False)
        build = timed(stack.build_images)
        for _ in range(args.repeat):
            with stack.stage() as timings:
                figures["ready"].append(timed(lambda: wait_ready({n: c.pid for n, c in find_stack().items()})))
                for _ in range(args.runs):
                    mark = time.perf_counter()
                    done = subprocess.run(
                        [str(ROOT / ".venv" / "bin" / "protolab"), "run", "handshake", "--backend", "compose", "-q",
                         "--out", f"/tmp/protolab-bench-compose-{os.getpid()}"],
                        capture_output=True, text=True, cwd=ROOT, check=False,
                    )
                    figures["run"].append(time.perf_counter() - mark)
                    verdicts.append(done.stdout.strip() or done.stderr.strip())
            figures["up"].append(timings["up"])
            figures["down"].append(timings["down"])
    finally:
        restored = saved.restore()
        subprocess.run(["rm", "-rf", f"/tmp/protolab-bench-compose-{os.getpid()}"], check=False)

    load = os.getloadavg()[0]
    print(f"container stack ({len(find_stack_nodes())} nodes), podman {podman_version()}, load {load:.2f}")
    print(f"build    {build:7.2f} s  ({'cold: debootstrap + apt + pip' if args.cold else 'cached layers'})")
    print(row("up", figures["up"], TARGETS["up"]))
    print(row("ready", figures["ready"]))
    print(row("down", figures["down"], TARGETS["down"]))
    print(row("run", figures["run"]))
    passes = sum(v == "handshake: PASS" for v in verdicts)
    print(f"verdicts {passes}/{len(verdicts)} PASS" + ("" if passes == len(verdicts) else f"  (other: {set(verdicts)})"))
    if args.cold:
        stage = build + statistics.median(figures["up"]) + statistics.median(figures["down"])
        print(f"stage    ~{stage:.0f} s from a cold machine for build + up + down (target ≤ {STAGE_TARGET:.0f} s)")
    left = saved.differences()
    print("host state: " + ("as before" + (f" (put back: {', '.join(restored)})" if restored else "") if not left else f"DIFFERS: {left}"))
    return 0 if not left and passes == len(verdicts) else 1


def find_stack_nodes() -> list[str]:
    from protolab.topology import load

    return [n.name for n in load().nodes]


def podman_version() -> str:
    done = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.split()[-1] if done.returncode == 0 else "?"


if __name__ == "__main__":
    sys.exit(main())
