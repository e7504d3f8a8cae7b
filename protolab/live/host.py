"""A node as a lab (or a student) acts through it: send, receive and match frames.

Sockets are opened once, inside the node's namespace, and reused: a fresh
scapy socket per packet costs ~24 ms on this kind of machine, a reused raw
socket a few microseconds. Replies are matched with scapy's `answers()`
(TCP's with sequence numbers that wrap, see tcp.tcp_answers). `Host` also
hands out ordinary kernel sockets of the node (`udp_socket`, `tcp_socket`)
for what the node's own kernel should carry.
"""

from __future__ import annotations

import select
import socket
import time
from collections import deque
from ipaddress import IPv4Address
from typing import Callable

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Packet

from ..backends.base import NodeHandle
from .deferred_close import close_soon
from ..topology.model import Interface, Node
from ..wire.tcp import tcp_answers

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class Host:
    """The `client` a student's function gets: packet I/O and kernel sockets in one node.

    The same class in every lab (a lab may hand a subclass that adds only lab-side
    bookkeeping, such as kernel.tcpwatch.WatchedHost); inside the student's sandbox
    it is rebuilt in the node itself (`confined_handle` / `in_node`). What a
    student may use:

    Attributes
        name, iface      the node ("client") and the interface packets leave by ("eth0")
        ip, mac          that interface's IPv4 address and MAC, as strings
        gateway          the node's default gateway (a string), or None

    Hand-made packets (scapy)
        send(pkt)                 send an IP packet (the node's kernel routes it and finds the
                                  next hop's MAC) or an Ether frame (sent exactly as built;
                                  Ether(dst=...) required). Unset sources are this node's.
        sr1(pkt, timeout=1.0)     send, then return the first packet that answers it (scapy's
                                  answers(): ports swapped, or an ICMP error quoting it; TCP
                                  by its acknowledgement), or None after `timeout` s. IP in,
                                  IP out; Ether in, Ether out.
        recv(match=None, timeout=1.0)
                                  the next incoming Ether frame for which match(frame) is
                                  true (any frame without match), or None after `timeout` s.

        Every incoming frame no call took is kept, oldest first, and the next
        recv() (or sr1()) looks at those first: frames that arrived before the
        call, or that an earlier sr1()/recv() passed over, are never lost. The
        host's own outgoing frames are not received.

    Kernel sockets (the node's own UDP/TCP, for a protocol the kernel should carry)
        udp_socket()              a UDP socket of the node (non-blocking, unbound: bind() it
                                  or let sendto() pick a port); close it when done
        tcp_socket(server, port=53, timeout=1.0)
                                  a TCP socket of the node connected to server:port (then
                                  non-blocking); raises OSError if the connection fails

    Sockets of scapy's own sr1()/send() also work inside the node, only slower.
    """

    def __init__(self, handle: NodeHandle, iface: str | None = None) -> None:
        node = handle.node
        self._handle = handle
        self._node = node
        self.name = node.name
        self.iface = iface or node.interfaces[0].name
        chosen = next(i for i in node.interfaces if i.name == self.iface)
        self.ip = str(chosen.ip)
        self.mac = chosen.mac
        self.gateway = str(node.gateway) if node.gateway else None
        # the receive socket exists before anything is sent: no reply can be missed
        # protocol 0 at creation, ETH_P_ALL at bind: the kernel then hooks the socket
        # to one interface at once instead of to all of them first (~16 ms saved)
        self._l2 = handle.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self._l2.bind((self.iface, ETH_P_ALL))
        self._l3 = handle.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self._backlog: deque[Ether] = deque()

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.ip} {self.mac} on {self.iface}>"

    # -- across the confinement boundary -----------------------------------
    def confined_handle(self) -> tuple[str, dict]:
        """How the student's sandbox rebuilds this host: its class and the node's facts."""
        return f"{type(self).__module__}:{type(self).__qualname__}", self.facts()

    def facts(self) -> dict:
        node = self._node
        return {
            "name": node.name, "role": node.role, "iface": self.iface,
            "gateway": str(node.gateway) if node.gateway else None,
            "interfaces": [[i.name, i.lan, str(i.ip), i.mac] for i in node.interfaces],
        }

    @classmethod
    def in_node(cls, facts: dict, rpc: Callable[[object], object]) -> Host:
        """The same host, built inside the node itself (in the student's sandbox)."""
        return cls(InNode.from_facts(facts), facts["iface"])

    # -- sending -----------------------------------------------------------
    def send(self, pkt: Packet) -> None:
        """Send an IP packet (the kernel routes it and resolves the next hop)
        or an Ethernet frame (sent on the wire exactly as built)."""
        if isinstance(pkt, Ether):
            if "dst" not in pkt.fields:
                raise ValueError("set the Ethernet destination (Ether(dst=...)): protolab does not guess it")
            if "src" not in pkt.fields:
                pkt.src = self.mac
            self._fill_sources(pkt)
            self._l2.send(bytes(pkt))
        elif isinstance(pkt, IP):
            if "src" not in pkt.fields:
                pkt.src = self.ip  # never let scapy consult the host's routing table
            self._l3.sendto(bytes(pkt), (pkt.dst, 0))
        else:
            raise TypeError(f"send() takes an IP packet or an Ether frame, not {type(pkt).__name__}")

    def _fill_sources(self, frame: Ether) -> None:
        """Sender addresses left unset are this node's, never what scapy would take
        from the host's own routing table."""
        if IP in frame and "src" not in frame[IP].fields:
            frame[IP].src = self.ip
        if ARP in frame:
            arp = frame[ARP]
            if "hwsrc" not in arp.fields:
                arp.hwsrc = self.mac
            if "psrc" not in arp.fields:
                arp.psrc = self.ip

    def sr1(self, pkt: Packet, timeout: float = 1.0) -> Packet | None:
        """Send, then return the first frame that answers it (or None after `timeout` s).

        The answer is returned at the level that was sent: an IP packet for an
        IP packet, an Ethernet frame for a frame."""
        self._drain()
        self.send(pkt)
        question = _comparable(pkt)
        reply = self.recv(lambda frame: _answers(frame, question), timeout=timeout)
        if reply is None:
            return None
        return reply if isinstance(pkt, Ether) else reply.payload

    # -- receiving ---------------------------------------------------------
    def recv(self, match: Callable[[Ether], bool] | None = None, timeout: float = 1.0) -> Ether | None:
        """The next incoming frame for which `match` is true, or None on timeout.

        Frames that do not match are kept for later calls."""
        for frame in list(self._backlog):
            if match is None or match(frame):
                self._backlog.remove(frame)
                return frame
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._l2], [], [], left)[0]:
                return None
            frame = self._read()
            if frame is None:
                continue
            if match is None or match(frame):
                return frame
            self._backlog.append(frame)

    def _read(self) -> Ether | None:
        data, addr = self._l2.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            return None
        return Ether(data)

    def _drain(self) -> None:
        """Move whatever already arrived into the backlog (it predates the question)."""
        while select.select([self._l2], [], [], 0)[0]:
            frame = self._read()
            if frame is not None:
                self._backlog.append(frame)

    # -- kernel sockets ----------------------------------------------------
    def udp_socket(self) -> socket.socket:
        """A UDP socket in this node (non-blocking, as dnspython wants it); close it when done."""
        sock = self._handle.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        return sock

    def tcp_socket(self, server: str, port: int = 53, timeout: float = 1.0) -> socket.socket:
        """A TCP socket in this node, already connected to server:port (then non-blocking)."""
        sock = self._handle.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((server, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def close(self) -> None:
        close_soon(self._l2)  # a packet socket takes 8-20 ms to close: not on the lab's path
        self._l3.close()


def _comparable(pkt: Packet) -> Packet:
    """Rebuild what was sent from its bytes, so that computed fields are filled."""
    return pkt.__class__(bytes(pkt))


def _answers(frame: Ether, question: Packet) -> bool:
    if TCP in question and IP in frame and frame[IP].proto == 6 and TCP in frame:
        asked, got = question[IP], frame[IP]
        return (got.src, got.dst) == (asked.dst, asked.src) and tcp_answers(got[TCP], asked[TCP])
    if isinstance(question, Ether):
        return bool(frame.answers(question))
    for layer in (IP, ARP):
        if layer in question and layer in frame:
            return bool(frame[layer].answers(question[layer]))
    return False


class InNode:
    """A stand-in for a NodeHandle inside the node: sockets open in the current namespace."""

    def __init__(self, node: Node) -> None:
        self.node = node

    @classmethod
    def from_facts(cls, facts: dict) -> InNode:
        interfaces = tuple(Interface(name, lan, IPv4Address(ip), mac) for name, lan, ip, mac in facts["interfaces"])
        gateway = IPv4Address(facts["gateway"]) if facts.get("gateway") else None
        return cls(Node(facts["name"], facts["role"], interfaces, gateway=gateway))

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        return socket.socket(family, kind, proto)
