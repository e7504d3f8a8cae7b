"""Verdict and trace as JSON, for machines and for keeping next to the pcapng.

Layer values are made JSON-safe: bytes become {"len": n, "hex": "..."} (hex cut
after HEX_LIMIT bytes, with "truncated": true), addresses and other objects
become strings. Key order is fixed, so equal inputs give identical files.
"""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path
from typing import Any, Mapping

from protolab.expect.trace import Frame, Trace
from protolab.expect.verdict import ItemResult, Verdict

FORMAT = "protolab-verdict/1"
HEX_LIMIT = 256
LAYER_ORDER = ("eth", "arp", "ip", "icmp", "tcp", "udp")


def jsonable(value: Any) -> Any:
    """A JSON-serialisable copy of `value`."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        out: dict[str, Any] = {"len": len(data), "hex": data[:HEX_LIMIT].hex()}
        if len(data) > HEX_LIMIT:
            out["truncated"] = True
        return out
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


def item_to_dict(item: ItemResult) -> dict[str, Any]:
    out = {
        "kind": item.kind,
        "name": item.name,
        "status": item.status.value,
        "frames": list(item.frames),
        "messages": list(item.messages),
    }
    if item.phase:
        out["phase"] = item.phase
    return out


def frame_to_dict(frame: Frame) -> dict[str, Any]:
    names = [n for n in LAYER_ORDER if n in frame.layers]
    names += sorted(n for n in frame.layers if n not in LAYER_ORDER)
    return {
        "index": frame.index,
        "time": frame.time,
        "link": frame.link,
        "sender": frame.sender,
        "receiver": frame.receiver,
        "summary": frame.summary,
        "layers": {n: jsonable(frame.layers[n]) for n in names},
    }


def verdict_to_dict(verdict: Verdict, trace: Trace | None) -> dict[str, Any]:
    """Status, items (with messages and frame indices), bindings, notes and the trace."""
    out: dict[str, Any] = {
        "format": FORMAT,
        "expectation": verdict.expectation,
        "status": verdict.status.value,
        "passed": verdict.passed,
        "items": [item_to_dict(i) for i in verdict.items],
        "bindings": {str(k): jsonable(verdict.bindings[k]) for k in sorted(verdict.bindings, key=str)},
        "notes": list(verdict.notes),
    }
    phases = verdict.phases()
    if phases:
        out["phases"] = [{"name": p.name, "status": p.status.value, "passed": p.passed, "items": len(p.items)}
                         for p in phases]
    if trace is not None:
        out["trace"] = {
            "links": list(trace.links),
            "drops": trace.drops,
            "frames": [frame_to_dict(f) for f in trace.frames],
        }
    return out


def write_json(path: str | Path, verdict: Verdict, trace: Trace | None,
               extra: Mapping[str, Any] | None = None) -> Path:
    """Write the report to `path` (parents created); `extra` goes under the "extra" key."""
    data = verdict_to_dict(verdict, trace)
    if extra:
        data["extra"] = jsonable(extra)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
