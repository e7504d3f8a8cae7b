"""Kernel settings (sysctls) of a network namespace, read and written through /proc/sys.

Names are given as sysctl(8) takes them: dotted ("net.ipv4.ip_forward"), or
with slashes when a part holds a dot itself ("net/ipv4/conf/eth0.5/arp_accept").
/proc/sys/net shows the namespace of the thread that opens it: the plain
functions act where the calling thread is, `changed_sysctls` enters a node's.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Mapping

from ..backends.nsenter import entered
from ..errors import BackendError

if TYPE_CHECKING:
    from ..backends.base import NodeHandle

PROC_SYS = "/proc/sys"


def sysctl_path(name: str) -> str:
    """"net.ipv4.ip_forward" → "/proc/sys/net/ipv4/ip_forward" (a name with slashes is taken as it is)."""
    relative = name if "/" in name else name.replace(".", "/")
    return f"{PROC_SYS}/{relative.strip('/')}"


def read_sysctl(name: str) -> str:
    """The value of a sysctl of the calling thread's namespace (OSError if it has none)."""
    with open(sysctl_path(name)) as f:
        return f.read().strip()


def write_sysctls(settings: Mapping[str, str | int], where: str = "") -> dict[str, str]:
    """Write sysctls of the calling thread's namespace, in order; returns what they were.

    A value the kernel refuses is a one-line BackendError (naming `where`),
    raised after the ones already changed are written back."""
    before: dict[str, str] = {}
    for name, value in settings.items():
        try:
            with open(sysctl_path(name), "r+") as f:
                old = f.read().strip()
                f.seek(0)
                f.write(str(value))
        except OSError as exc:
            _restore(before)
            place = f" in {where}" if where else ""
            raise BackendError(f"cannot set {name}={value}{place}: {exc.strerror or exc}") from None
        before[name] = old
    return before


def _restore(before: Mapping[str, str]) -> None:
    for name, value in reversed(list(before.items())):
        try:
            with open(sysctl_path(name), "w") as f:
                f.write(value)
        except OSError:
            pass  # best effort: the namespace goes with the run anyway


@contextmanager
def changed_sysctls(node: NodeHandle, settings: Mapping[str, str | int]) -> Iterator[dict[str, str]]:
    """Sysctls of a node set for the length of a `with` block, then written back; yields what they were."""
    with entered(node.netns):
        before = write_sysctls(settings, node.name)
    try:
        yield before
    finally:
        with entered(node.netns):
            _restore(before)
