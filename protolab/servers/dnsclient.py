"""Ask a lab DNS server a question from inside a node, as a stub resolver does:
over UDP, and again over TCP when the UDP answer comes back truncated (TC=1).

`client` is anything with `udp_socket()` and `tcp_socket(ip)` that open
sockets in its node (live.sockets.SocketHost), so the question crosses the
lab's links and shows up in the capture.
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.query


def ask(client: Any, server: str, name: str, qtype: str, *, recursion: bool = True,
        timeout: float = 2.0) -> dns.message.Message:
    """The server's reply to `name qtype` (RD as `recursion` says, no EDNS: at most 512 bytes
    over UDP). Raises dns.exception.DNSException or OSError when no usable reply comes."""
    query = dns.message.make_query(name, qtype)
    if not recursion:
        query.flags &= ~dns.flags.RD
    with client.udp_socket() as sock:
        reply = dns.query.udp(query, server, timeout=timeout, sock=sock)
    if reply.flags & dns.flags.TC:
        with client.tcp_socket(server) as sock:
            reply = dns.query.tcp(query, server, timeout=timeout, sock=sock)
    return reply
