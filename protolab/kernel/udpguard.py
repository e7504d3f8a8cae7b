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

from dataclasses import dataclass

from .guard import NftGuard

# where the quoted datagram's ports sit, in bits from the start of the ICMP header:
# 8 bytes of ICMP header, then the quoted IP header (20 bytes: the kernel's own, no options)
QUOTED_SPORT_BIT = (8 + 20) * 8
QUOTED_DPORT_BIT = QUOTED_SPORT_BIT + 16


@dataclass
class PortUnreachableGuard(NftGuard):
    """`with PortUnreachableGuard(client, client_ip, client_port, web_ip, web_port): ...`
    (sport: the hand-made side's UDP port, which no socket holds; dport: the server's)"""

    what = "UDP guard"
    lowest_port = 1

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
