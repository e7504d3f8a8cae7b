"""The zygote: a fresh interpreter in the student's node that forks one sandbox per call.

Started by the grader (`python -s -P -m protolab.confine.zygote GRADER_PID
CONTROL_FD NETNS [MODULE ...]`) with one control socket. It enters the node's network
namespace, imports the libraries a solution will use (scapy, dnspython: a
second each, paid once per run instead of once per call), and waits. It never
imports a lab, so nothing of the reference solution is in the memory its
children inherit.

Control messages (JSON, see channel.py):
  grader → zygote  {"op": "call", "id": N, "spec": {...}} with four fds:
                   the solution's source (a memfd), the call's channel, the
                   init's report channel, and the write end of the output pipe;
                   then one per socket the lab hands over (spec["sockets"]:
                   sockets of this node, such as a server's bound listener)
                   {"op": "kill", "id": N}   end that call's sandbox now
  zygote → grader  {"op": "ready"}, or {"op": "failed", "error": "..."}

The init's report channel carries one message when the student's process has
ended: {"op": "ended", "exit": code or null, "signal": n or null,
"maxrss_kb": n, "cpu_s": x, "left": n} — or {"op": "failed", "error": ...}
if the sandbox could not be built.
"""

from __future__ import annotations

import importlib
import os
import select
import signal
import socket
import sys
import time

from . import channel, linux
from .limits import Limits
from .inside import run_call
from .sandbox import (SCRATCH_DIR, SUBMISSION_DIR, Layout, build_root, close_fds_except, drop_privileges,
                      sandbox_uid, watch_parent)
from .syscalls import install_filter

PREWARM_ALLOWED = ("scapy", "dns", "protolab")
KEEPER_FAILED = 71


def main(argv: list[str]) -> int:
    grader, control_fd, netns, modules = int(argv[0]), int(argv[1]), argv[2], argv[3:]
    control = socket.socket(fileno=control_fd)
    try:
        watch_parent(expected_parent=grader)
        fd = os.open(netns, os.O_RDONLY)
        try:
            linux.setns(fd, linux.CLONE_NEWNET)
        finally:
            os.close(fd)
        hidden = tuple(p for p in os.environ.get("PROTOLAB_HIDE", "").split(os.pathsep) if p)
        layout = Layout.for_this_python(hidden)
        _prewarm(modules)
    except Exception as exc:  # noqa: BLE001 - reported to the grader as one line
        channel.send(control, {"op": "failed", "error": f"{type(exc).__name__}: {exc}"})
        return 1
    channel.send(control, {"op": "ready"})
    keepers: dict[int, int] = {}  # call id → keeper pid, until reaped
    while True:
        _reap(keepers)
        if not select.select([control], [], [], 0.5)[0]:
            continue
        try:
            message, fds = channel.receive(control)
        except (OSError, channel.ChannelError):
            message, fds = None, []
        if message is None:
            break
        if message.get("op") == "call" and len(fds) == 4 + len(message["spec"].get("sockets", ())):
            spec = {**message["spec"], "socket_fds": fds[4:]}  # the lab's sockets, same numbers in every child
            keepers[int(message["id"])] = _start_keeper(control, spec, fds, layout)
            for fd in fds:
                os.close(fd)
        elif message.get("op") == "kill":
            pid = keepers.get(int(message.get("id", -1)))
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
        else:
            for fd in fds:
                os.close(fd)
    for pid in keepers.values():
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while keepers and time.monotonic() < deadline:
        _reap(keepers)
        time.sleep(0.005)
    return 0


def _prewarm(modules: list[str]) -> None:
    for name in modules:
        if name.split(".")[0] in PREWARM_ALLOWED:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the student's import will say what is wrong
                pass


def _reap(keepers: dict[int, int]) -> None:
    for call, pid in list(keepers.items()):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done == pid:
            del keepers[call]


def _start_keeper(control: socket.socket, spec: dict, fds: list[int], layout: Layout) -> int:
    zygote = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = KEEPER_FAILED
    try:
        source, call, report, output = fds[:4]
        close_fds_except(set(fds))
        watch_parent(expected_parent=zygote)
        uid = sandbox_uid(os.getpid())
        linux.unshare(linux.CLONE_NEWNS | linux.CLONE_NEWPID | linux.CLONE_NEWIPC | linux.CLONE_NEWUTS)
        lifeline_r, lifeline_w = os.pipe()
        init = os.fork()
        if init == 0:
            os.close(lifeline_w)
            _init(spec, layout, uid, source, call, report, output, lifeline_r)
        for fd in (lifeline_r, *fds):
            os.close(fd)
        _, status = os.waitpid(init, 0)
        code = 0
    except BaseException as exc:  # noqa: BLE001 - a keeper never returns into the zygote's loop
        _report_failure(fds[2], f"could not start the sandbox: {exc}")
    finally:
        os._exit(code)


def _init(spec: dict, layout: Layout, uid: int, source: int, call: int, report: int, output: int, lifeline: int) -> None:
    """PID 1 of the sandbox: build the root, start the student's process, report how it ended."""
    code = 0
    try:
        watch_parent(lifeline=lifeline)
        os.close(lifeline)
        limits = Limits.from_dict(spec["limits"])
        filename = os.path.basename(spec["filename"]) or "solution.py"
        build_root(layout, uid, limits, source, filename, [tuple(b) for b in spec.get("binds", ())])
        os.close(source)
        timeout = float(spec["timeout"])
        sockets = [int(fd) for fd in spec.get("socket_fds", ())]
        student = os.fork()
        if student == 0:
            os.close(report)
            _student(spec, uid, limits, timeout, call, output, f"{SUBMISSION_DIR}/{filename}", sockets)
        for fd in (call, output, *sockets):
            os.close(fd)
        linux.set_capabilities(frozenset({linux.CAP_KILL}))  # the init needs nothing more now
        linux.prctl(linux.PR_SET_DUMPABLE, 0)
        ended = _wait_student(student)
        try:
            channel.send(socket.socket(fileno=report), ended)
        except OSError:
            pass
    except BaseException as exc:  # noqa: BLE001
        _report_failure(report, f"could not build the sandbox: {exc}")
        code = 1
    finally:
        os._exit(code)


def _wait_student(student: int) -> dict:
    """Reap until the student's process ends; then stop and count whatever else is left."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return {"op": "ended", "exit": None, "signal": None, "maxrss_kb": 0, "cpu_s": 0.0, "left": 0}
        if pid == student:
            break
    left = [p for p in os.listdir("/proc") if p.isdigit() and p != "1" and not _zombie(p)]
    if left:
        os.kill(-1, signal.SIGKILL)  # from PID 1: every other process of this namespace
        while True:
            try:
                os.wait4(-1, 0)
            except ChildProcessError:
                break
    return {
        "op": "ended",
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "maxrss_kb": usage.ru_maxrss,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "left": len(left),
    }


def _zombie(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True  # gone already


def _student(spec: dict, uid: int, limits: Limits, timeout: float, call: int, output: int, path: str,
             sockets: list[int]) -> None:
    """The student's process: drop everything, then run their code."""
    code = 0
    sock = socket.socket(fileno=call)
    try:
        _enter_student_state(uid, limits, timeout, output, call, sockets)
    except BaseException as exc:  # noqa: BLE001 - the sandbox is broken, not the student's code
        _report_setup_failure(sock, exc)
        os._exit(1)
    try:
        run_call(sock, {**spec, "path": path})
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
    except BaseException:  # noqa: BLE001 - never back into the init's code
        code = 1
    finally:
        os._exit(code)


def _enter_student_state(uid: int, limits: Limits, timeout: float, output: int, call: int, sockets: list[int]) -> None:
    null = os.open("/dev/null", os.O_RDONLY)  # may itself be 0: the keeper closed 0-2
    for source, target in ((null, 0), (output, 1), (output, 2)):
        if source != target:
            os.dup2(source, target)
    for fd in {null, output} - {0, 1, 2}:
        os.close(fd)
    close_fds_except({0, 1, 2, call, *sockets})  # the lab's sockets of this node (a server's listener) stay
    os.chdir(SCRATCH_DIR)
    os.environ.clear()
    os.environ.update({"HOME": SCRATCH_DIR, "TMPDIR": SCRATCH_DIR, "PATH": "/usr/local/bin:/usr/bin:/bin",
                       "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file too large is an error to handle, not a kill
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="backslashreplace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="backslashreplace")
    sys.stdin = open(0, "r", closefd=False)
    drop_privileges(uid, limits, timeout)
    install_filter()


def _report_setup_failure(sock: socket.socket, exc: BaseException) -> None:
    try:
        channel.send(sock, {"op": "error", "phase": "sandbox", "error": f"{type(exc).__name__}: {exc}"})
    except BaseException:  # noqa: BLE001
        pass


def _report_failure(fd: int, text: str) -> None:
    try:
        channel.send(socket.socket(fileno=os.dup(fd)), {"op": "failed", "error": text})
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
