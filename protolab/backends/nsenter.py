"""Enter a network namespace from the current thread, in-process.

A socket stays in the namespace it was created in, so one process can hold
sockets in many namespaces: enter, create the socket, leave. setns(2) acts on
the calling thread only. Entering an existing namespace is a plain libc call
(Python 3.11 has no os.setns); creating one uses pyroute2's netns helpers.
"""

from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager
from typing import Iterator

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def netns_path(name: str) -> str:
    """A namespace name under /run/netns, or a path (e.g. /proc/PID/ns/net) as is."""
    return name if name.startswith("/") else os.path.join(NETNS_DIR, name)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def entered(name: str, create: bool = False) -> Iterator[None]:
    """Run the body inside network namespace `name` (created if `create`)."""
    if create:
        from pyroute2 import netns

        netns.pushns()
        try:
            netns.setns(name, flags=os.O_CREAT, fork=False)
            yield
        finally:
            netns.popns()
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns_path(name), os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)
