"""A stage that fails half way still brings its stack down and puts the host back.

Runs before the lab stack exists (file order), on a one-container stack of its own.
"""

from __future__ import annotations

import pytest

from protolab.backends.compose_file import IMAGE

from . import stack
from .host_state import HostState

pytestmark = pytest.mark.containers
PROJECT = "protolabfailtest"
COMPOSE = f"""\
x-podman:
  in_pod: false
services:
  lonely:
    image: "{IMAGE}"
    pull_policy: never
    command: [sleep, infinity]
    init: true
    networks: [isolated]
networks:
  isolated:
    internal: true
    ipam:
      config:
        - subnet: "10.0.9.0/24"
          gateway: "10.0.9.254"
"""


def test_a_failure_inside_the_stage_still_removes_everything(engine, images, tmp_path):
    compose_file = tmp_path / "docker-compose.yml"
    compose_file.write_text(COMPOSE)
    before = HostState.save()
    seen = {}
    with pytest.raises(RuntimeError, match="a step of the stage failed"), stack.stage(engine, compose_file, PROJECT):
        seen.update(engine.leftovers(PROJECT))
        raise RuntimeError("a step of the stage failed")
    assert len(seen["containers"]) == 1 and len(seen["networks"]) == 1  # it was really up
    assert engine.leftovers(PROJECT) == {"containers": [], "networks": []}
    before.restore()  # what the engine's network layer changed (firewall chains, IPAM state) goes
    assert before.differences() == []
