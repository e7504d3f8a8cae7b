"""A router's ICMP error counters: what its kernel sent, and what it held back.

Linux keeps a token bucket per destination host for ICMP errors. The lab
network clears `icmp_ratelimit` and `icmp_ratemask` on forwarding nodes (see
backends/netns.py), but the "no route" path (`ip_error`) still sends at most
one "unreachable" per second per sender (bursts of 5, `net.ipv4.route.error_cost`,
a host-wide setting the lab leaves alone). The counters tell a lab when the
kernel held one back.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.base import NodeHandle
from ..backends.nsenter import entered
from ..errors import BackendError


@dataclass(frozen=True)
class IcmpCounters:
    """A few of the node's kernel counters (`nstat` names in brackets)."""

    no_route: int  # packets dropped for lack of a route [IpExtInNoRoutes]
    dest_unreachable_sent: int  # [IcmpOutDestUnreachs]
    time_exceeded_sent: int  # [IcmpOutTimeExcds]

    @property
    def unreachable_held_back(self) -> bool:
        """(Of a difference of counters) a packet was dropped for lack of a route and no
        "unreachable" went out for it: the kernel's rate limit held the error back."""
        return self.no_route > 0 and self.dest_unreachable_sent == 0

    def __sub__(self, before: IcmpCounters) -> IcmpCounters:
        return IcmpCounters(
            self.no_route - before.no_route,
            self.dest_unreachable_sent - before.dest_unreachable_sent,
            self.time_exceeded_sent - before.time_exceeded_sent,
        )


def icmp_counters(node: NodeHandle) -> IcmpCounters:
    """The node's counters now (read from /proc inside its namespace)."""
    try:
        with entered(node.netns):
            snmp = parse_counters(_proc("net/snmp"))
            netstat = parse_counters(_proc("net/netstat"))
        return IcmpCounters(netstat["IpExt"]["InNoRoutes"], snmp["Icmp"]["OutDestUnreachs"], snmp["Icmp"]["OutTimeExcds"])
    except (OSError, ValueError, KeyError) as exc:
        raise BackendError(f"cannot read the IP counters of {node.name}: {exc}") from None


def parse_counters(text: str) -> dict[str, dict[str, int]]:
    """/proc/net/snmp or /proc/net/netstat: pairs of "Group: names" / "Group: values" lines."""
    groups: dict[str, dict[str, int]] = {}
    lines = [line.split() for line in text.splitlines() if line.strip()]
    for names, values in zip(lines[::2], lines[1::2]):
        if names[0] != values[0] or len(names) != len(values):
            raise ValueError(f"unexpected counter lines for {names[0]!r}")
        groups[names[0].rstrip(":")] = {n: int(v) for n, v in zip(names[1:], values[1:])}
    return groups


def _proc(path: str) -> str:
    # thread-self: the namespace this thread entered, not the process's
    with open(f"/proc/thread-self/{path}") as f:
        return f.read()

