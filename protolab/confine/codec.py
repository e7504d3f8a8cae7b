"""Values across the confinement boundary, as JSON: data, never code.

Plain values (None, bool, int, float, str, bytes, tuples, lists, dicts) travel
as themselves; a protolab dataclass (such as wire.tcp.Conn) by its fields; an
object the lab hands the student (a Host) as a handle: its kind and the facts
needed to rebuild it inside the node; a socket of the student's node (a
server's listener) as a handle whose descriptor the call carries beside the
JSON, so the student's code gets the very socket the lab bound. Anything else
the student returns comes back as `Unconvertible`, which says what it was;
`unsupported()` turns that into the problem the verdict names (the lab then
gets None, never a repr string).
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import math
import socket
from typing import Any, Callable, Protocol

MAX_DEPTH = 64
MAX_REPR = 200
ALLOWED_MODULES = ("protolab.",)  # the only modules a handle or dataclass may name
SOCKET_KIND = "$socket"  # make_handle's kind for a socket the lab hands over (a server's listener)


class CodecError(ValueError):
    """A value that cannot cross the boundary (or a message that is not one of ours)."""


class Handle(Protocol):
    """A lab object the student's code may use: rebuilt inside the node from its facts."""

    def confined_handle(self) -> tuple[str, dict[str, Any]]:
        """("module:Class", facts): the class is built with `Class.in_node(facts, rpc)` in the child."""
        ...


@dataclasses.dataclass(frozen=True)
class Unconvertible:
    """What the student returned that is not plain data (a scapy packet, a socket, ...)."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"{self.text} (a {self.type_name}: return plain values such as str, int, tuple, dict)"


PLAIN_WORDS = "return numbers, strings, bytes, tuples, lists, dicts"


def unsupported(value: Any, depth: int = 0) -> str | None:
    """Why a value the student's code returned cannot be used, to follow "your f() "; None if it is plain.

    "returned a scapy.layers.inet.IP, which cannot leave the sandbox: return numbers, ..."
    (inside a container: "returned a list holding a ...")."""
    found = _first_unconvertible(value, depth)
    if found is None:
        return None
    what = f"a {found.type_name}"
    if found is not value:
        what = f"{_article(type(value).__name__)} {type(value).__name__} holding {what}"
    return f"returned {what}, which cannot leave the sandbox: {PLAIN_WORDS}"


def _first_unconvertible(value: Any, depth: int) -> Unconvertible | None:
    if isinstance(value, Unconvertible):
        return value
    if depth > MAX_DEPTH:
        return None
    items: Any = ()
    if isinstance(value, (tuple, list)):
        items = value
    elif isinstance(value, dict):
        items = [v for pair in value.items() for v in pair]
    return next((f for v in items if (f := _first_unconvertible(v, depth + 1)) is not None), None)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def encode(value: Any, handles: list[Any] | None = None, depth: int = 0, types: bool = True) -> Any:
    """A JSON-ready form of `value`; lab handles are appended to `handles` (grader side only).

    With `types` false (what the student returns) a dataclass travels as Unconvertible."""
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"$tuple": [encode(v, handles, depth + 1, types) for v in value]}
    if isinstance(value, list):
        return [encode(v, handles, depth + 1, types) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[encode(k, handles, depth + 1, types), encode(v, handles, depth + 1, types)] for k, v in value.items()]}
    if handles is not None and isinstance(value, socket.socket):
        handles.append(value)  # its descriptor travels beside the message (SCM_RIGHTS), never in it
        return {"$socket": len(handles) - 1}
    if handles is not None and hasattr(value, "confined_handle"):
        kind, facts = value.confined_handle()
        handles.append(value)
        return {"$handle": len(handles) - 1, "kind": kind, "facts": encode(facts, None, depth + 1)}
    if types and dataclasses.is_dataclass(value) and not isinstance(value, type) and _allowed(type(value).__module__):
        fields = {f.name: encode(getattr(value, f.name), handles, depth + 1, types) for f in dataclasses.fields(value)}
        return {"$dataclass": f"{type(value).__module__}:{type(value).__qualname__}", "fields": fields}
    if handles is not None:
        raise CodecError(f"a {type(value).__name__} cannot be handed to the student's code")
    return {"$opaque": _type_name(value), "repr": _short_repr(value)}


def decode(data: Any, make_handle: Callable[[int, str, dict], Any] | None = None, depth: int = 0,
           types: bool = True) -> Any:
    """The value `encode` made. Handles are rebuilt by `make_handle` (child side); without it, refused.

    With `types` false (reading what the student sent) no dataclass is built."""
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deep")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, make_handle, depth + 1, types) for v in data]
    if not isinstance(data, dict) or len(data) not in (1, 2, 3):
        raise CodecError("not a value of this protocol")
    if "$bytes" in data:
        return base64.b64decode(_typed(data["$bytes"], str), validate=True)
    if "$float" in data:
        return float(_typed(data["$float"], str))
    if "$tuple" in data:
        return tuple(decode(v, make_handle, depth + 1, types) for v in _typed(data["$tuple"], list))
    if "$dict" in data:
        out = {}
        for pair in _typed(data["$dict"], list):
            key, value = _typed(pair, list, 2)
            key = decode(key, make_handle, depth + 1, types)
            try:
                out[key] = decode(value, make_handle, depth + 1, types)
            except TypeError:
                raise CodecError("a dictionary key that cannot be one") from None
        return out
    if "$opaque" in data:
        return Unconvertible(str(data["$opaque"])[:MAX_REPR], str(data.get("repr", ""))[:MAX_REPR])
    if "$dataclass" in data and types:
        cls = _resolve(_typed(data["$dataclass"], str))
        if not dataclasses.is_dataclass(cls):
            raise CodecError(f"{data['$dataclass']} is not a dataclass")
        fields = {str(k): decode(v, make_handle, depth + 1, types) for k, v in _typed(data.get("fields"), dict).items()}
        try:
            return cls(**fields)
        except TypeError as exc:
            raise CodecError(f"{data['$dataclass']}: {exc}") from None
    if "$socket" in data:
        if make_handle is None:
            raise CodecError("a socket can only travel to the student's code")
        return make_handle(_typed(data["$socket"], int), SOCKET_KIND, None)
    if "$handle" in data:
        if make_handle is None:
            raise CodecError("a handle can only travel to the student's code")
        facts = decode(data.get("facts"), None, depth + 1)
        return make_handle(_typed(data["$handle"], int), _typed(data.get("kind"), str), facts)
    raise CodecError("not a value of this protocol")


def resolve_class(path: str) -> Any:
    """"protolab.module:Class" → the class (only inside the protolab package)."""
    return _resolve(path)


def _resolve(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    if not _allowed(module_name) or not attr:
        raise CodecError(f"{path} is not a protolab type")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise CodecError(f"no type {path}") from None
    return target


def _allowed(module: str) -> bool:
    return module.startswith(ALLOWED_MODULES)


def _typed(value: Any, kind: type, length: int | None = None) -> Any:
    if not isinstance(value, kind) or (length is not None and len(value) != length):
        raise CodecError("not a value of this protocol")
    return value


def _type_name(value: Any) -> str:
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__ is the student's problem, not ours
        text = "<unprintable>"
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 1] + "…"
