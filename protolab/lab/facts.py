"""Facts a lab declares: what its procedure may report besides the capture, by name.

    LAB = Lab(..., facts={"web.received": "the payloads web's echo service read, in order",
                          "echoes": ("what echo() returned", list)})

A declared name is a string, or a pattern with `*` ("probe(*)") for names the
procedure builds; its meaning is a string, or (meaning, type) to have each
value's type checked. The procedure reports with `ctx.fact(name, value)`;
every `Fact("name")` the expectation uses must be declared (checked when the
catalogue loads the lab). Both mistakes are the lab file's: AuthorError.
"""

from __future__ import annotations

import dataclasses
from fnmatch import fnmatchcase
from typing import Any, Iterator, Mapping, Union

from ..errors import AuthorError
from ..expect.expr import Fact

FactSpec = Union[str, tuple[str, Union[type, tuple[type, ...]]]]


def declared(specs: Mapping[str, FactSpec], name: str) -> FactSpec | None:
    """The declaration that covers `name` (an exact name first, then a pattern), or None."""
    if name in specs:
        return specs[name]
    return next((spec for pattern, spec in specs.items() if "*" in pattern and fnmatchcase(name, pattern)), None)


def meaning(spec: FactSpec) -> str:
    return spec if isinstance(spec, str) else spec[0]


def checked(lab_name: str, specs: Mapping[str, FactSpec], name: str, value: Any) -> Any:
    """`value` if `name` is declared (and `value` has the declared type); else AuthorError."""
    if not isinstance(name, str):
        raise AuthorError(f"lab {lab_name}: a fact's name must be a string, not {name!r}")
    spec = declared(specs, name)
    if spec is None:
        known = ", ".join(sorted(specs)) or "none"
        raise AuthorError(f"lab {lab_name} reports the fact '{name}', which its Lab(facts=...) does not declare "
                          f"(declared: {known})")
    if not isinstance(spec, str) and not isinstance(value, spec[1]):
        raise AuthorError(f"lab {lab_name}: the fact '{name}' is {value!r} (a {type(value).__name__}), "
                          f"but its Lab(facts=...) declares {_type_words(spec[1])}")
    return value


class FactBook(dict):
    """The run's facts: a dict that refuses a name the lab does not declare."""

    def __init__(self, lab_name: str, specs: Mapping[str, FactSpec], initial: Mapping[str, Any] = ()) -> None:
        super().__init__()
        self.lab_name, self.specs = lab_name, specs
        self.update(initial)

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, checked(self.lab_name, self.specs, name, value))

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for name, value in dict(*args, **kwargs).items():
            self[name] = value

    def setdefault(self, name: str, value: Any = None) -> Any:  # type: ignore[override]
        if name not in self:
            self[name] = value
        return self[name]


def fact_names(expectation: Any) -> list[str]:
    """Every name a `Fact(...)` in the expectation reads, in order of appearance, once each."""
    names: list[str] = []
    for fact in _facts_in(expectation, set()):
        if fact.key not in names:
            names.append(fact.key)
    return names


def undeclared(expectation: Any, specs: Mapping[str, FactSpec]) -> list[str]:
    """The Fact names the expectation reads that `specs` does not declare."""
    return [name for name in fact_names(expectation) if declared(specs, name) is None]


def _facts_in(value: Any, seen: set[int]) -> Iterator[Fact]:
    if isinstance(value, (str, bytes, int, float, type(None))) or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Fact):
        yield value
        return
    if isinstance(value, Mapping):
        children: Any = list(value.values())
    elif isinstance(value, (tuple, list, set, frozenset)):
        children = value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif type(value).__module__.startswith("protolab.") and hasattr(value, "__dict__"):
        children = list(vars(value).values())  # a condition of the DSL that is not a dataclass
    else:
        return
    for child in children:
        yield from _facts_in(child, seen)


def _type_words(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(f"a {k.__name__}" if k is not type(None) else "None" for k in kinds)
