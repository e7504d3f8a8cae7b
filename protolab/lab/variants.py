"""Per-student variants: the parameters a lab lets vary, drawn from the student's id and a course seed.

The same id and seed always give the same values (HMAC-SHA256, no clock, no
randomness), so a student's own `protolab run LAB --student ID` is exactly the
grader's run; two students get different ports, so one cannot hand in
another's capture or numbers. A run with a student writes whose variant it is
into its pcapng (the section comment), and `check --student` refuses a
capture made for another variant.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Mapping

from ..errors import LabError
from .api import Lab, OneOf, Range

SEED_ENV = "PROTOLAB_COURSE_SEED"
DEFAULT_SEED = "protolab"  # a course sets its own: --course-seed or PROTOLAB_COURSE_SEED
CLAIM_PREFIX = "protolab variant "


def course_seed(given: str | None = None) -> str:
    return given or os.environ.get(SEED_ENV) or DEFAULT_SEED


def _draw(seed: str, lab: str, student: str, param: str) -> int:
    digest = hmac.new(seed.encode(), f"{lab}\0{student}\0{param}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def student_params(lab: Lab, student: str, seed: str) -> dict[str, str]:
    """The varied parameters' values for one student (as --set strings)."""
    values: dict[str, str] = {}
    for name, limit in lab.variants.items():
        draw = _draw(seed, lab.name, student, name)
        if isinstance(limit, OneOf):
            values[name] = str(limit.values[draw % len(limit.values)])
        elif isinstance(limit, Range) and limit.low is not None and limit.high is not None:
            low, high = int(limit.low), int(limit.high)
            values[name] = str(low + draw % (high - low + 1))
        else:
            raise LabError(f"lab {lab.name}: variant {name} needs a bounded Range or a OneOf")
    return values


def merged_params(lab: Lab, student: str | None, seed: str, given: Mapping[str, str]) -> dict[str, str]:
    """--set values and, with a student, that student's variant (never both for one parameter)."""
    if student is None:
        return dict(given)
    varied = student_params(lab, student, seed)
    clash = sorted(set(varied) & set(given))
    if clash:
        raise LabError(f"parameter {clash[0]} varies per student: it cannot be --set together with --student")
    return {**given, **varied}


def variant_tag(lab: Lab, student: str, seed: str) -> str:
    """A short name of one student's variant of a lab (changes with the seed)."""
    return hmac.new(seed.encode(), f"{lab.name}\0{student}".encode(), hashlib.sha256).hexdigest()[:16]


def claim(lab: Lab, student: str, seed: str) -> str:
    """The capture's section comment: which lab, student and variant it was made for."""
    return f"{CLAIM_PREFIX}lab={lab.name} student={student} tag={variant_tag(lab, student, seed)}"


def claim_problem(lab: Lab, student: str, seed: str, comment: str | None) -> str | None:
    """Why a capture may not be checked for this student (None: it may)."""
    if not comment or not comment.startswith(CLAIM_PREFIX):
        return None  # not made by a run with a student: checked on its contents alone
    fields = dict(part.split("=", 1) for part in comment[len(CLAIM_PREFIX):].split() if "=" in part)
    if fields.get("lab") != lab.name:
        return f"this capture was made for the lab {fields.get('lab')}, not {lab.name}"
    if fields.get("student") != student or fields.get("tag") != variant_tag(lab, student, seed):
        return "this capture was made for another student's variant"
    return None
