"""Helpers for a lab author's own tests (pytest): run a lab file for real, find items, read explanations.

    from protolab.testing import explain, item, needs_root, run_lab_file

    @needs_root
    def test_the_reference_passes(tmp_path):
        result = run_lab_file(LAB_FILE, out_dir=tmp_path)
        assert result.verdict.status.value == "PASS", explain(result.verdict)

Every run builds a network of its own (namespaces, as root) and removes it
afterwards, so tests may run while a topology is up with `protolab up`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .expect import ItemResult, Verdict
from .lab.api import Lab
from .lab.catalog import load_lab_file
from .lab.runner import RunOptions, RunResult, run_lab

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (the lab builds network namespaces)")

__all__ = ["explain", "item", "load_lab_file", "messages", "needs_root", "run_lab_file"]


def run_lab_file(lab: Lab | str | Path, solution: str | Path | None = None, *, out_dir: Path,
                 timeout: float | None = None, student: str | None = None, **params: Any) -> RunResult:
    """Run a lab (a Lab, or the path of its file) on a fresh network, with `solution` (a student's
    file) or its reference; `params` as `--set` would give them; `student` draws that student's variant."""
    if not isinstance(lab, Lab):
        lab = load_lab_file(lab)
    options = RunOptions(solution=Path(solution) if solution is not None else None,
                         params={k: str(v) for k, v in params.items()}, out_dir=Path(out_dir), fresh=True,
                         timeout=timeout, student=student, seed="tests" if student else None)
    return run_lab(lab, options)


def item(verdict: Verdict, name: str) -> ItemResult:
    """The verdict's item (step, never rule or fact check) called `name`; KeyError names the others."""
    for found in verdict.items:
        if found.name == name:
            return found
    raise KeyError(f"no item {name!r} in the verdict; its items: " + "; ".join(i.name for i in verdict.items))


def messages(verdict: Verdict, name: str) -> str:
    """Everything the student reads under item `name`, as one string."""
    return " ".join(item(verdict, name).messages)


def explain(verdict: Verdict) -> str:
    """Every explanation of the verdict, one per line (for an assert's message)."""
    return "\n".join(verdict.explanations())
