"""Keep the client kernel from answering hand-made UDP with ICMP port unreachable.

A datagram sent from a raw socket has no UDP socket behind its source port, so
when the server answers, the client's kernel replies "port unreachable" and
the server's next sendto() on a connected socket may fail. The guard is an
nftables table in the client's namespace that drops exactly those errors: ICMP
destination unreachable / port unreachable from `src` to `dst` quoting a
datagram from dst:dport to src:sport. It is removed on exit (also after an
error) and dies with the namespace if the run crashes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from ..backends.base import NodeHandle
from ..errors import BackendError

# where the quoted datagram's ports sit, in bits from the start of the ICMP header:
# 8 bytes of ICMP header, then the quoted IP header (20 bytes: the kernel's own, no options)
QUOTED_SPORT_BIT = (8 + 20) * 8
QUOTED_DPORT_BIT = QUOTED_SPORT_BIT + 16


@dataclass
class PortUnreachableGuard:
    """`with PortUnreachableGuard(client, client_ip, client_port, web_ip, web_port): ...`"""

    node: NodeHandle
    src: str  # the hand-made side's address (the node the guard is in)
    sport: int  # its UDP port, which no socket holds
    dst: str  # the server's address
    dport: int  # the server's UDP port
    table: str = field(default_factory=lambda: f"protolab_udpguard_{secrets.token_hex(3)}")
    active: bool = False

    def rules(self) -> str:
        return (
            f"table ip {self.table} {{\n"
            "  chain output {\n"
            "    type filter hook output priority 0; policy accept;\n"
            f"    ip saddr {self.src} ip daddr {self.dst} icmp type destination-unreachable "
            f"icmp code port-unreachable @th,{QUOTED_SPORT_BIT},16 {self.dport} "
            f"@th,{QUOTED_DPORT_BIT},16 {self.sport} counter drop\n"
            "  }\n}\n"
        )

    def __enter__(self) -> PortUnreachableGuard:
        for port in (self.sport, self.dport):
            if not 1 <= port <= 65535:
                raise BackendError(f"cannot install the UDP guard in {self.node.name}: port {port} is not 1 to 65535")
        result = self.node.run(["nft", "-f", "-"], input=self.rules())
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["nft failed"])[0]
            raise BackendError(f"cannot install the UDP guard in {self.node.name}: {first}")
        self.active = True
        return self

    def dropped(self) -> int:
        """How many port-unreachable errors the guard has swallowed so far."""
        out = self.node.run(["nft", "list", "table", "ip", self.table]).stdout
        for line in out.splitlines():
            if "counter packets" in line:
                return int(line.split("counter packets")[1].split()[0])
        return 0

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self.node.run(["nft", "delete", "table", "ip", self.table])
            self.active = False
