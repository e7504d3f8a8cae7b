"""What runs in the student's process, inside the sandbox: import the file, call, answer.

Every message goes over the call's channel as JSON (see channel.py). The
order is: {"op": "imported"} once the file has been imported, any number of
{"op": "rpc"} requests from lab handles (each answered before the next), then
one {"op": "result"} or {"op": "error"}. The process then ends at once, its
threads with it; the init stops whatever it forked.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import socket
import sys
import threading
import traceback
from typing import Any

from . import channel, codec

SOLUTION_MODULE = "solution"


class Rpc:
    """Requests from a lab handle to the grader's side of it, one at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def __call__(self, handle: int, request: Any) -> Any:
        with self._lock:
            channel.send(self._sock, {"op": "rpc", "handle": handle, "request": codec.encode(request)})
            reply, fds = channel.receive(self._sock)
            for fd in fds:
                os.close(fd)
            if reply is None or "reply" not in reply:
                raise RuntimeError("the lab did not answer")
            return codec.decode(reply["reply"])


def run_call(sock: socket.socket, spec: dict[str, Any]) -> None:
    """Import the student's file, call its function with the lab's arguments, send what happened."""
    rpc = Rpc(sock)

    passed = dict(zip(spec.get("sockets", ()), spec.get("socket_fds", ())))  # handle number → descriptor

    def make_handle(number: int, kind: str, facts: Any) -> Any:
        if kind == codec.SOCKET_KIND:
            if number not in passed:
                raise ValueError(f"the lab's socket {number} did not arrive")
            return socket.socket(fileno=passed[number])
        cls = codec.resolve_class(kind)
        return cls.in_node(facts, lambda request: rpc(number, request))

    try:
        args = codec.decode(spec["args"], make_handle)
        kwargs = codec.decode(spec["kwargs"], make_handle)
    except Exception as exc:  # noqa: BLE001 - the lab's handles failed to open in the node
        _send(sock, {"op": "error", "phase": "setup", "error": describe_exception(exc)})
        return
    path, name = spec["path"], os.path.basename(spec["path"])
    module, failure = _attempt("import", lambda: _import(path))
    if failure is None and not callable(getattr(module, spec["function"], None)):
        failure = {"op": "error", "phase": "import", "error": f"{name} defines no function {spec['function']}()"}
    if failure is not None:
        _send(sock, failure)
        return
    _send(sock, {"op": "imported"})
    function = getattr(module, spec["function"])
    value, failure = _attempt("call", lambda: function(*args, **kwargs))
    if failure is not None:
        _send(sock, failure)
        return
    try:
        _send(sock, {"op": "result", "value": codec.encode(value, types=False)})
    except (codec.CodecError, RecursionError, ValueError) as exc:
        _send(sock, {"op": "error", "phase": "result", "error": f"returned a value that cannot be read back: {exc}"})


def _attempt(phase: str, action) -> tuple[Any, dict[str, Any] | None]:
    """Run the student's import or call; (value, None), or (None, the error message to send)."""
    out_of_memory = False
    try:
        return action(), None
    except SyntaxError as exc:
        return None, _error(phase, f"{os.path.basename(exc.filename or '?')}:{exc.lineno}: syntax error: {exc.msg}")
    except SystemExit as exc:
        what = "exited at import" if phase == "import" else "called exit() instead of returning"
        return None, _error(phase, f"{what} (sys.exit({exc.code!r}))")
    except MemoryError:
        out_of_memory = True  # handled below, once the student's frames are released
    except BaseException as exc:  # noqa: BLE001 - everything a solution can do wrong
        text = describe_exception(exc)
        return None, _error(phase, f"failed to import: {text}" if phase == "import" else text)
    if out_of_memory:
        gc.collect()
    return None, {"op": "error", "phase": phase, "kind": "memory", "error": "ran out of memory"}


def _error(phase: str, text: str) -> dict[str, Any]:
    return {"op": "error", "phase": phase, "error": text}


def describe_exception(exc: BaseException) -> str:
    """"ValueError: message (solution.py:12, in connect)" — the innermost frame of the student's file."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    for fr in reversed(frames):
        if "/protolab/" not in fr.filename and "/scapy/" not in fr.filename:
            where = f" ({os.path.basename(fr.filename)}:{fr.lineno}, in {fr.name})"
            break
    try:
        text = str(exc) or "(no message)"
    except Exception:  # noqa: BLE001 - a hostile __str__
        text = "(unprintable message)"
    if len(text) > 300:
        text = text[:299] + "…"
    return f"{type(exc).__name__}: {text}{where}"


def _import(path: str):
    spec = importlib.util.spec_from_file_location(SOLUTION_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[SOLUTION_MODULE] = module
    spec.loader.exec_module(module)
    return module


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    try:
        channel.send(sock, message)
    except (OSError, channel.ChannelError, ValueError):
        pass  # the grader stopped listening: nothing left to tell
