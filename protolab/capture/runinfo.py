"""What a run writes about itself into its pcapng, so an offline check can use it.

One section comment: `protolab run {"lab": ..., "params": {...}, ...}` (JSON).
The kernel's drop counts also go into Interface Statistics Blocks, where
Wireshark shows them; this comment adds what no block has a field for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

RUN_PREFIX = "protolab run "
MAX_COMMENT = 64 << 10  # a run description is a few kilobytes (most of it the topology); more is not one


@dataclass(frozen=True)
class RunInfo:
    """A run as its capture describes it."""

    lab: str
    params: Mapping[str, str] = field(default_factory=dict)  # every parameter the run used, as --set text
    run_id: str = ""
    student: str | None = None
    drops: int = 0  # frames the kernel dropped during capture
    doubts: tuple[str, ...] = ()  # why the live run could not prove anything (INCONCLUSIVE)
    status: str = ""  # the live run's verdict
    # the network the run was made on, as topology.to_data gives it (None: not recorded);
    # untrusted like the rest of the file: read back with topology.from_data, which validates it
    topology: Mapping[str, Any] | None = None

    def comment(self) -> str:
        body = {"lab": self.lab, "params": dict(self.params), "run_id": self.run_id, "student": self.student,
                "drops": self.drops, "doubts": list(self.doubts), "status": self.status}
        if self.topology is not None:
            body["topology"] = self.topology
        return RUN_PREFIX + json.dumps(body, ensure_ascii=False, sort_keys=True)


def param_text(value: Any) -> str:
    """A parameter as `--set` would give it."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_run_info(comments: Iterable[str]) -> RunInfo | None:
    """The first well-formed run description among a capture's section comments (None if there is none).

    The comment is data from a file: anything malformed is ignored, never trusted in part."""
    for comment in comments:
        if not comment.startswith(RUN_PREFIX) or len(comment) > MAX_COMMENT:
            continue
        try:
            body = json.loads(comment[len(RUN_PREFIX):])
        except ValueError:
            continue
        info = _from_json(body)
        if info is not None:
            return info
    return None


def _from_json(body: Any) -> RunInfo | None:
    if not isinstance(body, dict) or not isinstance(body.get("lab"), str):
        return None
    params, doubts = body.get("params", {}), body.get("doubts", [])
    drops, student = body.get("drops", 0), body.get("student")
    if not (isinstance(params, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())):
        return None
    if not (isinstance(doubts, list) and all(isinstance(d, str) for d in doubts)):
        return None
    if not isinstance(drops, int) or isinstance(drops, bool) or drops < 0 or not (student is None or isinstance(student, str)):
        return None
    topology = body.get("topology")
    if topology is not None and not isinstance(topology, dict):
        return None
    return RunInfo(body["lab"], params, str(body.get("run_id", "")), student, drops, tuple(doubts),
                   str(body.get("status", "")), topology)
