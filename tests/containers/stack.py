"""The container stack for tests and benchmarks, on one engine: images, up, down, and what is left."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .engines import PROJECT, ROOT, Engine
from .host_state import HostState

COMPOSE_FILE = ROOT / "docker-compose.yml"


class StageTeardownError(AssertionError):
    """The stack could not be brought down completely, or the host was not as before."""


@contextmanager
def engine_running(engine: Engine) -> Iterator[HostState]:
    """The engine ready for the body; afterwards its daemon (if any) stopped and
    every host change it made put back, whatever happened in the body."""
    saved = HostState.save()
    try:
        with engine.daemon():
            yield saved
    finally:
        saved.restore()
        left = saved.differences()
        if left:
            raise StageTeardownError(f"{engine.name}: the host is not as before: {'; '.join(left)}")


@contextmanager
def stage(engine: Engine, compose_file: Path = COMPOSE_FILE, project: str = PROJECT) -> Iterator[dict[str, float]]:
    """The stack up for the body; afterwards down and every leftover removed.

    Yields timings (seconds) that the body may add to; `down` is added on exit."""
    timings: dict[str, float] = {}
    try:
        mark = time.perf_counter()
        engine.up(compose_file, project)
        timings["up"] = time.perf_counter() - mark
        yield timings
    finally:
        problems = []
        mark = time.perf_counter()
        try:
            engine.down(compose_file, project)
        except Exception as exc:  # noqa: BLE001 - remove what is left anyway, then report
            problems.append(f"down failed: {exc}")
        timings["down"] = time.perf_counter() - mark
        try:
            engine.remove_leftovers(project)
            left = {kind: ids for kind, ids in engine.leftovers(project).items() if ids}
            if left:
                problems.append(f"left behind: {left}")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"removing leftovers failed: {exc}")
        if problems:
            raise StageTeardownError(f"{engine.name}: " + "; ".join(problems))
