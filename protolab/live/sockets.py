"""A Host that also hands out ordinary kernel sockets inside its node.

Hand-made packets go through `send`/`sr1` as with any Host; for protocols the
node's kernel should carry (a UDP exchange, a TCP connection to port 53), a
student asks for a socket that lives in the node's namespace and uses it like
any socket, or passes it to dnspython (`dns.query.udp(q, ip, sock=s)`).
"""

from __future__ import annotations

import socket

from ..backends.base import NodeHandle
from .host import Host


class SocketHost(Host):
    def __init__(self, handle: NodeHandle, iface: str | None = None) -> None:
        super().__init__(handle, iface)
        self._handle = handle

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
