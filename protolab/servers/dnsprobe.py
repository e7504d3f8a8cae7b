"""Is a DNS server in a node answering yet? Ask it over the node's loopback.

The probe's socket lives in the server's own namespace and talks to
127.0.0.1, so no probe ever crosses a lab link or shows up in a capture.
"""

from __future__ import annotations

import select
import socket

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from ..backends.base import NodeHandle


class DnsProbe:
    """`probe()` is True once the node itself answers `qname qtype` with NOERROR
    (a server that answers SERVFAIL or REFUSED has not loaded its data)."""

    def __init__(self, node: NodeHandle, qname: str, qtype: str = "SOA", rdclass: str = "IN", wait: float = 0.005) -> None:
        self.query = dns.message.make_query(qname, dns.rdatatype.from_text(qtype), dns.rdataclass.from_text(rdclass))
        self.query.flags = 0  # RD=0: a probe never makes a resolver recurse
        self.wire = self.query.to_wire()
        self.wait = wait
        self.sock = node.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.answer: dns.message.Message | None = None

    def __call__(self) -> bool:
        try:
            self.sock.sendto(self.wire, ("127.0.0.1", 53))
        except OSError:
            return False
        while select.select([self.sock], [], [], self.wait)[0]:
            try:
                data = self.sock.recv(65535)
            except OSError:  # ICMP port unreachable: nothing listens yet
                return False
            try:
                reply = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 - not an answer to us
                continue
            if self.query.is_response(reply):
                self.answer = reply
                return reply.rcode() == dns.rcode.NOERROR
        return False

    def close(self) -> None:
        self.sock.close()
