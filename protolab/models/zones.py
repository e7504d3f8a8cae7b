"""The lab's DNS data: which node serves which zone, read from zone files beside the topology.

A node serves zones through a service entry in the topology file:

    [nodes.auth]
    services = [{ kind = "nsd", zones = ["example.lab.", "shop.lab."] }]

    [nodes.resolver]
    services = [{ kind = "unbound" }]

Each zone's data is an ordinary zone file in `zones/` beside the topology file,
named after the zone: `root.zone` for ".", `example.lab.zone` for example.lab.
An instructor adds a domain by writing its zone file, delegating it in the
parent zone and naming it in a node's `zones` list: no Python changes.

`DnsData.lookup` answers a question the way an authoritative server holding
those zones does (referral, answer, CNAME chain, NXDOMAIN, NODATA). It is pure
and is what a lab's expectations are computed from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import dns.exception
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

from ..errors import TopologyError
from ..topology.loader import default_path
from ..topology.model import Topology

ZONE_SERVER_KINDS = frozenset({"nsd"})
RESOLVER_KINDS = frozenset({"unbound"})
CNAME_LIMIT = 8

Record = tuple[str, str, str]  # (owner, type, value) as dnspython writes them: ("www.example.lab.", "A", "10.0.2.80")


def zone_file_name(origin: str) -> str:
    """"." → "root.zone", "example.lab." → "example.lab.zone"."""
    return "root.zone" if origin == "." else f"{origin}zone"


def zones_dir(topology: Topology) -> Path:
    """The `zones/` folder beside the topology file (the packaged one's for the default,
    the base's for a file that extends one and has none of its own)."""
    if topology.files_dir:
        return Path(topology.files_dir) / "zones"
    source = Path(topology.source) if topology.source else default_path()
    if not source.is_file():
        source = default_path()
    return source.parent / "zones"


def absolute(name: str) -> str:
    """A domain name in canonical text: lower case, with the final dot."""
    return dns.name.from_text(name).to_text().lower()


@dataclass(frozen=True)
class Zone:
    origin: str  # "example.lab."
    node: str  # the node whose server holds it
    path: Path
    data: dns.zone.Zone = field(compare=False, repr=False)

    def rrset(self, name: str, rdtype: str) -> dns.rrset.RRset | None:
        node = self.data.get_node(dns.name.from_text(name))
        if node is None:
            return None
        rdataset = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
        if rdataset is None:
            return None
        return dns.rrset.from_rdata_list(dns.name.from_text(name), rdataset.ttl, list(rdataset))

    def records(self, name: str, rdtype: str) -> tuple[Record, ...]:
        return rrset_records(self.rrset(name, rdtype))

    def has_name(self, name: str) -> bool:
        """The name exists: it owns records or has names below it (an empty non-terminal)."""
        wanted = dns.name.from_text(name)
        return any(owner == wanted or owner.is_subdomain(wanted) for owner in self.data.nodes)

    @property
    def soa(self) -> Record:
        return self.records(self.origin, "SOA")[0]


@dataclass(frozen=True)
class Reply:
    """What an authoritative server says to one question."""

    kind: str  # "referral", "answer", "nxdomain", "nodata" or "refused"
    zone: str  # the zone it answered from
    answers: tuple[Record, ...] = ()
    referral: str = ""  # the delegated zone (referrals)
    ns: tuple[str, ...] = ()  # the delegated zone's server names (referrals)
    glue: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    soa: Record | None = None  # in the authority section (nxdomain, nodata)

    @property
    def aa(self) -> bool:
        return self.kind in ("answer", "nxdomain", "nodata")

    @property
    def rcode(self) -> str:
        return {"nxdomain": "NXDOMAIN", "refused": "REFUSED"}.get(self.kind, "NOERROR")

    def authority(self) -> tuple[Record, ...]:
        if self.kind == "referral":
            return tuple(sorted((self.referral, "NS", ns) for ns in self.ns))
        return (self.soa,) if self.soa else ()

    def cname_target(self, qname: str, qtype: str) -> str | None:
        """Where a CNAME chain in the answer leads when the answer stops before the records asked for."""
        if qtype == "CNAME":
            return None
        name, hops = absolute(qname), 0
        cnames = {owner: value for owner, kind, value in self.answers if kind == "CNAME"}
        while name in cnames and hops < CNAME_LIMIT:
            name, hops = absolute(cnames[name]), hops + 1
        if name == absolute(qname) or any(owner == name and kind == qtype for owner, kind, _ in self.answers):
            return None
        return name

    def wire_size(self, qname: str, qtype: str) -> int:
        """Bytes of the answer as a server would send it (question, answer, authority)."""
        query = dns.message.make_query(qname, qtype)
        message = dns.message.make_response(query)
        for section, records in ((message.answer, self.answers), (message.authority, self.authority())):
            for owner, kind, value in records:
                rrset = dns.rrset.from_text(owner, 3600, "IN", kind, value)
                section.append(rrset)
        return len(message.to_wire())


def rrset_records(rrset: dns.rrset.RRset | None) -> tuple[Record, ...]:
    if rrset is None:
        return ()
    owner, kind = rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype)
    return tuple(sorted((owner, kind, rdata.to_text()) for rdata in rrset))


@dataclass(frozen=True)
class DnsData:
    """Every zone of a topology, who serves it, and where the resolvers run."""

    zones: tuple[Zone, ...]
    resolvers: tuple[str, ...]
    addresses: Mapping[str, str]  # node name → its address

    @classmethod
    def from_topology(cls, topology: Topology, directory: Path | None = None) -> DnsData:
        directory = directory or zones_dir(topology)
        zones: list[Zone] = []
        resolvers: list[str] = []
        for node in topology.nodes:
            for service in node.services:
                if service.kind in RESOLVER_KINDS:
                    resolvers.append(node.name)
                if service.kind not in ZONE_SERVER_KINDS:
                    continue
                names = service.options.get("zones")
                where = f"node '{node.name}' {service.kind} service"
                if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                    raise TopologyError(f"{where}: 'zones' must be a non-empty list of zone names")
                zones.extend(load_zone(_origin(name, where), node.name, directory, where) for name in names)
        seen: dict[str, str] = {}
        for zone in zones:
            if zone.origin in seen:
                raise TopologyError(f"zone {zone.origin} is served by both '{seen[zone.origin]}' and '{zone.node}' (one server per zone)")
            seen[zone.origin] = zone.node
        addresses = MappingProxyType({n.name: str(n.ip) for n in topology.nodes})
        data = cls(tuple(zones), tuple(resolvers), addresses)
        if zones and "." not in seen:
            raise TopologyError("no node serves the root zone '.' (a service entry with zones = [\".\"])")
        return data

    # -- who serves what ---------------------------------------------------------
    def zone(self, origin: str) -> Zone:
        origin = absolute(origin)
        for zone in self.zones:
            if zone.origin == origin:
                return zone
        raise KeyError(origin)

    def served_by(self, node: str) -> tuple[Zone, ...]:
        return tuple(z for z in self.zones if z.node == node)

    @property
    def servers(self) -> tuple[str, ...]:
        """Nodes that serve zones, in topology order."""
        return tuple(dict.fromkeys(z.node for z in self.zones))

    @property
    def resolver_address(self) -> str:
        """The address of the first resolver node (the one a lab's client asks)."""
        if not self.resolvers:
            raise TopologyError("the topology runs no DNS resolver (an unbound service)")
        return self.addresses[self.resolvers[0]]

    def node_at(self, address: str) -> str | None:
        return next((node for node, ip in self.addresses.items() if ip == address), None)

    def root_hints(self) -> tuple[tuple[str, str], ...]:
        """(server name, address) of the root zone's servers, from the root zone itself."""
        root = self.zone(".")
        hints = []
        for _, _, ns in root.records(".", "NS"):
            for _, _, address in root.records(ns, "A"):
                hints.append((absolute(ns), address))
        if not hints:
            raise TopologyError(f"{root.path}: the root zone names no server with an address (NS and A records at '.')")
        return tuple(hints)

    # -- answering like an authoritative server ---------------------------------
    def lookup(self, node: str, qname: str, qtype: str) -> Reply:
        """What the server in `node` answers to `qname qtype` (RD=0)."""
        qname, qtype = absolute(qname), qtype.upper()
        zone = self._best_zone(node, qname)
        if zone is None:
            return Reply("refused", "")
        chain: list[Record] = []
        for _ in range(CNAME_LIMIT):
            cut = _delegation(zone, qname)
            if cut is not None:
                if chain:  # the chain leads into a delegated zone: the chain alone is the answer
                    return Reply("answer", zone.origin, tuple(chain))
                referral, ns = cut
                glue = {n: tuple(v for _, _, v in zone.records(n, "A")) for n in ns if _under(n, zone.origin)}
                return Reply("referral", zone.origin, (), referral, ns, MappingProxyType({k: v for k, v in glue.items() if v}))
            wanted = zone.records(qname, qtype)
            if wanted:
                return Reply("answer", zone.origin, tuple(chain) + wanted)
            cname = zone.records(qname, "CNAME")
            if cname and qtype != "CNAME":
                chain.extend(cname)
                target = absolute(cname[0][2])
                following = self._best_zone(node, target)
                if following is None:  # a zone this server does not hold: the chain stops here
                    return Reply("answer", zone.origin, tuple(chain))
                zone, qname = following, target
                continue
            kind = "nodata" if zone.has_name(qname) else "nxdomain"
            return Reply(kind, zone.origin, tuple(chain), soa=zone.soa)
        return Reply("answer", zone.origin, tuple(chain))

    def _best_zone(self, node: str, qname: str) -> Zone | None:
        """The deepest zone the node serves that contains qname."""
        held = [z for z in self.served_by(node) if _under(qname, z.origin)]
        return max(held, key=lambda z: len(dns.name.from_text(z.origin)), default=None)


def load_zone(origin: str, node: str, directory: Path, where: str = "") -> Zone:
    path = directory / zone_file_name(origin)
    try:
        data = dns.zone.from_file(str(path), origin=origin, relativize=False)
    except FileNotFoundError:
        raise TopologyError(f"{where}: zone {origin} has no zone file {path}") from None
    except OSError as exc:
        raise TopologyError(f"cannot read zone file {path}: {exc.strerror or exc}") from None
    except dns.exception.DNSException as exc:
        raise TopologyError(f"zone file {path}: {exc}") from None
    return Zone(origin, node, path, data)


def _origin(name: str, where: str) -> str:
    try:
        return absolute(name)
    except dns.exception.DNSException as exc:
        raise TopologyError(f"{where}: {name!r} is not a zone name ({exc})") from None


def _under(name: str, origin: str) -> bool:
    return dns.name.from_text(name).is_subdomain(dns.name.from_text(origin))


def _delegation(zone: Zone, qname: str) -> tuple[str, tuple[str, ...]] | None:
    """The highest zone cut between the zone's apex (excluded) and qname (included)."""
    origin, name = dns.name.from_text(zone.origin), dns.name.from_text(qname)
    for depth in range(len(origin) + 1, len(name) + 1):
        owner = name.split(depth)[1].to_text().lower()
        ns = zone.records(owner, "NS")
        if ns:
            return owner, tuple(absolute(v) for _, _, v in ns)
    return None
