"""The container stack on podman and on Docker Engine, side by side: build, up, ready, down, a lab run.

  build    scripts/containers/build-images ENGINE (with --cold: after removing the
           lab and base images this bench's build made, i.e. from nothing)
  up       the compose tool's `up -d` (containers created and started):
           podman-compose on podman, Debian's docker-compose v1 on Docker
  ready    from the end of `up` until the lan-switch has wired every node and
           each has its addresses
  down     the compose tool's `down -t 2`
  run      `protolab run handshake --backend compose -q` on the host (wall time)

Each round brings the stack up and down once (default 3 rounds per engine).
For Docker the bench starts its own dockerd (as the container stage does).
The host state the engines change (ip_forward, firewall tables, bridges,
IPAM state) is saved first and put back at the end, also after a failure;
the bench checks it is.

Run as root: python bench/bench_compose.py [--repeat N] [--runs N] [--cold] [--engines podman,docker]
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

from protolab.backends.compose import wait_ready  # noqa: E402
from tests.containers import stack  # noqa: E402
from tests.containers.engines import ENGINES, Engine  # noqa: E402

TARGETS = {"up": 2.0, "down": 2.0}  # seconds, on at least one engine
STEPS = ("build", "up", "ready", "down", "run")


def timed(action) -> float:
    mark = time.perf_counter()
    action()
    return time.perf_counter() - mark


def measure(engine: Engine, repeat: int, runs: int, cold: bool) -> tuple[dict[str, list[float]], list[str]]:
    figures: dict[str, list[float]] = {step: [] for step in STEPS}
    verdicts: list[str] = []
    out = f"/tmp/protolab-bench-compose-{os.getpid()}"
    with stack.engine_running(engine):
        if cold:
            for image in ("protolab-lab:latest", "protolab-base:bookworm"):
                subprocess.run([engine.cli, "rmi", "-f", image], env=engine.env(), capture_output=True, check=False)
        figures["build"].append(timed(engine.build_images))
        for _ in range(repeat):
            with stack.stage(engine) as timings:
                figures["ready"].append(timed(lambda: wait_ready()[0].close()))
                for _ in range(runs):
                    mark = time.perf_counter()
                    done = subprocess.run(
                        [str(ROOT / ".venv" / "bin" / "protolab"), "run", "handshake", "--backend", "compose", "-q", "--out", out],
                        capture_output=True, text=True, cwd=ROOT, check=False,
                    )
                    figures["run"].append(time.perf_counter() - mark)
                    verdicts.append(done.stdout.strip() or done.stderr.strip())
            figures["up"].append(timings["up"])
            figures["down"].append(timings["down"])
    subprocess.run(["rm", "-rf", out], check=False)
    return figures, verdicts


def version(engine: Engine) -> str:
    done = subprocess.run([engine.cli, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().split(",")[0].split()[-1] if done.returncode == 0 else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="up/down rounds per engine")
    parser.add_argument("--runs", type=int, default=3, help="lab runs per round")
    parser.add_argument("--cold", action="store_true", help="remove the images first and time a build from nothing")
    parser.add_argument("--engines", default="podman,docker", help="comma-separated: podman, docker")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_compose: needs root (rootful engines)", file=sys.stderr)
        return 2
    chosen = [ENGINES[name] for name in args.engines.split(",") if name in ENGINES]
    for engine in chosen:
        if engine.missing_tools():
            print(f"bench_compose: {engine.name} needs {', '.join(engine.missing_tools())}: run scripts/bootstrap --containers", file=sys.stderr)
            return 2

    results = {}
    failed = False
    for engine in chosen:
        try:
            results[engine.name] = measure(engine, args.repeat, args.runs, args.cold)
        except stack.StageTeardownError as exc:
            print(f"bench_compose: {exc}", file=sys.stderr)
            failed = True

    load = os.getloadavg()[0]
    print(f"container stack: 9 nodes + the lan-switch, {args.repeat} rounds, load {load:.2f}")
    header = f"{'step':<7}" + "".join(f"{e.name + ' ' + version(e):>24}" for e in chosen if e.name in results)
    if len(results) == 2:
        header += f"{'docker/podman':>15}"
    print(header + "   (medians, seconds)")
    for step in STEPS:
        medians = {name: statistics.median(fig[step]) for name, (fig, _v) in results.items() if fig[step]}
        line = f"{step:<7}" + "".join(f"{medians.get(name, float('nan')):>24.2f}" for name in results)
        if len(medians) == 2:
            line += f"{medians['docker'] / medians['podman']:>15.2f}"
        target = TARGETS.get(step)
        if target is not None:
            best = min(medians.values())
            line += f"   {'✔' if best <= target else '✘'} target ≤ {target:.1f} s on one engine"
        print(line)
    for name, (_fig, verdicts) in results.items():
        passes = sum(v == "handshake: PASS" for v in verdicts)
        print(f"{name}: verdicts {passes}/{len(verdicts)} PASS" + ("" if passes == len(verdicts) else f"  (other: {set(verdicts)})"))
        failed |= passes != len(verdicts)
    print("host state: " + ("DIFFERS (see above)" if failed else "as before after every engine"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
