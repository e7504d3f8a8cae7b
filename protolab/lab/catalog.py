"""Find lab files and students' solution files, and import them."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from ..errors import AuthorError, LabError, ProtolabError
from .api import Lab


def labs_dir() -> Path:
    """$PROTOLAB_LABS, else ./labs, else the labs/ folder beside the package."""
    env = os.environ.get("PROTOLAB_LABS")
    if env:
        return Path(env)
    here = Path.cwd() / "labs"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "labs"


def lab_names() -> list[str]:
    """The labs in labs_dir(): every NAME.py but _private ones and test_NAME.py (a lab's tests may sit beside it)."""
    folder = labs_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith(("_", "test_")))


def load_lab(name: str) -> Lab:
    """The LAB object of labs/NAME.py."""
    path = labs_dir() / f"{name}.py"
    if not path.is_file() or name.startswith("test_"):
        known = ", ".join(lab_names()) or "none"
        raise LabError(f"no lab named '{name}' in {labs_dir()} (known: {known})")
    return load_lab_file(path)


def load_lab_file(path: str | Path) -> Lab:
    """The LAB object of a lab file anywhere (a lab being written, its tests), checked as load_lab checks it."""
    path = Path(path)
    if not path.is_file():
        raise LabError(f"lab file {path} does not exist")
    name = path.stem
    module = _import(path, f"protolab_lab_{name}")
    lab = getattr(module, "LAB", None)
    if not isinstance(lab, Lab):
        raise LabError(f"{path} defines no LAB = Lab(...)")
    lab = Lab(**{**lab.__dict__, "source": str(path)})
    check_declared_facts(lab)
    return lab


def check_declared_facts(lab: Lab) -> None:
    """AuthorError unless every Fact(...) of the lab's expectation (default parameters, the lab's
    topology) is declared in Lab(facts=...): a typo there would fail every student, silently."""
    from .facts import undeclared
    from .network import lab_topology

    try:
        expectation = lab.expectation(lab_topology(lab), dict(lab.params))
    except ProtolabError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here is the lab file's
        from ..confine.inside import describe_exception

        raise AuthorError(f"lab {lab.name}: its expectation cannot be built with the default parameters: "
                          f"{describe_exception(exc)}") from None
    missing = undeclared(expectation, lab.facts)
    if missing:
        known = ", ".join(sorted(lab.facts)) or "none"
        raise AuthorError(f"lab {lab.name}: its expectation checks Fact({missing[0]!r}), which Lab(facts=...) "
                          f"does not declare (declared: {known})")


def load_solution(path: str | Path, lab: Lab) -> Callable[..., Any]:
    """The student's function from a solution file, imported into this process.

    Only for files one trusts (the tests' own fixtures, driven by a fake
    client): protolab itself never imports a student's file, it runs it
    confined (protolab.confine).

    Raises LabError for a missing file; a file that does not import (syntax
    error, exception at import) raises SolutionError so it can be graded."""
    path = Path(path)
    if not path.is_file():
        raise LabError(f"solution file {path} does not exist")
    try:
        module = _import(path, f"protolab_solution_{lab.name}")
    except LabError as exc:
        raise SolutionError(str(exc)) from None
    func = getattr(module, lab.student_name, None)
    if not callable(func):
        raise SolutionError(f"{path.name} defines no function {lab.student_name}()")
    return func


class SolutionError(LabError):
    """A student's file cannot provide its function: graded as a failure, not a usage error."""


def _import(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LabError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise LabError(f"{path.name}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - any failure at import is the file's
        from ..confine.inside import describe_exception

        raise LabError(f"{path.name} failed to import: {describe_exception(exc)}") from None
    return module
