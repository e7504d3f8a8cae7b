"""Enter a network namespace from the current thread, in-process.

A socket stays in the namespace it was created in, so one process can hold
sockets in many namespaces: enter, create the socket, leave. pyroute2's
pushns/setns/popns do the setns(2) calls (Python 3.11 has no os.setns).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

NETNS_DIR = "/run/netns"


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


@contextmanager
def entered(name: str, create: bool = False) -> Iterator[None]:
    """Run the body inside network namespace `name` (created if `create`)."""
    from pyroute2 import netns

    netns.pushns()
    try:
        netns.setns(name, flags=os.O_CREAT if create else 0, fork=False)
        yield
    finally:
        netns.popns()
