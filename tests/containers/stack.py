"""The container stack for tests and benchmarks: build the images, up, down, and what is left.

Every podman command runs with the project's containers.conf (CONTAINERS_CONF),
never the host's. Containers, pods and networks are found by the project label
podman-compose puts on them, never by name pattern.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .host_state import HostState

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
CONTAINERS_CONF = ROOT / "scripts" / "podman" / "containers.conf"
BUILD_IMAGES = ROOT / "scripts" / "podman" / "build-images"
PROJECT = "protolab"  # the `name:` of docker-compose.yml
TOOLS = ("podman", "runc", "debootstrap", "nsenter")


def env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def compose_tool() -> str | None:
    beside = Path(sys.executable).with_name("podman-compose")
    return str(beside) if beside.is_file() else shutil.which("podman-compose")


def missing_tools() -> list[str]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    return missing + ([] if compose_tool() else ["podman-compose"])


def run(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a command with the project's podman settings; raise with its output if it fails."""
    done = subprocess.run(argv, env=env(), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{tail}")
    return done


def build_images() -> None:
    run(str(BUILD_IMAGES), timeout=900)


def up(compose_file: Path = COMPOSE_FILE) -> None:
    run(compose_tool(), "-f", str(compose_file), "up", "-d", "--no-build", timeout=120)


def down(compose_file: Path = COMPOSE_FILE) -> None:
    run(compose_tool(), "-f", str(compose_file), "down", "-t", "2", timeout=120)


def podman(*args: str) -> str:
    return run("podman", *args, timeout=60).stdout


def _label(project: str) -> str:
    return f"label=io.podman.compose.project={project}"


def leftovers(project: str = PROJECT) -> dict[str, list[str]]:
    """The project's containers and networks that still exist."""
    return {
        "containers": podman("ps", "-a", "-q", "--filter", _label(project)).split(),
        "networks": podman("network", "ls", "-q", "--filter", _label(project)).split(),
    }


def remove_leftovers(project: str = PROJECT) -> None:
    """Remove what `down` left of the project (by id): containers that join the client's
    PID namespace first, then the client, then the networks."""
    left = leftovers(project)
    if left["containers"]:
        owners = podman("ps", "-a", "-q", "--filter", _label(project), "--filter", "label=org.protolab.node=client").split()
        others = [c for c in left["containers"] if c not in owners]
        for group in (others, owners):
            if group:
                subprocess.run(["podman", "rm", "-f", "-t", "0", *group], env=env(), capture_output=True, check=False)
    for network in left["networks"]:
        subprocess.run(["podman", "network", "rm", "-f", network], env=env(), capture_output=True, check=False)


class StageTeardownError(AssertionError):
    """The stack could not be brought down completely, or the host was not as before."""


@contextmanager
def stage(compose_file: Path = COMPOSE_FILE, project: str = PROJECT) -> Iterator[dict[str, float]]:
    """The stack up for the body; afterwards down, every leftover removed and the
    host state podman changed put back, whatever happened in the body.

    Yields timings (seconds) that the body may add to; `down` is added on exit."""
    saved = HostState.save()
    timings: dict[str, float] = {}
    try:
        mark = time.perf_counter()
        up(compose_file)
        timings["up"] = time.perf_counter() - mark
        yield timings
    finally:
        problems = []
        mark = time.perf_counter()
        try:
            down(compose_file)
        except Exception as exc:  # noqa: BLE001 - remove what is left anyway, then report
            problems.append(f"down failed: {exc}")
        timings["down"] = time.perf_counter() - mark
        try:
            remove_leftovers(project)
            left = {kind: ids for kind, ids in leftovers(project).items() if ids}
            if left:
                problems.append(f"left behind: {left}")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"removing leftovers failed: {exc}")
        saved.restore()
        problems += saved.differences()
        if problems:
            raise StageTeardownError("; ".join(problems))
