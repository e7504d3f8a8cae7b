"""The grader's side of confinement: one zygote per run, one sandbox per call.

`ConfinedSolution` starts the zygote in the student's node (it warms up while
the lab sets the stage), hands it each call with the call's own channel,
output pipe and report channel, serves the lab handles' requests during the
call, and turns whatever comes back — JSON only — into a `CallOutcome`. The
grader never imports the student's file and never runs a byte of its code.
"""

from __future__ import annotations

import ast
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import LabError, ProtolabError
from . import channel, codec
from .limits import MIB, Limits
from .sandbox import SOURCE_MAX

READY_TIMEOUT = 60.0  # seconds for the zygote to import its libraries (a cold disk can be slow)
FINISH_TIMEOUT = 2.0  # seconds for a sandbox to end after its call returned
DEFAULT_PREWARM = ("scapy.layers.inet", "scapy.layers.l2", "protolab.live.host", "protolab.live.sockets",
                   "protolab.kernel.tcpwatch", "protolab.wire.tcp", "protolab.live.endpoint")
PREWARM_ROOTS = ("scapy", "dns", "protolab")
SIGNAL_NAMES = {s.value: s.name for s in signal.Signals}


class ConfinementError(ProtolabError):
    """The sandbox could not be set up on this machine (an environment problem, never the student's)."""


class SolutionFileError(LabError):
    """The student's file cannot be handed in at all (too large, not a regular file): graded as a failure."""


@dataclass(frozen=True)
class CallOutcome:
    ok: bool
    value: Any = None
    error: str = ""  # what went wrong, phrased to follow "your connect() "
    seconds: float = 0.0
    unusable: bool = False  # the file could not be used at all: it did not import, or ended at import
    stopped: bool = False  # a background call the lab ended (start_call): a server's normal end
    imported: bool = True  # the student's file had been imported (False: it was still importing)


@dataclass
class OutputLog:
    """The head of what the student's processes printed, and how much there was in all."""

    limit: int
    head: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]

    @property
    def cut(self) -> int:
        return self.total - len(self.head)

    def text(self) -> str:
        return self.head.decode("utf-8", errors="backslashreplace")


@dataclass
class _Call:
    number: int
    chan: socket.socket
    report: socket.socket
    output: int | None  # read end of the output pipe, until end of file
    ended: dict | None = None


class ConfinedSolution:
    """A student's file, run confined in `node` — `call()` it like the student's function."""

    def __init__(self, path: Path, function: str, netns: str, node_name: str, *, limits: Limits = Limits(),
                 hide: Sequence[str] = ()) -> None:
        self.path, self.function, self.netns, self.node_name = Path(path), function, netns, node_name
        self.limits = limits
        self.source = read_solution(self.path)
        self.problems: list[str] = []  # found after a call had returned (processes left behind)
        self.output = OutputLog(limits.output)
        self.calls = 0
        self._hide = tuple(hide)
        self._zygote: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._ready = False
        self._pending: list[_Call] = []  # returned calls whose sandboxes may still be ending
        self._memfd: int | None = None
        self._background: BackgroundCall | None = None

    # -- life cycle --------------------------------------------------------
    def start(self) -> None:
        """Launch the zygote (it imports scapy and friends while the lab sets up)."""
        if self._zygote is not None:
            return
        ours, theirs = channel.pair()
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "MALLOC_ARENA_MAX": "2", "HOME": os.environ.get("HOME", "/root"),
               "PROTOLAB_HIDE": os.pathsep.join(self._hide)}
        path_entry = _package_parent_if_needed()
        if path_entry:
            env["PYTHONPATH"] = path_entry
        argv = [sys.executable, "-s", "-P", "-m", "protolab.confine.zygote", str(os.getpid()),
                str(theirs.fileno()), self.netns, *DEFAULT_PREWARM, *prewarm_modules(self.source)]
        try:
            self._zygote = subprocess.Popen(argv, pass_fds=(theirs.fileno(),), env=env, cwd="/",
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
        except OSError as exc:
            ours.close()
            raise ConfinementError(f"cannot start the sandbox's launcher: {exc}") from None
        finally:
            theirs.close()
        self._control = ours

    def finish_calls(self) -> None:
        """Wait for every returned call's sandbox to end (noting what it left behind)."""
        if self._background is not None:
            self._background.stop()
            self._background = None
        for call in self._pending:
            self._finish(call)
        self._pending.clear()

    def retarget(self, path: Path) -> None:
        """Serve another student's file (same lab, same node) from the same zygote.

        The zygote never runs a student's code, so it can serve a whole batch:
        each call still gets a sandbox of its own. What the previous file's
        calls left is finished first; its output and problems are forgotten."""
        self.finish_calls()
        self.path = Path(path)
        self.source = read_solution(self.path)
        self.problems = []
        self.output = OutputLog(self.limits.output)
        if self._memfd is not None:
            os.close(self._memfd)
            self._memfd = None

    def close(self) -> None:
        """Finish the last call, stop the zygote and every sandbox it still has."""
        self.finish_calls()
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote is not None:
            try:
                self._zygote.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._zygote.kill()
                self._zygote.wait()
            self._zygote = None
        if self._memfd is not None:
            os.close(self._memfd)
            self._memfd = None

    def __enter__(self) -> ConfinedSolution:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -------------------------------------------------------------
    def call(self, args: tuple, kwargs: dict, timeout: float, *, limits: Limits | None = None,
             binds: Mapping[str, str] | None = None) -> CallOutcome:
        """Run the student's function once, in a new sandbox; its import counts in `timeout`.

        `limits` replaces the lab's for this call; `binds` shows folders of the lab
        read-only in the sandbox ({place in the sandbox: folder on the machine})."""
        if self._background is not None and self._background.running:
            raise LabError("the lab calls the student's function while its server still runs: stop that first")
        call, handles, start = self._begin(args, kwargs, timeout, limits, binds)
        outcome = self._converse(call, handles, start + timeout, timeout)
        outcome = replace(outcome, seconds=time.monotonic() - start)
        self._pending.append(call)  # its sandbox ends on its own; close() collects what it reports
        return outcome

    def start_call(self, args: tuple, kwargs: dict, timeout: float, *, limits: Limits | None = None,
                   binds: Mapping[str, str] | None = None) -> BackgroundCall:
        """Start the student's function in a new sandbox and return at once (a server the lab then uses).

        The call runs exactly as `call()`'s would (same sandbox, same limits, the
        same `timeout`, here the longest it may run); the lab ends it with
        `BackgroundCall.stop()`. One at a time."""
        if self._background is not None and self._background.running:
            raise LabError("the lab starts the student's server twice: stop the first one before")
        before = _children(self._zygote.pid) if self._zygote is not None else set()
        call, handles, start = self._begin(args, kwargs, timeout, limits, binds)
        self._background = BackgroundCall(self, call, handles, start, timeout, before)
        return self._background

    def _begin(self, args: tuple, kwargs: dict, timeout: float, limits: Limits | None,
               binds: Mapping[str, str] | None) -> tuple[_Call, list[Any], float]:
        """Hand the zygote a new call: (the call, the lab's handles, when it started)."""
        self.start()
        self._wait_ready()
        limits = limits or self.limits
        handles: list[Any] = []
        try:
            spec = {
                "function": self.function, "filename": self.path.name, "timeout": timeout,
                "limits": limits.as_dict(), "binds": _binds(binds or {}),
                "args": codec.encode(tuple(args), handles), "kwargs": codec.encode(dict(kwargs), handles),
            }
        except codec.CodecError as exc:
            raise LabError(f"the lab passes the student's function something it cannot hand over: {exc}") from None
        sockets = [n for n, handle in enumerate(handles) if isinstance(handle, socket.socket)]
        for handle in handles:
            if isinstance(handle, socket.socket):
                self._check_socket(handle)
                continue
            node = getattr(handle, "name", self.node_name)
            if node != self.node_name:
                raise LabError(f"the lab hands the student a handle of {node}, but the student's code runs in {self.node_name}")
        spec["sockets"] = sockets
        if len(sockets) > channel.MAX_FDS - 4:
            raise LabError(f"the lab hands the student {len(sockets)} sockets; at most {channel.MAX_FDS - 4} can travel")
        self.calls += 1
        chan_ours, chan_theirs = channel.pair()
        report_ours, report_theirs = channel.pair()
        out_r, out_w = os.pipe()
        try:
            channel.send(self._control, {"op": "call", "id": self.calls, "spec": spec},
                         [self._source_fd(), chan_theirs.fileno(), report_theirs.fileno(), out_w,
                          *(handles[n].fileno() for n in sockets)])
        except OSError as exc:
            for sock in (chan_ours, report_ours):
                sock.close()
            os.close(out_r)
            raise ConfinementError(f"the sandbox's launcher is gone: {exc}") from None
        finally:
            chan_theirs.close()
            report_theirs.close()
            os.close(out_w)
        return _Call(self.calls, chan_ours, report_ours, out_r), handles, time.monotonic()

    def _check_socket(self, sock: socket.socket) -> None:
        """A socket handed to the student must be of its node: a socket acts in the namespace it was made in."""
        try:
            import fcntl

            ns = fcntl.ioctl(sock.fileno(), SIOCGSKNS)
            try:
                theirs = os.fstat(ns)
            finally:
                os.close(ns)
            ours = os.stat(self.netns)
        except OSError as exc:
            raise LabError(f"cannot tell which network the lab's socket belongs to: {exc.strerror or exc}") from None
        if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
            raise LabError(f"the lab hands the student a socket of another network than {self.node_name}'s")

    def _converse(self, call: _Call, handles: list[Any], deadline: float, timeout: float,
                  wake: int | None = None, on_imported: Callable[[], None] | None = None) -> CallOutcome:
        imported = False
        chan_open = True
        while True:
            watch = [call.report] + ([call.chan] if chan_open else []) + ([call.output] if call.output is not None else [])
            watch += [wake] if wake is not None else []
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill(call)
                what = "return" if imported else "finish importing"
                return CallOutcome(False, error=f"did not {what} within {timeout:g} s and was stopped", unusable=not imported)
            ready = select.select(watch, [], [], left)[0]
            if wake is not None and wake in ready:
                self._kill(call)
                return CallOutcome(False, error="was stopped by the lab", stopped=True, imported=imported)
            if call.output is not None and call.output in ready:
                self._read_output(call)
            if call.report in ready:
                call.ended = self._read_report(call)
                if not chan_open or call.chan not in ready:
                    return self._ended_without_result(call, imported, timeout)
            if chan_open and call.chan in ready:
                try:
                    message, fds = channel.receive(call.chan)
                except (OSError, channel.ChannelError) as exc:
                    self._kill(call)
                    return CallOutcome(False, error=f"sent something that is not a message of the lab ({exc}) and was stopped")
                for fd in fds:
                    os.close(fd)
                if message is None:
                    chan_open = False
                    deadline = min(deadline, time.monotonic() + FINISH_TIMEOUT)  # the report follows at once
                    if call.ended is not None:
                        return self._ended_without_result(call, imported, timeout)
                    continue
                op = message.get("op")
                if op == "imported":
                    imported = True
                    if on_imported is not None:
                        on_imported()
                elif op == "rpc":
                    self._serve(call, handles, message)
                elif op == "result":
                    try:
                        return CallOutcome(True, codec.decode(message.get("value"), types=False))
                    except (codec.CodecError, ValueError, TypeError) as exc:
                        return CallOutcome(False, error=f"returned a value that cannot be read back ({exc})")
                elif op == "error":
                    return self._error(message)

    def _serve(self, call: _Call, handles: list[Any], message: dict) -> None:
        number = message.get("handle")
        reply: Any = None
        if isinstance(number, int) and 0 <= number < len(handles) and hasattr(handles[number], "serve"):
            try:
                reply = handles[number].serve(codec.decode(message.get("request"), types=False))
            except (codec.CodecError, ValueError, TypeError, KeyError):
                reply = None  # a malformed request gets nothing
        try:
            channel.send(call.chan, {"reply": codec.encode(reply)})
        except OSError:
            pass

    def _error(self, message: dict) -> CallOutcome:
        text = str(message.get("error", "failed"))[:2000]
        phase = message.get("phase")
        if message.get("kind") == "memory":
            return CallOutcome(False, error=self._memory_text())
        if phase == "import":
            return CallOutcome(False, error=f"could not be used: {text}", unusable=True)
        if phase == "sandbox":
            raise ConfinementError(f"the sandbox could not be entered in {self.node_name}: {text}")
        if phase == "setup":
            raise ConfinementError(f"the lab's handles could not be opened in {self.node_name}: {text}")
        if phase == "result":
            return CallOutcome(False, error=text)
        if text.startswith("called exit()"):
            return CallOutcome(False, error=text)
        return CallOutcome(False, error=f"raised {text}")

    def _ended_without_result(self, call: _Call, imported: bool, timeout: float) -> CallOutcome:
        ended = call.ended or {}
        if ended.get("op") == "failed":
            raise ConfinementError(str(ended.get("error", "the sandbox could not be built"))[:500])
        when = "during the call" if imported else "at import"
        sig, code = ended.get("signal"), ended.get("exit")
        rss = int(ended.get("maxrss_kb") or 0) * 1024
        if isinstance(sig, int) and sig:
            if sig == signal.SIGXCPU:
                return CallOutcome(False, error=f"used more than {self.limits.cpu_limit(timeout)} s of CPU time and was stopped")
            if rss >= 0.9 * self.limits.memory:
                return CallOutcome(False, error=self._memory_text())
            return CallOutcome(False, error=f"was killed by signal {sig} ({SIGNAL_NAMES.get(sig, '?')}) {when}")
        if code is not None:
            return CallOutcome(False, error=f"exited {when} with code {code} instead of returning (exit() or os._exit())",
                               unusable=not imported)
        return CallOutcome(False, error=f"ended {when} without returning", unusable=not imported)

    def _memory_text(self) -> str:
        return f"used more than {self.limits.memory // MIB} MiB of memory and was stopped"

    def _finish(self, call: _Call) -> None:
        """Wait for a returned call's sandbox to end; note what it left behind; close its descriptors."""
        deadline = time.monotonic() + FINISH_TIMEOUT
        killed = False
        while call.ended is None or call.output is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                if killed:
                    break
                self._kill(call)
                killed, deadline = True, time.monotonic() + FINISH_TIMEOUT
                continue
            watch = ([call.report] if call.ended is None else []) + ([call.output] if call.output is not None else [])
            ready = select.select(watch, [], [], left)[0]
            if call.output is not None and call.output in ready:
                self._read_output(call)
            if call.ended is None and call.report in ready:
                call.ended = self._read_report(call) or {"op": "gone"}
        if call.output is not None:
            os.close(call.output)
            call.output = None
        call.chan.close()
        call.report.close()
        left = (call.ended or {}).get("left")
        if isinstance(left, int) and left > 0:
            self.problems.append(f"left {left} process{'es' if left > 1 else ''} running after it returned: "
                                 "they were stopped (a solution must not leave anything behind)")
        if killed:
            self.problems.append("kept running after it returned and was stopped")

    def _read_output(self, call: _Call) -> None:
        chunk = os.read(call.output, 65536)
        if chunk:
            self.output.add(chunk)
        else:
            os.close(call.output)
            call.output = None

    def _read_report(self, call: _Call) -> dict | None:
        try:
            message, fds = channel.receive(call.report)
        except (OSError, channel.ChannelError):
            return {"op": "gone"}
        for fd in fds:
            os.close(fd)
        return message if message is not None else {"op": "gone"}

    def _kill(self, call: _Call) -> None:
        if self._control is not None:
            try:
                channel.send(self._control, {"op": "kill", "id": call.number})
            except OSError:
                pass

    def _wait_ready(self) -> None:
        if self._ready:
            return
        deadline = time.monotonic() + READY_TIMEOUT
        while not select.select([self._control], [], [], max(0.0, deadline - time.monotonic()))[0]:
            if time.monotonic() >= deadline:
                raise ConfinementError(f"the sandbox's launcher did not start within {READY_TIMEOUT:g} s")
        try:
            message, _ = channel.receive(self._control)
        except (OSError, channel.ChannelError) as exc:
            raise ConfinementError(f"the sandbox's launcher failed: {exc}") from None
        if message is None or message.get("op") != "ready":
            error = (message or {}).get("error", "it exited at once")
            raise ConfinementError(f"the sandbox's launcher failed in {self.node_name}: {error}")
        self._ready = True

    def _source_fd(self) -> int:
        if self._memfd is None:
            self._memfd = os.memfd_create("protolab-solution", os.MFD_CLOEXEC)
            os.write(self._memfd, self.source)
        return self._memfd


SIOCGSKNS = 0x894C  # ioctl: a socket's network namespace, as a new descriptor


class BackgroundCall:
    """A call of the student's function running while the lab acts (a server): `stop()` ends it.

    A thread of the grader holds the call's conversation (answers the lab
    handles' requests, drains the output pipe, notices an early end); the
    student's code runs in its sandbox exactly as for a blocking call."""

    def __init__(self, owner: ConfinedSolution, call: _Call, handles: list[Any], start: float, timeout: float,
                 children_before: set[int]) -> None:
        self._owner, self._call, self._start = owner, call, start
        self._children_before = children_before
        self._keeper: int | None = None
        self._imported = threading.Event()
        self._done = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._outcome: CallOutcome | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, args=(handles, timeout), name="student-server", daemon=True)
        self._thread.start()

    def _run(self, handles: list[Any], timeout: float) -> None:
        try:
            outcome = self._owner._converse(self._call, handles, self._start + timeout, timeout, self._wake_r,
                                            self._imported.set)
        except ProtolabError as exc:  # the sandbox could not be built: said when the lab stops it
            outcome = CallOutcome(False, error=f"could not be started: {exc}")
        self._outcome = replace(outcome, seconds=time.monotonic() - self._start)
        self._done.set()

    @property
    def running(self) -> bool:
        """The student's function has neither returned nor ended, and the lab has not stopped it."""
        return not self._done.is_set()

    def wait_imported(self, timeout: float) -> bool:
        """Wait until the student's file is imported and its function called (False: it ended, or not yet)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self._imported.is_set() and not self._done.is_set():
            self._imported.wait(0.02)
        return self._imported.is_set() and not self._done.is_set()

    def keeper_pid(self, timeout: float = 1.0) -> int | None:
        """The call's keeper (its sandbox's uid is `sandbox_uid(keeper)`), or None if it is gone."""
        end = time.monotonic() + timeout
        while self._keeper is None and self._owner._zygote is not None:
            new = _children(self._owner._zygote.pid) - self._children_before
            if new:
                self._keeper = min(new)
            elif time.monotonic() >= end:
                break
            else:
                time.sleep(0.01)
        return self._keeper

    def uid(self) -> int | None:
        """The uid the student's processes run as (each sandbox has its own)."""
        from .sandbox import sandbox_uid

        keeper = self.keeper_pid()
        return sandbox_uid(keeper) if keeper is not None else None

    def stop(self) -> CallOutcome:
        """End the call if it still runs (its whole sandbox goes) and say how it ended."""
        if not self._stopped:
            self._stopped = True
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
            self._thread.join()
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._owner._pending.append(self._call)
        assert self._outcome is not None
        return self._outcome


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (from /proc: a keeper of the zygote)."""
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(name))
    return found


def _binds(binds: Mapping[str, str]) -> list[list[str]]:
    """{place in the sandbox: folder on the machine} as the spec carries it, checked here (the lab's mistake)."""
    from .sandbox import bind_problem

    out = []
    for target, source in binds.items():
        problem = bind_problem(target)
        if problem:
            raise LabError(f"the lab shows {source} at {target} in the sandbox: {problem}")
        if not os.path.isdir(source):
            raise LabError(f"the lab shows {source} in the sandbox, but it is not a folder")
        out.append([os.path.realpath(source), target])
    return out


def read_solution(path: Path) -> bytes:
    """The student's file as bytes: a regular file of at most 1 MiB (the grader never imports it)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise LabError(f"solution file {path} does not exist") from None
    except OSError as exc:
        raise LabError(f"cannot read solution file {path}: {exc.strerror}") from None
    import stat

    if not stat.S_ISREG(info.st_mode):
        raise LabError(f"solution file {path} is not a regular file")
    if info.st_size > SOURCE_MAX:
        raise SolutionFileError(f"{path.name} is larger than {SOURCE_MAX // 1024} KiB")
    try:
        with open(path, "rb") as f:
            data = f.read(SOURCE_MAX + 1)
    except OSError as exc:
        raise LabError(f"cannot read solution file {path}: {exc.strerror}") from None
    if len(data) > SOURCE_MAX:
        raise SolutionFileError(f"{path.name} is larger than {SOURCE_MAX // 1024} KiB")
    return data


def prewarm_modules(source: bytes) -> list[str]:
    """The scapy, dnspython and protolab modules the file imports (read from its syntax tree, never run)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return sorted({n for n in names if n.split(".")[0] in PREWARM_ROOTS and n.replace(".", "").replace("_", "").isalnum()})


def _package_parent_if_needed() -> str | None:
    """The folder holding protolab, when the package is not installed (run from a source tree)."""
    import protolab

    parent = str(Path(protolab.__file__).resolve().parents[1])
    site = [p for p in sys.path if "site-packages" in p or "dist-packages" in p]
    return None if any(os.path.realpath(p) == parent for p in site) or _installed() else parent


def _installed() -> bool:
    from importlib import metadata

    try:
        metadata.distribution("protolab")
        return True
    except metadata.PackageNotFoundError:
        return False
