"""The kernel settings of every lab node, the same whichever backend runs it."""

from __future__ import annotations

from ..topology.model import Node

# No IPv6: its router and neighbour solicitations would clutter every capture.
QUIET = {
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}
# A router owes an ICMP error for every TTL expiry or missing route: each is a lab event.
FORWARDING = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.icmp_ratelimit": "0",
    "net.ipv4.icmp_ratemask": "0",
}


def node_sysctls(node: Node) -> dict[str, str]:
    """Dotted sysctl name → value for one node."""
    return {**QUIET, **(FORWARDING if node.forwarding else {"net.ipv4.ip_forward": "0"})}

