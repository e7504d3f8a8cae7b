"""A longer minimum retransmission timeout in a node's kernel, for one peer only.

Linux retransmits an unacknowledged segment after its retransmission timeout
(RTO), at least `rto_min` (200 ms by default): a student who pauses or prints
between two hand-made segments makes the server send its FIN again. A route
may carry its own `rto_min` (`ip route ... rto_min 3000ms`); `RtoMin` adds a
host route to the peer with the same next hop as the kernel's own choice and
that metric, for the connections opened while it is in place, and on exit
removes it (or puts back the host route that was there), also after an error,
so a network kept up with `protolab up` is left as it was.

It cannot lengthen the wait before a SYN-ACK is sent again: that first
timeout (1 s) is the kernel's constant TCP_TIMEOUT_INIT, which no route
option changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from ..backends.base import NodeHandle
from ..errors import BackendError

MAX_RTO_MIN_MS = 120_000  # the kernel's TCP_RTO_MAX


@dataclass
class RtoMin:
    """`with RtoMin(web, client_ip, 3000):` web's kernel waits at least 3 s before sending again to client_ip."""

    node: NodeHandle
    peer: str
    ms: int
    spec: list[str] = field(default_factory=list)  # the host route added, in `ip route` words
    before: str = ""  # the host route to the peer that was there before ("": none)

    def __enter__(self) -> RtoMin:
        try:
            IPv4Address(self.peer)
        except ValueError:
            raise BackendError(f"cannot set rto_min in {self.node.name}: {self.peer!r} is not an IPv4 address") from None
        if not 1 <= self.ms <= MAX_RTO_MIN_MS:
            raise BackendError(f"cannot set rto_min in {self.node.name}: {self.ms} ms is not 1 to {MAX_RTO_MIN_MS}")
        chosen = self._ip("-j", "route", "get", self.peer)
        try:
            route = json.loads(chosen)[0]
        except (ValueError, IndexError, KeyError):
            raise BackendError(f"cannot set rto_min in {self.node.name}: no route to {self.peer}") from None
        self.spec = [f"{self.peer}/32", *(["via", route["gateway"]] if route.get("gateway") else []), "dev", route["dev"]]
        if route.get("prefsrc"):
            self.spec += ["src", route["prefsrc"]]
        self.before = self._ip("route", "show", "exact", f"{self.peer}/32").strip()
        self._ip("route", "replace", *self.spec, "rto_min", f"{self.ms}ms")
        return self

    def __exit__(self, *exc) -> None:
        if not self.spec:
            return
        spec, self.spec = self.spec, []
        if self.before:
            self._ip("route", "replace", *_parseable(self.before))
        else:
            self._ip("route", "del", *spec)

    def _ip(self, *args: str) -> str:
        result = self.node.run(["ip", *args])
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["ip failed"])[0]
            raise BackendError(f"cannot set rto_min in {self.node.name} (ip {' '.join(args)}): {first}")
        return result.stdout


def _parseable(shown: str) -> list[str]:
    """A route as `ip route show` prints it, in words `ip route replace` takes: it prints
    the kernel's always-locked rto_min as "rto_min lock 300ms" but reads only "rto_min 300ms"."""
    words = shown.split()
    return [w for i, w in enumerate(words) if not (w == "lock" and i and words[i - 1] == "rto_min")]


def route_rto_min_ms(node: NodeHandle, peer: str) -> int | None:
    """The rto_min (ms) of the node's host route to `peer`, or None if it has none (for tests and narration)."""
    shown = node.run(["ip", "-j", "-d", "route", "show", "exact", f"{peer}/32"])
    try:
        routes = json.loads(shown.stdout or "[]")
    except ValueError:
        return None
    for route in routes:
        for metric in route.get("metrics", ()):
            if isinstance(metric, dict) and "rto_min" in metric:
                return int(metric["rto_min"])
    return None
