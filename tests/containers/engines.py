"""The two container engines the stage runs on: rootful podman with podman-compose,
and Docker Engine (Debian's docker.io) with Debian's docker-compose v1.

Each engine's commands run with the project's settings only: podman with
scripts/containers/containers.conf (CONTAINERS_CONF), Docker against a dockerd
this stage starts itself, on a socket and in folders of its own, with the
daemon's defaults otherwise (iptables on, br_netfilter, bridge-nf-call-iptables=1:
a stock Docker host). Containers and networks are found by the project label
the compose tool puts on them, never by name pattern.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from protolab.backends.pids import family, stop_process
from protolab.backends.ledger import process_start_time as start_time

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "protolab"  # passed with -p: the file names no project (Compose v1 rejects a top-level name:)


def run(argv: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a command; raise with the tail of its output if it fails."""
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{tail}")
    return done


class Engine:
    name: str
    cli: str  # the engine's own client
    compose_tool: str
    project_label: str
    tools: tuple[str, ...]

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def missing_tools(self) -> list[str]:
        return [t for t in (*self.tools, self.compose_tool) if not _found(t)]

    @contextmanager
    def daemon(self) -> Iterator[None]:
        """The engine running for the body (podman needs no daemon)."""
        yield

    def build_images(self) -> None:
        run([str(ROOT / "scripts" / "containers" / "build-images"), self.name], self.env(), timeout=900)

    def compose(self, compose_file: Path, project: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return run([_found(self.compose_tool), "-p", project, "-f", str(compose_file), *args], self.env(), timeout)

    def up(self, compose_file: Path, project: str = PROJECT) -> None:
        self.compose(compose_file, project, "up", "-d", "--no-build")

    def down(self, compose_file: Path, project: str = PROJECT) -> None:
        self.compose(compose_file, project, "down", "-t", "2")

    def command(self, *args: str, timeout: float = 60) -> str:
        return run([self.cli, *args], self.env(), timeout).stdout

    def exec_argv(self, container: str, *argv: str) -> list[str]:
        return [self.cli, "exec", container, *argv]

    def leftovers(self, project: str = PROJECT) -> dict[str, list[str]]:
        """The project's containers and networks that still exist."""
        label = f"label={self.project_label}={project}"
        return {
            "containers": self.command("ps", "-a", "-q", "--filter", label).split(),
            "networks": self.command("network", "ls", "-q", "--filter", label).split(),
        }

    def remove_leftovers(self, project: str = PROJECT) -> None:
        """Remove what `down` left of the project, by id."""
        left = self.leftovers(project)
        if left["containers"]:
            subprocess.run([self.cli, "rm", "-f", *left["containers"]], env=self.env(), capture_output=True, check=False)
        for network in left["networks"]:
            subprocess.run([self.cli, "network", "rm", network], env=self.env(), capture_output=True, check=False)


def _found(tool: str) -> str:
    """A tool beside this Python (the venv), or on PATH, or ''."""
    beside = Path(sys.executable).with_name(tool)
    if beside.is_file():
        return str(beside)
    return shutil.which(tool) or ""


class Podman(Engine):
    name = "podman"
    cli = "podman"
    compose_tool = "podman-compose"
    project_label = "io.podman.compose.project"
    tools = ("podman", "runc", "debootstrap", "nsenter")
    conf = ROOT / "scripts" / "containers" / "containers.conf"

    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def remove_leftovers(self, project: str = PROJECT) -> None:
        left = self.leftovers(project)
        if left["containers"]:
            subprocess.run(["podman", "rm", "-f", "-t", "0", *left["containers"]], env=self.env(), capture_output=True, check=False)
        for network in left["networks"]:
            subprocess.run(["podman", "network", "rm", "-f", network], env=self.env(), capture_output=True, check=False)


class Docker(Engine):
    """Docker Engine, started by the stage: dockerd is this process's child, with
    its socket, exec root and pid file under RUN_DIR and its images under
    DATA_ROOT (kept between runs: the images only, the build cache is pruned)."""

    name = "docker"
    cli = "/usr/bin/docker"  # Debian's client, which builds with BuildKit without a buildx plugin
    compose_tool = "docker-compose"
    project_label = "com.docker.compose.project"
    tools = ("dockerd", "containerd", "runc", "debootstrap", "nsenter", "/usr/bin/docker")
    RUN_DIR = Path("/run/protolab/docker")
    DATA_ROOT = Path("/var/lib/protolab/docker")
    SOCKET = RUN_DIR / "docker.sock"

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": f"unix://{self.SOCKET}", "COMPOSE_DOCKER_CLI_BUILD": "1", "DOCKER_BUILDKIT": "1"}

    def missing_tools(self) -> list[str]:
        return [t for t in (*self.tools, self.compose_tool) if not (Path(t).is_file() if t.startswith("/") else _found(t))]

    @contextmanager
    def daemon(self) -> Iterator[None]:
        """dockerd for the body; afterwards the build cache pruned, the daemon stopped
        by PID, and no process it started left (its containerd, shims)."""
        if self.SOCKET.exists():
            raise RuntimeError(f"a dockerd already listens on {self.SOCKET}: stop it first")
        run_docker_existed = Path("/run/docker").exists()
        self.RUN_DIR.mkdir(parents=True, exist_ok=True)
        log = open(self.RUN_DIR / "dockerd.log", "w")
        daemon = subprocess.Popen(
            ["dockerd", "--host", f"unix://{self.SOCKET}", "--exec-root", str(self.RUN_DIR / "exec"),
             "--pidfile", str(self.RUN_DIR / "dockerd.pid"), "--data-root", str(self.DATA_ROOT)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while subprocess.run([self.cli, "version"], env=self.env(), capture_output=True, check=False).returncode != 0:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dockerd did not start:\n" + (self.RUN_DIR / "dockerd.log").read_text()[-2000:])
                time.sleep(0.2)
            yield
        finally:
            subprocess.run([self.cli, "builder", "prune", "-a", "-f"], env=self.env(), capture_output=True, check=False)
            helpers = family(daemon.pid, start_time(daemon.pid))
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
            log.close()
            for pid, started in helpers + _ours_by_address(self.RUN_DIR):
                stop_process(pid, started, grace=5.0)  # containerd stops with dockerd; what did not, by PID
            shutil.rmtree(self.RUN_DIR, ignore_errors=True)
            if not run_docker_existed:
                shutil.rmtree("/run/docker", ignore_errors=True)


def _ours_by_address(run_dir: Path) -> list[tuple[int, int]]:
    """Processes that name this stage's own daemon folder on their command line:
    containerd's shims, which leave dockerd's process tree when they start."""
    found = []
    marker = str(run_dir).encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "cmdline").read_bytes():
                started = start_time(int(entry.name))
                if started is not None:
                    found.append((int(entry.name), started))
        except OSError:
            continue
    return found


ENGINES: dict[str, Engine] = {"podman": Podman(), "docker": Docker()}
