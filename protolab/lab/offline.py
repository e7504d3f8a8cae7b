"""Check a stored capture against a lab's expectation, offline.

Any capture Wireshark, tcpdump or dumpcap writes will do (see
protolab.capture.reader). A capture a run wrote says which lab, parameters and
variant it was made with, the network it was made on and what the kernel
dropped: those are used unless told otherwise. A capture from another network is read
with the lab's roles mapped onto its addresses (roles.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Mapping, Sequence

from ..capture.frames import RawFrame
from ..capture.reader import CaptureError, CaptureInfo, open_capture
from ..capture.runinfo import RunInfo, parse_run_info
from ..errors import LabError, TopologyError
from ..expect.match import check
from ..expect.trace import Trace
from ..expect.verdict import Status, Verdict
from ..topology import from_data
from ..topology.model import Topology
from ..wire.decode import Decoded, build_trace, decode_all
from .api import Lab
from .network import lab_topology
from .roles import Reading, guess_reading, learn_macs, parse_roles, remap, uses_lab_addresses
from .runner import parse_params
from .variants import CLAIM_PREFIX, claim_problem, course_seed, merged_params

SENT_BY = "sent by "


@dataclass
class OfflineResult:
    verdict: Verdict
    trace: Trace
    topology: Topology  # the lab's, with its roles at the capture's addresses if they were mapped
    info: CaptureInfo
    run: RunInfo | None  # what the capture says about the run that made it
    warnings: list[str] = field(default_factory=list)  # for the person, before the verdict


def check_capture(lab: Lab, path: Path, raw_params: Mapping[str, str], student: str | None = None,
                  seed: str | None = None, roles: Sequence[str] = ()) -> OfflineResult:
    """The verdict of `lab` on the capture at `path`; LabError (one line) if it cannot be read or mapped."""
    topology = lab_topology(lab)
    addresses, links_as = parse_roles(roles, topology)  # a bad --as is refused before the file is read
    frames, info = _read(path)
    run = parse_run_info(info.comments)
    warnings: list[str] = []
    if run is not None and run.lab != lab.name:
        warnings.append(f"this capture was made by a run of the lab '{run.lab}', not '{lab.name}': "
                        f"check it with `protolab check {run.lab}`")
    recorded = _recorded_topology(run, warnings) if run is not None and run.lab == lab.name else None
    if recorded is not None and recorded != topology:
        topology = recorded  # the network the capture was made on, not today's file
        addresses, links_as = parse_roles(roles, topology)
    frames = [replace(f, link=links_as.get(f.link, f.link)) for f in frames] if links_as else frames
    params = _params(lab, run, raw_params, student, seed, warnings)
    decoded = decode_all(frames)
    reading = _reading(lab, decoded, topology, params, addresses, warnings)
    if reading is not None:
        topology = remap(topology, reading)
    links = tuple(dict.fromkeys(f.link for f in frames))
    drops = max(info.drops or 0, run.drops if run is not None else 0)
    trace = build_trace(decoded, topology, links, drops)
    verdict = check(lab.expectation(topology, params), trace, None)
    if run is not None and run.lab == lab.name:
        for doubt in run.doubts:
            verdict = verdict.with_doubt(doubt)
    problem = claim_problem(lab, student, course_seed(seed), _claim(info)) if student else None
    if problem:
        verdict = verdict.with_error(problem)
    for warning in warnings:
        verdict = verdict.with_note(warning)
    return OfflineResult(verdict, trace, topology, info, run, warnings)


def _recorded_topology(run: RunInfo, warnings: list[str]) -> Topology | None:
    """The topology the capture says its run was made on (None if it says none, or nothing valid)."""
    if run.topology is None:
        return None
    try:
        return from_data(dict(run.topology), "the capture's topology")
    except TopologyError as exc:
        warnings.append(f"the topology recorded in the capture is not usable ({exc}): checked on the lab's own")
        return None


def _read(path: Path) -> tuple[list[RawFrame], CaptureInfo]:
    try:
        with open_capture(path) as capture:
            frames = [RawFrame(f.time_ns, f.interface.name, _sender(f.comment), f.data, f.interface.linktype, f.wire_len)
                      for f in capture]
            return frames, capture.info
    except CaptureError as exc:
        raise LabError(f"cannot read {path}: {exc}") from None
    except OSError as exc:
        raise LabError(f"cannot read {path}: {exc.strerror or exc}") from None


def _sender(comment: str | None) -> str | None:
    return comment[len(SENT_BY):] if comment and comment.startswith(SENT_BY) else None


def _claim(info: CaptureInfo) -> str | None:
    return next((c for c in info.comments if c.startswith(CLAIM_PREFIX)), None)


def _params(lab: Lab, run: RunInfo | None, given: Mapping[str, str], student: str | None, seed: str | None,
            warnings: list[str]) -> dict:
    """The run's own parameters (from the capture), overridden by --set."""
    stored = dict(run.params) if run is not None and run.lab == lab.name else {}
    # with --student, the variant decides its own parameters (a copied capture must not bring its own)
    stored = {k: v for k, v in stored.items() if k in lab.params and not (student and k in lab.variants)}
    changed = sorted(k for k, v in given.items() if k in stored and stored[k] != v)
    if changed:
        warnings.append("checked with " + ", ".join(f"{k}={given[k]}" for k in changed) + ", but the run used "
                        + ", ".join(f"{k}={stored[k]}" for k in changed))
    merged = merged_params(lab, student, course_seed(seed), {**stored, **given})
    return parse_params(lab, merged)


def _reading(lab: Lab, decoded: list[Decoded], topology: Topology, params: dict, addresses: Mapping[str, IPv4Address],
             warnings: list[str]) -> Reading | None:
    """How the lab's roles sit on the capture: as told (--as), none needed, or the only one that fits."""
    if addresses:
        reading = Reading(addresses, learn_macs(decoded, addresses))
        unseen = [r for r in addresses if r not in reading.macs]
        if unseen and any("eth" in d.layers for d in decoded):
            warnings.append(f"the capture does not show which MAC {' and '.join(unseen)} send(s) from: "
                            "checks of who sent a frame cannot be made for them")
        return reading
    if not decoded or uses_lab_addresses(decoded, topology):
        return None
    candidates = [n for n in dict.fromkeys(lab.columns) if n in {node.name for node in topology.nodes}]

    def fit(mapped: Topology) -> tuple[int, ...]:
        verdict = check(lab.expectation(mapped, params), build_trace(decoded, mapped), None)
        steps = [i for i in verdict.items if i.kind == "step"]
        return (sum(i.status is Status.PASS for i in steps), sum(bool(i.frames) for i in steps))

    reading, note = guess_reading(decoded, topology, candidates, fit)
    warnings.append(note)
    return reading
