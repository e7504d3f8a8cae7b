"""A class's submissions: one file or one folder per student, named by the student's id."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabError
from ..files import FileRefused, read_bounded

SOURCE_LIMIT = 1024 * 1024  # as the sandbox reads a solution
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path | None  # None: the folder holds no usable file (`problem` says why)
    digest: str  # sha256 of the file's bytes ("" without a file)
    problem: str | None = None


def discover(folder: Path, lab_name: str) -> list[Submission]:
    """Every submission in `folder`, sorted by student id.

    A file `ID.py` is student ID's (an LMS export of single files); a folder
    `ID/` holds student ID's file: its only .py file, else `LAB.py` or
    `solution.py`. Hidden entries and other files are ignored."""
    if not folder.is_dir():
        raise LabError(f"{folder} is not a folder of submissions (one file or folder per student)")
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_file() and entry.suffix == ".py":
            student, path, problem = entry.stem, entry, None
        elif entry.is_dir():
            student = entry.name
            path, problem = _pick(entry, lab_name)
        else:
            continue
        if not STUDENT_ID.fullmatch(student):
            raise LabError(f"{entry.name}: a student id is 1-128 letters, digits, '.', '_', '@' or '-'")
        if student in found:
            raise LabError(f"student {student} has both a file and a folder in {folder}")
        found[student] = Submission(student, path, _digest(path) if path else "", problem)
    if not found:
        raise LabError(f"{folder} holds no submission (a STUDENT.py file or a STUDENT/ folder each)")
    return [found[k] for k in sorted(found)]


def _pick(folder: Path, lab_name: str) -> tuple[Path | None, str | None]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".py" and not p.name.startswith("."))
    if len(files) == 1:
        return files[0], None
    for name in (f"{lab_name}.py", "solution.py"):
        if folder / name in files:
            return folder / name, None
    if not files:
        return None, "the folder holds no .py file"
    return None, f"the folder holds {len(files)} .py files and none is named {lab_name}.py or solution.py"


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(read_bounded(path, limit=SOURCE_LIMIT, what="solution files")).hexdigest()
    except (OSError, FileRefused):  # unreadable or too large: the run says so; the digest only keys the cache
        return "unreadable"
