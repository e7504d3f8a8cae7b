"""The path MTU a node's kernel has learned, and forgetting it.

When a router answers a packet with ICMP "fragmentation needed", the sender's
kernel notes the smaller MTU for that destination in its route cache (for
10 minutes: net.ipv4.route.mtu_expires) and sizes every later packet to it.
On a network kept up between runs the note carries over, so a lab that shows
path MTU discovery forgets it first:

    forget_pmtu(client)                   # ip route flush cache
    ...
    learned_pmtu(client, "10.0.3.80")     # 1400 once the router's error arrived; None before
"""

from __future__ import annotations

import re

from ..backends.base import NodeHandle
from ..errors import BackendError

_CACHED_MTU = re.compile(r"\bcache\b.*?\bmtu (\d+)")


def forget_pmtu(node: NodeHandle) -> None:
    """Empty the node's route cache: every learned path MTU is forgotten."""
    done = node.run(["ip", "route", "flush", "cache"])
    if done.returncode != 0:
        raise BackendError(f"cannot flush the route cache of {node.name}: {done.stderr.strip() or 'ip failed'}")


def learned_pmtu(node: NodeHandle, destination: str) -> int | None:
    """The path MTU the node's kernel has learned for `destination`, or None if it learned none."""
    done = node.run(["ip", "-o", "route", "get", destination])
    if done.returncode != 0:
        raise BackendError(f"cannot look up the route of {node.name} to {destination}: {done.stderr.strip() or 'ip failed'}")
    return parse_cached_mtu(done.stdout)


def parse_cached_mtu(shown: str) -> int | None:
    """The MTU of the cache part of `ip route get` output, or None.

    '10.0.3.80 via 10.0.1.1 dev eth0 src 10.0.1.10 uid 0 \\    cache expires 599sec mtu 1400' → 1400"""
    found = _CACHED_MTU.search(shown)
    return int(found.group(1)) if found else None
