"""A grading worker: one topology of its own for the whole batch, one confined run per submission.

Started by the batch (`python -m protolab.grade.worker LAB OUT [HIDE...]`) in a session of
its own, so that Ctrl-C on the terminal reaches only the batch, which then
closes the workers' input: each finishes the submission it is on, takes its
topology down and exits. Jobs come in as JSON lines on stdin; each result
goes out as one JSON line on the descriptor that was stdout (the worker's
own stdout goes to stderr, so nothing a library prints can corrupt it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ProtolabError
from .score import Score, error_score, score_verdict

INCONCLUSIVE_RETRIES = 2  # a run that could not observe what it needed is tried again, this often at most


def grade_one(lab, deployment, job: dict[str, Any], launcher=None) -> dict[str, Any]:
    """Run one submission (retrying an INCONCLUSIVE run) and score it; never raises."""
    from ..confine.session import ConfinementError
    from ..lab.runner import RunOptions, run_lab

    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    if job.get("problem"):
        return as_result(job, score_verdict_unusable(lab, job["problem"]), time.monotonic() - began, "", 0)
    attempts = 0
    while True:
        attempts += 1
        try:
            fresh = lab.fresh_topology  # the lab's state cannot be reset: a network of its own per submission
            result = run_lab(lab, RunOptions(solution=Path(job["path"]), out_dir=out, fresh=fresh,
                                             deployment=None if fresh else deployment,
                                             launcher=None if fresh else launcher, student=job["student"] if lab.variants else None,
                                             seed=job.get("seed")))
        except (ProtolabError, ConfinementError, OSError) as exc:
            return as_result(job, error_score(f"the grader could not run it: {exc}"), time.monotonic() - began, "", attempts)
        except Exception as exc:  # noqa: BLE001 - one broken submission never stops the batch
            return as_result(job, error_score(f"the grader failed on it: {type(exc).__name__}: {exc}"),
                           time.monotonic() - began, "", attempts)
        score = score_verdict(result.verdict, lab.points, result.unusable)
        if score.status != "INCONCLUSIVE" or attempts > INCONCLUSIVE_RETRIES:
            _write_text(out / "verdict.txt", lab, result)
            return as_result(job, score, time.monotonic() - began, result.run_id, attempts)


def score_verdict_unusable(lab, problem: str) -> Score:
    """A folder without a usable file: no run; the lab's items checked against nothing, scored 0."""
    from ..expect.match import check
    from ..lab.network import lab_topology
    from ..lab.runner import parse_params
    from ..wire.decode import decode_trace

    topology = lab_topology(lab)
    verdict = check(lab.expectation(topology, parse_params(lab, {})), decode_trace([], topology, ()), {})
    return score_verdict(verdict, lab.points, f"your submission could not be used: {problem}")


def _write_text(path: Path, lab, result) -> None:
    """The verdict as the student reads it: the ladder and the items, without colour."""
    from ..report.terminal import make_console, print_report

    with open(path, "w", encoding="utf-8") as f:  # not a terminal: the ladder at full width, nothing cut
        print_report(make_console(f), trace=result.trace, verdict=result.verdict, columns=lab.columns,
                     title=lab.title, views=lab.views, topology=result.topology)


def as_result(job: dict[str, Any], score: Score, seconds: float, run_id: str, attempts: int) -> dict[str, Any]:
    """One submission's result as the batch stores it (the same shape whoever scored it)."""
    return {
        "student": job["student"], "digest": job.get("digest", ""), "status": score.status,
        "score": score.score, "max_score": score.max_score, "first_failure": score.first_failure,
        "first_failed": score.first_failed,
        "items": [item.__dict__ for item in score.items], "run_id": run_id,
        "seconds": round(seconds, 3), "attempts": attempts,
    }


def main(argv: list[str] | None = None) -> int:
    from ..backends import get_backend
    from ..confine.session import ConfinedSolution
    from ..lab.catalog import load_lab
    from ..lab.network import lab_topology, topology_source
    from ..lab.runner import hidden_paths

    argv = sys.argv[1:] if argv is None else argv
    results = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else writes to stdout lands in stderr
    lab = load_lab(argv[0])
    # never shown to a student's code: every student's feedback and every other submission
    hide = hidden_paths(Path(argv[1])) + tuple(argv[2:])
    deployment = get_backend("netns").deploy(lab_topology(lab), source=topology_source(lab))
    launcher = ConfinedSolution(Path(lab.source), lab.student_name, deployment.node(lab.student_node).netns,
                                lab.student_node, limits=lab.student_limits, hide=hide)
    try:
        launcher.start()  # one zygote for the batch: it imports scapy once, not per submission
        results.write(json.dumps({"worker": deployment.run_id}) + "\n")  # so a batch can clean up after a kill
        for line in sys.stdin:
            job = json.loads(line)
            results.write(json.dumps(grade_one(lab, deployment, job, launcher)) + "\n")
    finally:
        launcher.close()
        deployment.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
