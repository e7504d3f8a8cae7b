"""Read TCP socket states from a node's kernel (sock_diag via pyroute2)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from ..backends.base import NodeHandle
from ..backends.nsenter import entered

TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
    7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}


@dataclass(frozen=True)
class SocketState:
    src: str
    sport: int
    dst: str
    dport: int
    state: str
    timer_ms: int  # time left on the socket's timer (e.g. TIME_WAIT), 0 if none


def tcp_sockets(node: NodeHandle) -> list[SocketState]:
    """Every IPv4 TCP socket in the node, with its state."""
    from pyroute2 import DiagSocket

    with entered(node.netns):
        diag = DiagSocket()
    try:
        diag.bind()
        msgs = diag.get_sock_stats(family=socket.AF_INET)
    finally:
        diag.close()
    out = []
    for msg in msgs:
        out.append(
            SocketState(
                msg["idiag_src"], msg["idiag_sport"], msg["idiag_dst"], msg["idiag_dport"],
                TCP_STATES.get(msg["idiag_state"], str(msg["idiag_state"])), msg["idiag_expires"],
            )
        )
    return out


def state_of(node: NodeHandle, local_port: int, peer: tuple[str, int]) -> str | None:
    """The state of the node's socket for one connection, or None if there is none."""
    for s in tcp_sockets(node):
        if s.sport == local_port and (s.dst, s.dport) == peer:
            return s.state
    return None
