"""Building the sandbox a student's call runs in: the privileged steps, in order.

Three processes take part, forked from the zygote (see zygote.py):

    keeper  leaves the zygote's mount, PID, IPC and UTS namespaces for new
            ones and forks the init; stays outside as the init's parent, so
            that its death (SIGKILL from the zygote) ends the sandbox.
    init    PID 1 of the new PID namespace: builds a new root file system,
            forks the student's process, reaps, reports how it ended, and
            exits, which makes the kernel kill whatever else is left.
    student the student's process: an unprivileged uid, one capability,
            no_new_privs, resource limits and a seccomp filter, in the node's
            network namespace (inherited from the zygote).

The new root holds read-only binds of the system and Python directories and
of the protolab package only; copies of a few files of /etc; a private /dev,
/proc (of the new PID namespace), /sys (of the node's network namespace),
/tmp (the scratch directory, the only writable place) and /submission (the
student's file). Everything else on the machine (home directories, the labs,
the run folder, the ledger, /run/netns, secrets in /etc) does not exist there.
"""

from __future__ import annotations

import os
import select
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import linux
from .limits import Limits

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = (
    "passwd", "group", "hosts", "host.conf", "nsswitch.conf", "resolv.conf", "protocols", "services",
    "ethertypes", "mime.types", "ld.so.cache", "ld.so.conf", "localtime", "os-release", "debian_version",
    "gai.conf", "networks",
)
ETC_FILE_MAX = 4 * 1024 * 1024
DEVICES = ("null", "zero", "full", "random", "urandom")
STAGING_CANDIDATES = ("/mnt", "/media", "/srv", "/opt", "/tmp", "/var/tmp", "/run")
SUBMISSION_DIR = "/submission"
SCRATCH_DIR = "/tmp"
UID_BASE = 1_000_000_000  # + the keeper's PID: a uid of its own for every sandbox, in no passwd file
SOURCE_MAX = 1024 * 1024


@dataclass(frozen=True)
class Layout:
    """What the new root shows, computed once in the zygote (before any student code exists)."""

    read_only: tuple[str, ...]  # directories bound read-only at the same path
    hidden: tuple[str, ...]  # paths masked by an empty directory if they lie inside one of those

    @classmethod
    def for_this_python(cls, hidden: tuple[str, ...]) -> Layout:
        import protolab

        paths = [p for p in SYSTEM_DIRS if os.path.lexists(p)]
        package = str(Path(protolab.__file__).resolve().parent)
        for path in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, package):
            real = os.path.realpath(path)
            if os.path.isdir(real) and not any(_inside(real, p) for p in paths):
                paths = [p for p in paths if not _inside(p, real)] + [real]
        hidden_real = (os.path.realpath(h) for h in hidden)
        masked = tuple(h for h in hidden_real if not any(_inside(p, h) for p in paths))  # never mask Python itself
        return cls(tuple(paths), masked)


def sandbox_uid(keeper_pid: int) -> int:
    return UID_BASE + keeper_pid


def build_root(layout: Layout, uid: int, limits: Limits, source_fd: int, filename: str,
               binds: Sequence[tuple[str, str]] = ()) -> None:
    """In the init, as root, in the new mount namespace: make the new root and enter it.

    `binds` are the lab's own folders (source on the machine, target in the new
    root), shown read-only: a web server lab's docroot."""
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)  # nothing of ours reaches the host
    root = _staging_point(layout.read_only)
    linux.mount("protolab-sandbox", root, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=4m,mode=755")
    for path in layout.read_only:
        _show(root, path)
    for path in layout.hidden:
        if any(_inside(path, shown) for shown in layout.read_only) and os.path.isdir(path):
            target = root + path
            linux.mount("protolab-hidden", target, "tmpfs", linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV, "size=4k,mode=555")
    _copy_etc(root)
    _make_dev(root, uid)
    os.makedirs(root + "/proc")
    linux.mount("proc", root + "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
    os.makedirs(root + "/sys")
    linux.mount("sysfs", root + "/sys", "sysfs", linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
    os.makedirs(root + SCRATCH_DIR, exist_ok=True)
    linux.mount("protolab-scratch", root + SCRATCH_DIR, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV,
                f"size={limits.scratch},mode=700,uid={uid},gid={uid}")
    for source, target in binds:
        if bind_problem(target):
            raise OSError(0, f"cannot show {source} at {target}: {bind_problem(target)}")
        os.makedirs(root + target, exist_ok=True)
        linux.mount(source, root + target, None, linux.MS_BIND | linux.MS_REC)
        linux.mount(None, root + target, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID
                    | linux.MS_NODEV | linux.MS_NOEXEC)
    os.makedirs(root + SUBMISSION_DIR)
    _write_submission(root + SUBMISSION_DIR + "/" + filename, source_fd)
    linux.mount(None, root, None, linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV, "size=4m,mode=755")
    os.chdir(root)
    linux.pivot_root(".", ".")  # the old root ends up stacked below the new one ...
    linux.umount2(".", linux.MNT_DETACH)  # ... and is gone from this namespace
    os.chdir("/")


RESERVED_TARGETS = ("/proc", "/sys", "/dev", "/etc", SCRATCH_DIR, SUBMISSION_DIR) + SYSTEM_DIRS


def bind_problem(target: str) -> str | None:
    """Why a lab's folder cannot be shown at `target` in the sandbox (None if it can)."""
    if not target.startswith("/") or os.path.normpath(target) != target or target == "/":
        return "the place must be an absolute, normalised path below /"
    if any(_inside(target, reserved) or _inside(reserved, target) for reserved in RESERVED_TARGETS):
        return "that place belongs to the sandbox itself"
    return None


def drop_privileges(uid: int, limits: Limits, timeout: float) -> None:
    """In the student's process, as root: become `uid` with only the lab's capabilities."""
    keep = frozenset(linux.CAPABILITY_NAMES[name] for name in limits.capabilities)
    linux.drop_bounding_set(keep)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    linux.prctl(linux.PR_SET_KEEPCAPS, 1)
    os.setresuid(uid, uid, uid)
    linux.set_capabilities(keep)
    linux.raise_ambient(keep)  # programs it runs (ping, a second Python) keep them too
    linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    from .limits import apply_rlimits

    apply_rlimits(limits, timeout)


def watch_parent(lifeline: int | None = None, expected_parent: int | None = None) -> None:
    """Die with the parent: SIGKILL when it goes, and leave now if it already has."""
    import signal

    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(70)
    if lifeline is not None and select.select([lifeline], [], [], 0)[0]:  # end of file: the writer is gone
        os._exit(70)


def close_fds_except(keep: set[int]) -> None:
    """Close every descriptor but `keep` (what the zygote or the lab held stays out of the sandbox)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _staging_point(sources: tuple[str, ...]) -> str:
    for candidate in STAGING_CANDIDATES:
        real = os.path.realpath(candidate)
        if os.path.isdir(real) and not os.path.islink(candidate) and not any(
            _inside(real, s) or _inside(s, real) for s in sources
        ):
            return real
    raise OSError(0, "no directory to build the sandbox's root in (tried " + ", ".join(STAGING_CANDIDATES) + ")")


def _show(root: str, path: str) -> None:
    """`path` at the same place in the new root: a symlink as a symlink, a directory bound read-only."""
    target = root + path
    if os.path.islink(path) and path in SYSTEM_DIRS:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(os.readlink(path), target)
        return
    os.makedirs(target, exist_ok=True)
    linux.mount(path, target, None, linux.MS_BIND)
    linux.mount(None, target, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV)


def _copy_etc(root: str) -> None:
    os.makedirs(root + "/etc", exist_ok=True)
    for name in ETC_FILES:
        source = "/etc/" + name
        try:
            info = os.stat(source)
            if not stat.S_ISREG(info.st_mode) or info.st_size > ETC_FILE_MAX:
                continue
            with open(source, "rb") as f:
                data = f.read(ETC_FILE_MAX)
        except OSError:
            continue
        with open(root + "/etc/" + name, "wb") as out:
            out.write(data)


def _make_dev(root: str, uid: int) -> None:
    dev = root + "/dev"
    os.makedirs(dev)
    linux.mount("protolab-dev", dev, "tmpfs", linux.MS_NOSUID, "size=64k,mode=755")
    for name in DEVICES:
        target = f"{dev}/{name}"
        open(target, "w").close()
        linux.mount(f"/dev/{name}", target, None, linux.MS_BIND)
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                       ("stderr", "/proc/self/fd/2")):
        os.symlink(link, f"{dev}/{name}")
    os.makedirs(dev + "/shm")  # POSIX semaphores and shared memory (multiprocessing needs them)
    linux.mount("protolab-shm", dev + "/shm", "tmpfs", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC,
                f"size=16m,mode=700,uid={uid},gid={uid}")
    linux.mount(None, dev, None, linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID, "size=64k,mode=755")


def _write_submission(path: str, source_fd: int) -> None:
    data = os.pread(source_fd, SOURCE_MAX + 1, 0)
    if len(data) > SOURCE_MAX:
        raise OSError(0, f"the solution file is larger than {SOURCE_MAX} bytes")
    with open(path, "wb") as out:
        out.write(data)
    os.chmod(path, 0o444)
