"""Keep the client kernel from resetting a connection built by hand.

The client kernel has no socket for a handshake crafted with raw packets, so it
answers the server's SYN-ACK with a RST. The guard is an nftables table in the
client's namespace dropping outgoing RSTs of exactly one connection (4-tuple);
it is removed on exit, and dies with the namespace if the run crashes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from ..backends.base import NodeHandle
from ..errors import BackendError


@dataclass
class RstGuard:
    node: NodeHandle
    src: str
    sport: int
    dst: str
    dport: int
    table: str = field(default_factory=lambda: f"protolab_guard_{secrets.token_hex(3)}")
    active: bool = False

    def rules(self) -> str:
        return (
            f"table ip {self.table} {{\n"
            "  chain output {\n"
            "    type filter hook output priority 0; policy accept;\n"
            f"    ip saddr {self.src} ip daddr {self.dst} tcp sport {self.sport} tcp dport {self.dport} "
            "tcp flags & rst == rst counter drop\n"
            "  }\n}\n"
        )

    def __enter__(self) -> RstGuard:
        for port in (self.sport, self.dport):
            if not 0 <= port <= 65535:
                raise BackendError(f"cannot install the RST guard in {self.node.name}: port {port} is not 0 to 65535")
        result = self.node.run(["nft", "-f", "-"], input=self.rules())
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["nft failed"])[0]  # nft adds the rule and a caret line
            raise BackendError(f"cannot install the RST guard in {self.node.name}: {first}")
        self.active = True
        return self

    def __exit__(self, *exc) -> None:
        if self.active:
            self.node.run(["nft", "delete", "table", "ip", self.table])
            self.active = False
