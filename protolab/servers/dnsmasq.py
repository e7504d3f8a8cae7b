"""dnsmasq as the lab's DHCP server (DHCP only: its DNS is switched off), for one run.

    with DnsmasqServer(deployment.node("dhcp")) as dhcp:     # the pool, router, DNS and domain of DhcpConfig
        ...                                                  # clients send DISCOVERs
        dhcp.leases()          # what its lease file holds now: [Lease(mac, ip, expiry, ...)]
        dhcp.lease_of(mac)     # one client's lease, or None (released, or never acknowledged)
        dhcp.log()             # its --log-dhcp lines

Everything lives in one folder of the run's work directory, dhcp/<node>,
which the compose backend shares with its containers at the same path:
dnsmasq.conf, the lease file, the pid file and the log (never the host's
/var/lib/misc). dnsmasq runs in the foreground inside the node, as root (the
node is the lab's), on the node's interface only, with `no-ping` (else it
pings every address before offering it: ~3 s before the first OFFER).

Ready means: its DHCP socket (UDP port 67) exists in the node's kernel, and
its log says the pool is set up. A DISCOVER sent from then on is queued on
that socket and answered; the probe itself sends nothing, so nothing of it
shows in the lab's capture.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..backends.base import NodeHandle
from ..backends.nsenter import entered
from ..topology.model import Topology
from .process import FolderService, NodeProgram, ServiceError

PROGRAM = "dnsmasq"
DHCP_PORT = 67
MIN_LEASE = 120  # seconds: dnsmasq's shortest lease
READY_LINE = "DHCP, IP range"  # dnsmasq logs the pool once it is set up
LEASE_POLL = 0.005  # seconds between reads of the lease file while waiting on it
_DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_IFACE = re.compile(r"[A-Za-z0-9_.-]{1,15}")


@dataclass(frozen=True)
class DhcpConfig:
    """What the DHCP server hands out. `subnet` holds the pool and the router; addresses are strings."""

    interface: str  # the server node's interface dnsmasq serves (and nothing else)
    subnet: str  # "10.0.1.0/24": the mask clients get (option 1)
    pool_start: str
    pool_end: str
    router: str | None  # option 3; None: none offered
    dns: tuple[str, ...] = ()  # option 6
    domain: str | None = None  # option 15
    lease_time: int = MIN_LEASE  # seconds (option 51)
    authoritative: bool = True  # the only server on its LAN: NAK what it cannot give, at once

    def __post_init__(self) -> None:
        if not _IFACE.fullmatch(self.interface):
            raise ServiceError(f"dnsmasq: {self.interface!r} is not an interface name")
        net = _network(self.subnet)
        start, end = _address(self.pool_start, "pool_start"), _address(self.pool_end, "pool_end")
        if start not in net or end not in net:
            raise ServiceError(f"dnsmasq: the pool {start}-{end} is not inside {net}")
        if int(end) < int(start):
            raise ServiceError(f"dnsmasq: the pool ends ({end}) before it starts ({start})")
        if start in (net.network_address, net.broadcast_address) or end in (net.network_address, net.broadcast_address):
            raise ServiceError(f"dnsmasq: the pool {start}-{end} holds the network or broadcast address of {net}")
        if self.router is not None:
            router = _address(self.router, "router")
            if router not in net:
                raise ServiceError(f"dnsmasq: the router {router} is not on {net}")
            if int(start) <= int(router) <= int(end):
                raise ServiceError(f"dnsmasq: the router {router} is inside the pool {start}-{end}")
        for server in self.dns:
            _address(server, "dns")
        if self.domain is not None and not _DOMAIN.fullmatch(self.domain):
            raise ServiceError(f"dnsmasq: {self.domain!r} is not a domain name")
        if not MIN_LEASE <= self.lease_time <= 365 * 86400:
            raise ServiceError(f"dnsmasq: lease_time must be {MIN_LEASE} s to a year, not {self.lease_time}")

    @property
    def mask(self) -> str:
        return str(_network(self.subnet).netmask)

    @property
    def prefix(self) -> int:
        return _network(self.subnet).prefixlen

    def in_pool(self, address: str) -> bool:
        return int(ipaddress.IPv4Address(self.pool_start)) <= int(ipaddress.IPv4Address(address)) <= int(
            ipaddress.IPv4Address(self.pool_end))

    @classmethod
    def for_node(cls, topology: Topology, node: str, pool: tuple[int, int] = (100, 149), **options) -> DhcpConfig:
        """The server `node` of `topology` serving its first LAN: host numbers `pool` of that
        subnet, the node's gateway as router, the topology's resolvers as DNS servers."""
        server = topology.node(node)
        iface = server.interfaces[0]
        net = topology.lan(iface.lan).subnet
        start, end = net.network_address + pool[0], net.network_address + pool[1]  # checked: inside net
        resolvers = tuple(str(n.ip) for n in topology.nodes if any(s.kind == "unbound" for s in n.services))
        fields = {"router": str(server.gateway) if server.gateway else None, "dns": resolvers, "domain": "example.lab"}
        fields.update(options)
        return cls(iface.name, str(net), str(start), str(end), **fields)

    def render(self, directory: Path) -> str:
        """The dnsmasq.conf text, with every file dnsmasq writes inside `directory`."""
        d = directory
        lines = [
            "# written by protolab for one run",
            "port=0",  # no DNS: DHCP only
            f"interface={self.interface}",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "no-poll",
            "no-ping",
            "user=root",
            "group=root",
            f"pid-file={d}/dnsmasq.pid",
            f"dhcp-leasefile={d}/dnsmasq.leases",
            f"log-facility={d}/dnsmasq.log",
            "log-dhcp",
            f"dhcp-range={self.pool_start},{self.pool_end},{self.mask},{self.lease_time}",
        ]
        if self.router is not None:
            lines.append(f"dhcp-option=option:router,{self.router}")
        else:
            lines.append("dhcp-option=option:router")  # dnsmasq would send its own address otherwise
        if self.dns:
            lines.append(f"dhcp-option=option:dns-server,{','.join(self.dns)}")
        else:
            lines.append("dhcp-option=option:dns-server")
        if self.domain:
            lines.append(f"dhcp-option=option:domain-name,{self.domain}")
        if self.authoritative:
            lines.append("dhcp-authoritative")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Lease:
    """One line of dnsmasq's lease file."""

    expiry: int  # Unix time the lease ends (0: never)
    mac: str
    ip: str
    hostname: str | None
    client_id: str | None


def parse_leases(text: str) -> list[Lease]:
    """The complete lines of a dnsmasq lease file (`expiry mac ip hostname client-id`, '*' for none)."""
    leases = []
    for line in text.splitlines(keepends=True):
        parts = line.split()
        if not line.endswith("\n") or len(parts) < 4 or not parts[0].isdigit():
            continue  # a line being written, or dnsmasq's DUID line (IPv6)
        name = None if parts[3] == "*" else parts[3]
        client = None if len(parts) < 5 or parts[4] == "*" else parts[4]
        leases.append(Lease(int(parts[0]), parts[1].lower(), parts[2], name, client))
    return leases


def udp_bound(node: NodeHandle, port: int) -> bool:
    """Whether a UDP socket in the node's kernel holds `port` (on any local address)."""
    with entered(node.netns):  # /proc/thread-self/net shows the namespace of the thread that reads it
        try:
            with open("/proc/thread-self/net/udp") as table:
                rows = table.read().splitlines()[1:]
        except OSError:
            return False
    wanted = f":{port:04X}"
    return any(row.split()[1].endswith(wanted) for row in rows if len(row.split()) > 1)


class DnsmasqServer(FolderService):
    """dnsmasq in `node` for the length of a `with` block, handing out what `config` says."""

    def __init__(self, node: NodeHandle, config: DhcpConfig | None = None, *, ready_timeout: float = 3.0) -> None:
        super().__init__(node, "dhcp", ready_timeout)
        self.config = config or DhcpConfig.for_node(node.deployment.topology, node.name)

    @property
    def server_id(self) -> str:
        """The address dnsmasq names as its server identifier (option 54): its interface's."""
        node = self.node.node
        return str(next(i.ip for i in node.interfaces if i.name == self.config.interface))

    def __enter__(self) -> DnsmasqServer:
        if shutil.which(PROGRAM) is None:
            raise ServiceError("dnsmasq is not installed (scripts/bootstrap installs dnsmasq-base)")
        if not any(i.name == self.config.interface for i in self.node.node.interfaces):
            raise ServiceError(f"dnsmasq: node {self.node.name} has no interface {self.config.interface}")
        self.fresh_folder()
        try:
            conf = self.directory / "dnsmasq.conf"
            conf.write_text(self.config.render(self.directory))
            (self.directory / "dnsmasq.leases").touch()
            self.program = NodeProgram(
                self.node, [PROGRAM, "--keep-in-foreground", f"--conf-file={conf}"], what="dnsmasq",
                log=self.directory / "dnsmasq.out", probe=self._ready, ready_timeout=self.ready_timeout)
            self.program.__enter__()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _ready(self) -> bool:
        return READY_LINE in self.log() and udp_bound(self.node, DHCP_PORT)

    def log(self) -> str:
        """What dnsmasq logged so far (its --log-dhcp lines included)."""
        try:
            return (self.directory / "dnsmasq.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def leases(self) -> list[Lease]:
        """The lease file as it is now (dnsmasq rewrites it after every change)."""
        try:
            return parse_leases((self.directory / "dnsmasq.leases").read_text())
        except FileNotFoundError:
            return []

    def lease_of(self, mac: str) -> Lease | None:
        return next((lease for lease in self.leases() if lease.mac == mac.lower()), None)

    def wait_lease(self, mac: str, present: bool = True, timeout: float = 0.5) -> Lease | None:
        """The client's lease once it is there (present) or gone (not present), or as it is after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            lease = self.lease_of(mac)
            if (lease is not None) == present or time.monotonic() > deadline:
                return lease
            time.sleep(LEASE_POLL)


def _network(text: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text)
    except ValueError:
        raise ServiceError(f"dnsmasq: {text!r} is not an IPv4 subnet") from None


def _address(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise ServiceError(f"dnsmasq: {what} {text!r} is not an IPv4 address") from None
