"""The Host of a machine whose interface has no address yet (before DHCP has given it one).

It is a plain `Host` (see host.py) in every way a student uses it, except that
`ip` is "0.0.0.0" and `gateway` is None, on the lab's side and in the student's
sandbox alike: unset source addresses of hand-made packets are then 0.0.0.0,
as a machine without an address must send them. The node's kernel has no
address either (the lab takes it off: kernel.addresses.unconfigured).
"""

from __future__ import annotations

from ..backends.base import NodeHandle
from .host import Host

NO_ADDRESS = "0.0.0.0"


class BareHost(Host):
    """A Host without an IPv4 address or a gateway."""

    def __init__(self, handle: NodeHandle, iface: str | None = None) -> None:
        super().__init__(handle, iface)
        self.ip = NO_ADDRESS
        self.gateway = None

    def facts(self) -> dict:
        facts = super().facts()
        facts["gateway"] = None
        facts["interfaces"] = [[name, lan, NO_ADDRESS, mac] for name, lan, _ip, mac in facts["interfaces"]]
        return facts
