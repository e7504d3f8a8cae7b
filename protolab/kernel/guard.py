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
class NftGuard:
    """An nftables table in one node for one flow, installed on entry and deleted on exit.

    A subclass gives `rules()` (the whole table), `what` (for messages) and the
    lowest port its flow may use."""

    node: NodeHandle
    src: str  # the hand-made side's address (the node the guard is in)
    sport: int
    dst: str  # the server's address
    dport: int
    table: str = field(default_factory=lambda: f"protolab_guard_{secrets.token_hex(3)}")
    active: bool = False

    what = "guard"
    lowest_port = 0

    def rules(self) -> str:
        raise NotImplementedError

    def __enter__(self):
        for port in (self.sport, self.dport):
            if not self.lowest_port <= port <= 65535:
                raise BackendError(f"cannot install the {self.what} in {self.node.name}: "
                                   f"port {port} is not {self.lowest_port} to 65535")
        result = self.node.run(["nft", "-f", "-"], input=self.rules())
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["nft failed"])[0]  # nft adds the rule and a caret line
            raise BackendError(f"cannot install the {self.what} in {self.node.name}: {first}")
        self.active = True
        return self

    def dropped(self) -> int:
        """How many packets the guard has dropped so far."""
        out = self.node.run(["nft", "list", "table", "ip", self.table]).stdout
        for line in out.splitlines():
            if "counter packets" in line:
                return int(line.split("counter packets")[1].split()[0])
        return 0

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self.node.run(["nft", "delete", "table", "ip", self.table])
            self.active = False


@dataclass
class RstGuard(NftGuard):
    """`with RstGuard(client, client_ip, client_port, web_ip, web_port): ...`"""

    what = "RST guard"

    def rules(self) -> str:
        return (
            f"table ip {self.table} {{\n"
            "  chain output {\n"
            "    type filter hook output priority 0; policy accept;\n"
            f"    ip saddr {self.src} ip daddr {self.dst} tcp sport {self.sport} tcp dport {self.dport} "
            "tcp flags & rst == rst counter drop\n"
            "  }\n}\n"
        )
