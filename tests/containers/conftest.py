"""The container stage: build the images once, bring the stack up once, always bring it down.

Skipped for non-root users and (outside CI) when podman and its tools are not
installed; in CI (CI set, as root) a missing tool fails the stage instead of
skipping it: scripts/bootstrap installs them. Skip it locally with
`-m "not containers"`.
"""

from __future__ import annotations

import os
import time

import pytest

from . import stack


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if "containers" in item.keywords]
    reason = None
    if os.geteuid() != 0:
        reason = "needs root (rootful podman)"
    elif stack.missing_tools():
        reason = f"needs {', '.join(stack.missing_tools())} (installed by scripts/bootstrap)"
    if reason is None or (os.environ.get("CI") and os.geteuid() == 0):
        return  # in CI a missing tool fails the stage (images), it is never skipped
    for item in mine:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def images() -> float:
    """The base and lab images built (seconds it took)."""
    if stack.missing_tools():
        pytest.fail(f"container stage: {', '.join(stack.missing_tools())} not installed (scripts/bootstrap installs them)")
    mark = time.perf_counter()
    stack.build_images()
    return time.perf_counter() - mark


@pytest.fixture(scope="package")
def compose_stack(images):
    """The stack of docker-compose.yml up; down, leftovers removed and the host
    restored after the last test of this folder (before any other test folder
    runs), also when a test fails."""
    from protolab.backends.compose import find_stack, wait_ready

    with stack.stage() as timings:
        timings["build"] = images
        mark = time.perf_counter()
        wait_ready({node: container.pid for node, container in find_stack().items()})
        timings["ready"] = time.perf_counter() - mark
        yield timings
