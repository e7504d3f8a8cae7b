"""Shared by the lab tests: run a lab on a fresh topology, find items, explain verdicts."""

from __future__ import annotations

from pathlib import Path

from protolab.expect import ItemResult, Verdict
from protolab.lab.api import Lab
from protolab.lab.runner import RunOptions, RunResult, run_lab


def run_fresh(lab: Lab, out_dir: Path, solutions: Path, solution: str | None = None,
              timeout: float | None = None, **params: object) -> RunResult:
    """Run `lab` on a topology of its own, with a solution file from `solutions` (or the reference)."""
    options = RunOptions(
        solution=solutions / solution if solution else None,
        params={k: str(v) for k, v in params.items()},
        out_dir=out_dir,
        fresh=True,
        timeout=timeout,
    )
    return run_lab(lab, options)


def item(verdict: Verdict, name: str) -> ItemResult:
    return next(i for i in verdict.items if i.name == name)


def explain(verdict: Verdict) -> str:
    return "\n".join(verdict.explanations())
