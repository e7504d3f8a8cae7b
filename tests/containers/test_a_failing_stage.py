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
name: {PROJECT}
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


def test_a_failure_inside_the_stage_still_removes_everything(images, tmp_path):
    compose_file = tmp_path / "docker-compose.yml"
    compose_file.write_text(COMPOSE)
    before = HostState.save()
    seen = {}
    with pytest.raises(RuntimeError, match="a step of the stage failed"), stack.stage(compose_file, PROJECT):
        seen.update(stack.leftovers(PROJECT))
        raise RuntimeError("a step of the stage failed")
    assert len(seen["containers"]) == 1 and len(seen["networks"]) == 1  # it was really up
    assert stack.leftovers(PROJECT) == {"containers": [], "networks": []}
    assert before.differences() == []
