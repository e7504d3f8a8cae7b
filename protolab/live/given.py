"""Steps of the journey lab done for the student, where the instructor gives them (`--set given=dhcp,arp`).

    from protolab.live.given import Given
    steps = Given(client, given)                  # `given`: the list the lab passed to journey()
    lease = steps.dhcp(xid)                       # {"address", "prefix", "router", "dns"}
    mac = steps.arp(lease["address"], lease["router"])
    ip = steps.dns(lease["address"], mac, lease["dns"][0], "www.example.lab")
    conn = steps.tcp(lease["address"], mac, ip, 80)
    conn.send(b"GET / HTTP/1.1\\r\\n...")           # then conn.receive(), conn.close()

A step the instructor did not give raises NotGiven: write it yourself. Every
frame is hand-made Ethernet from `client` (a Host without an address of its
own kernel: the lab took it off), exactly what a student's own code would send.
"""

from __future__ import annotations

import random
from typing import Iterable

import dns.message
import dns.rcode
import dns.rdatatype
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from ..wire.tcp import SEQ_SPACE, payload_len
from .dhcpclient import dora

STEPS = ("dhcp", "arp", "dns", "tcp")
BROADCAST = "ff:ff:ff:ff:ff:ff"
MSS = 1460


class NotGiven(RuntimeError):
    """The student called a step the instructor did not give."""


class Given:
    """The given steps for `client`; calling another one raises NotGiven."""

    def __init__(self, client, given: Iterable[str], timeout: float = 1.0) -> None:
        self.client, self.timeout = client, timeout
        self.given = tuple(given)

    def _may(self, step: str) -> None:
        if step not in self.given:
            offered = ", ".join(self.given) or "none"
            raise NotGiven(f"the instructor has not given the {step} step (given: {offered}): write it yourself")

    def dhcp(self, xid: int) -> dict:
        """Discover, Offer, Request, Ack; the lease as the dhcp lab returns it."""
        self._may("dhcp")
        answer = dora(self.client, xid, timeout=self.timeout)
        if answer.kind != "ack":
            raise RuntimeError(f"DHCP ended without a lease ({answer.kind})")
        mask = answer.options.get("subnet_mask", "255.255.255.0")
        prefix = sum(bin(int(part)).count("1") for part in mask.split("."))
        dns_servers = answer.options.get("name_server", ())
        dns_servers = [dns_servers] if isinstance(dns_servers, str) else list(dns_servers)
        return {"address": answer.address, "prefix": prefix, "router": answer.options.get("router"),
                "dns": dns_servers}

    def arp(self, address: str, ip: str) -> str:
        """The MAC of `ip` on the client's LAN, asked from `address` (the leased one)."""
        self._may("arp")
        question = Ether(dst=BROADCAST) / ARP(op=1, hwsrc=self.client.mac, psrc=address, pdst=ip)
        answer = self.client.sr1(question, timeout=self.timeout)
        if answer is None:
            raise RuntimeError(f"nobody answered who-has {ip}")
        return answer[ARP].hwsrc

    def dns(self, address: str, router_mac: str, resolver: str, name: str) -> str:
        """The first A record of `name`, asked of `resolver` with RD=1 through the router."""
        self._may("dns")
        query = dns.message.make_query(name, "A")  # RD=1, no EDNS
        port = random.randrange(40000, 61000)
        self.client.send(Ether(dst=router_mac) / IP(src=address, dst=resolver) / UDP(sport=port, dport=53)
                         / Raw(query.to_wire()))
        frame = self.client.recv(lambda f: UDP in f and f[UDP].sport == 53 and f[UDP].dport == port, self.timeout)
        if frame is None:
            raise RuntimeError(f"the resolver {resolver} did not answer")
        reply = dns.message.from_wire(bytes(frame[UDP].payload))
        found = [r.address for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A for r in rrset]
        if not found:
            raise RuntimeError(f"no address for {name} ({dns.rcode.to_text(reply.rcode())})")
        return found[0]

    def tcp(self, address: str, router_mac: str, server: str, port: int = 80) -> Connection:
        """A TCP connection by hand to server:port, the handshake done."""
        self._may("tcp")
        conn = Connection(self.client, address, router_mac, server, port, timeout=self.timeout)
        conn.connect()
        return conn


class Connection:
    """One hand-made TCP connection in Ethernet frames through the router: connect, send, receive, close."""

    def __init__(self, client, address: str, router_mac: str, server: str, port: int, *, timeout: float = 1.0) -> None:
        self.client, self.address, self.router_mac = client, address, router_mac
        self.server, self.port, self.timeout = server, port, timeout
        self.sport = random.randrange(40000, 61000)
        self.seq, self.ack = random.randrange(SEQ_SPACE), 0
        self.peer_closed = False

    def _segment(self, flags: str, data: bytes = b"") -> Ether:
        options = [("MSS", MSS)] if "S" in flags else []
        tcp = TCP(sport=self.sport, dport=self.port, flags=flags, seq=self.seq, ack=self.ack if "A" in flags else 0,
                  options=options)
        return Ether(dst=self.router_mac) / IP(src=self.address, dst=self.server) / tcp / Raw(data)

    def _emit(self, flags: str, data: bytes = b"") -> None:
        self.client.send(self._segment(flags, data))
        self.seq = (self.seq + len(data) + ("S" in flags) + ("F" in flags)) % SEQ_SPACE

    def _mine(self, frame) -> bool:
        return (TCP in frame and frame[IP].src == self.server and frame[TCP].sport == self.port
                and frame[TCP].dport == self.sport)

    def _take(self, timeout: float):
        frame = self.client.recv(self._mine, timeout)
        if frame is None:
            return None
        tcp = frame[TCP]
        if "R" in str(tcp.flags):
            raise ConnectionResetError(f"{self.server}:{self.port} reset the connection")
        return frame

    def connect(self) -> None:
        self._emit("S")
        synack = self.client.recv(lambda f: self._mine(f) and str(f[TCP].flags) == "SA", self.timeout)
        if synack is None:
            raise ConnectionError(f"no SYN-ACK from {self.server}:{self.port}")
        self.ack = (synack[TCP].seq + 1) % SEQ_SPACE
        self._emit("A")

    def send(self, data: bytes) -> None:
        self._emit("PA", data)

    def receive(self, timeout: float | None = None) -> bytes:
        """The data of the next in-order segment (acknowledged at once); b"" once the server closed."""
        while not self.peer_closed:
            frame = self._take(self.timeout if timeout is None else timeout)
            if frame is None:
                raise TimeoutError(f"{self.server}:{self.port} sent nothing for {self.timeout:g} s")
            tcp, length = frame[TCP], payload_len(frame)
            if tcp.seq != self.ack or (length == 0 and "F" not in str(tcp.flags)):
                continue  # an old segment, or a bare ACK
            data = bytes(tcp.payload)[:length]
            self.peer_closed = "F" in str(tcp.flags)
            self.ack = (self.ack + length + self.peer_closed) % SEQ_SPACE
            self._emit("A")
            if data:
                return data
        return b""

    def close(self) -> None:
        """Our FIN, and wait for it to be acknowledged (and for the server's FIN, if it has not come)."""
        self._emit("FA")
        fin = self.seq
        while True:
            frame = self._take(self.timeout)
            if frame is None:
                raise TimeoutError(f"{self.server}:{self.port} did not acknowledge the FIN")
            tcp = frame[TCP]
            if "F" in str(tcp.flags) and not self.peer_closed:
                self.peer_closed = True
                self.ack = (tcp.seq + payload_len(frame) + 1) % SEQ_SPACE
                self._emit("A")
            if tcp.ack == fin and self.peer_closed:
                return
