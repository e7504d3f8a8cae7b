"""What confinement costs per call of the student's function: confined vs a plain fork, in one run.

A trivial student function (it returns its argument) is called N times:
  fork      the grader forks, the child calls the function (imported in the
            grader) and writes the JSON result to a pipe: the old way, with
            no confinement at all;
  confined  ConfinedSolution.call: a new sandbox per call (namespaces, new
            root, uid, capabilities, rlimits, seccomp), the file imported in
            it, JSON over the call's channel — the previous call's sandbox
            finished first, so every sandbox's whole life is counted;
  confined+host  the same with a Host handle argument, whose two packet
            sockets the sandbox opens in the node.
Methods alternate call by call. Also printed: the zygote's start (interpreter
plus scapy imports, paid once per run, while the lab sets the stage).

Run as root: python bench/bench_confine.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protolab.backends import get_backend  # noqa: E402
from protolab.confine import codec  # noqa: E402
from protolab.confine.session import ConfinedSolution  # noqa: E402
from protolab.topology import load  # noqa: E402
from protolab.live.host import Host  # noqa: E402

TARGET_MS = 20.0
SOURCE = "def echo(client, value):\n    return value\n"


def echo(client, value):
    return value


def fork_call(value) -> object:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.write(write_fd, json.dumps(codec.encode(echo(None, value), types=False)).encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return codec.decode(json.loads(b"".join(chunks)), types=False)


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    return f"{name:<16} median {statistics.median(ms):7.2f} ms   p90 {p90:7.2f}   min {ms[0]:7.2f}   max {ms[-1]:7.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_confine: needs root (network namespaces)", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="bench-confine-"))
    solution = folder / "echo.py"
    solution.write_text(SOURCE)
    deployment = get_backend("netns").deploy(load())
    samples: dict[str, list[float]] = {"fork": [], "confined": [], "confined+host": []}
    try:
        node = deployment.node("client")
        host = Host(node)
        begin = time.perf_counter()
        confined = ConfinedSolution(solution, "echo", node.netns, "client")
        confined.start()
        confined._wait_ready()
        zygote_s = time.perf_counter() - begin
        try:
            for i in range(args.repeat):
                for method in samples:
                    start = time.perf_counter()
                    if method == "fork":
                        value = fork_call(i)
                    else:
                        outcome = confined.call((host if method == "confined+host" else None, i), {}, 5.0)
                        assert outcome.ok, outcome.error
                        value = outcome.value
                    samples[method].append(time.perf_counter() - start)
                    assert value == i
        finally:
            confined.close()
            host.close()
    finally:
        deployment.teardown()
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    print(f"bench_confine: {args.repeat} calls each, load average {os.getloadavg()[0]:.2f}")
    print(f"zygote ready after {zygote_s * 1000:.0f} ms (once per run)")
    for method, values in samples.items():
        print(summary(method, values))
    fork = statistics.median(samples["fork"])
    for method in ("confined", "confined+host"):
        median = statistics.median(samples[method])
        overhead = (median - fork) * 1000
        verdict = "met" if overhead <= TARGET_MS else "MISSED"
        print(f"{method}: {median / fork:.1f}x the fork; overhead {overhead:.2f} ms per call "
              f"(target <= {TARGET_MS:.0f} ms: {verdict})")
    leftover = [n for n in os.listdir("/run/netns") if deployment.run_id in n] if os.path.isdir("/run/netns") else []
    print(f"namespaces left: {', '.join(leftover) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
