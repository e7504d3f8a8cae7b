"""The iterative walk a resolver makes for one question, worked out from the zone data alone.

Starting at the root server, each server either refers the walker to the
servers of a deeper zone (with their addresses as glue, or without, when the
server's name lies in another zone: then that name is resolved first by a walk
of its own), or answers with AA=1. A CNAME chain that leaves the answering
server's zones is followed by a new walk for its target. An answer too large
for a plain 512-byte UDP message comes back truncated and is asked again over
TCP. Pure: labs build their expectations from this plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from .zones import DnsData, Record, Reply, absolute

UDP_LIMIT = 512  # bytes of a DNS message over UDP without EDNS
MAX_EXCHANGES = 40


class PlanError(ValueError):
    """The zone data does not lead to an answer (a lame or looping delegation)."""


@dataclass(frozen=True)
class Exchange:
    """One question to one server and what it answers."""

    server: str  # address asked
    node: str  # the node at that address
    qname: str
    qtype: str
    reply: Reply
    truncated: bool  # over UDP the answer comes back with TC=1: asked again over TCP
    purpose: str  # "question", "server address" (an NS name without glue) or "cname target"


@dataclass(frozen=True)
class Walk:
    qname: str
    qtype: str
    exchanges: tuple[Exchange, ...]

    @property
    def rcode(self) -> str:
        return self.final.reply.rcode

    @property
    def final(self) -> Exchange:
        return [e for e in self.exchanges if e.purpose != "server address"][-1]

    def answer(self) -> tuple[Record, ...]:
        """Every record of the answers to the question itself (the CNAME chain included), sorted."""
        records = {r for e in self.exchanges if e.purpose != "server address" and e.reply.aa for r in e.reply.answers}
        return tuple(sorted(records))


def plan_walk(data: DnsData, qname: str, qtype: str = "A", udp_limit: int = UDP_LIMIT) -> Walk:
    """The exchanges of a by-hand walk for qname/qtype from the first root server."""
    qname, qtype = absolute(qname), qtype.upper()
    exchanges: list[Exchange] = []
    _walk(data, qname, qtype, "question", exchanges, udp_limit)
    return Walk(qname, qtype, tuple(exchanges))


def _walk(data: DnsData, qname: str, qtype: str, purpose: str, out: list[Exchange], limit: int) -> Reply:
    name, why = qname, purpose
    for _ in range(8):  # CNAME restarts
        address = data.root_hints()[0][1]
        while True:
            if len(out) >= MAX_EXCHANGES:
                raise PlanError(f"resolving {qname} {qtype} takes more than {MAX_EXCHANGES} questions (a delegation loop?)")
            node = data.node_at(address)
            if node is None:
                raise PlanError(f"no node has address {address} (asked about {name})")
            reply = data.lookup(node, name, qtype)
            truncated = reply.kind != "referral" and reply.wire_size(name, qtype) > limit
            out.append(Exchange(address, node, name, qtype, reply, truncated, why))
            if reply.kind == "refused":
                raise PlanError(f"{node} ({address}) serves no zone containing {name}: a lame delegation")
            if reply.kind != "referral":
                break
            address = _server_address(data, reply, out, limit)
        target = reply.cname_target(name, qtype) if reply.kind == "answer" else None
        if target is None:
            return reply
        name, why = target, "cname target" if purpose == "question" else purpose
    raise PlanError(f"the CNAME chain of {qname} is longer than 8 links")


def _server_address(data: DnsData, referral: Reply, out: list[Exchange], limit: int) -> str:
    """The address of the first server of a referral: its glue, or a walk for its name."""
    for ns in referral.ns:
        if referral.glue.get(ns):
            return referral.glue[ns][0]
    ns = referral.ns[0]
    reply = _walk(data, ns, "A", "server address", out, limit)
    addresses = [value for owner, kind, value in reply.answers if kind == "A"]
    if not addresses:
        raise PlanError(f"the server name {ns} of {referral.referral} has no address")
    return addresses[0]
