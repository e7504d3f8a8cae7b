"""The container stage, on each engine: build the images, bring the stack up once, always bring it down.

Every test of this folder runs once per engine (podman, then Docker), on a
stack of its own; the two never run at once (same container names).
Skipped for non-root users and (outside CI) when an engine's tools are not
installed; in CI (CI set, as root) a missing tool fails the stage instead of
skipping it: scripts/bootstrap --containers installs them. Skip it locally
with `-m "not containers"`, or one engine with PROTOLAB_ENGINES=podman.
"""

from __future__ import annotations

import os
import time

import pytest

from . import stack
from .engines import ENGINES, Engine


def _chosen() -> list[str]:
    wanted = os.environ.get("PROTOLAB_ENGINES", "podman,docker")
    return [name for name in wanted.split(",") if name in ENGINES]


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", _chosen(), indirect=True, scope="package")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "containers" not in item.keywords:
            continue
        name = getattr(item, "callspec", None) and item.callspec.params.get("engine")
        reason = None
        if os.geteuid() != 0:
            reason = "needs root (rootful engines)"
        elif name and ENGINES[name].missing_tools():
            reason = f"{name}: needs {', '.join(ENGINES[name].missing_tools())} (installed by scripts/bootstrap --containers)"
        if reason and not (os.environ.get("CI") and os.geteuid() == 0):  # in CI a missing tool fails the stage
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="package")
def engine(request) -> Engine:
    """The engine running (dockerd started for Docker); stopped and the host
    put back after the last test that uses it."""
    chosen = ENGINES[request.param]
    if chosen.missing_tools():
        pytest.fail(f"container stage: {', '.join(chosen.missing_tools())} not installed (scripts/bootstrap --containers installs them)")
    with stack.engine_running(chosen):
        yield chosen


@pytest.fixture(scope="package")
def images(engine) -> float:
    """The base and lab images built on this engine (seconds it took)."""
    mark = time.perf_counter()
    engine.build_images()
    return time.perf_counter() - mark


@pytest.fixture(scope="package")
def compose_stack(engine, images):
    """The stack of docker-compose.yml up on this engine; down and leftovers
    removed after the last test of the engine, also when a test fails."""
    from protolab.backends.compose import wait_ready

    with stack.stage(engine) as timings:
        timings["build"] = images
        mark = time.perf_counter()
        ready, _topology = wait_ready()
        ready.close()
        timings["ready"] = time.perf_counter() - mark
        yield timings
