"""Just enough rtnetlink to read a node's neighbour cache and routes, and set or delete neighbours.

pyroute2 does all this and more, but importing it takes ~170 ms, longer than a
whole lab run on a topology that is already up. These few requests are made
by hand instead, on a NETLINK_ROUTE socket opened inside the node's namespace.
The pack/parse functions are pure, so they are tested without a kernel.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Iterator

from ..backends.nsenter import entered

NETLINK_ROUTE = 0
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_REPLACE, NLM_F_CREATE = 0x100, 0x400
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_GETROUTE = 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30

NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
NDMSG = struct.Struct("=BxxxiHBB")  # family, ifindex, state, flags, type
RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
RTATTR = struct.Struct("=HH")  # length, type
NDA_DST, NDA_LLADDR = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15


def _align(n: int) -> int:
    return (n + 3) & ~3


def pack_attr(kind: int, payload: bytes) -> bytes:
    length = RTATTR.size + len(payload)
    return RTATTR.pack(length, kind) + payload + b"\0" * (_align(length) - length)


def parse_attrs(data: bytes) -> dict[int, bytes]:
    """Route attributes (type → payload); the later of two with the same type wins."""
    attrs, offset = {}, 0
    while offset + RTATTR.size <= len(data):
        length, kind = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size:
            break
        attrs[kind & 0x3FFF] = data[offset + RTATTR.size : offset + length]  # without NESTED/BYTEORDER bits
        offset += _align(length)
    return attrs


def pack_message(kind: int, flags: int, seq: int, body: bytes) -> bytes:
    """One netlink message, padded so that another can follow it."""
    length = NLMSGHDR.size + len(body)
    return NLMSGHDR.pack(length, kind, flags, seq, 0) + body + b"\0" * (_align(length) - length)


def parse_messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, sequence, payload) of every netlink message in one datagram."""
    offset = 0
    while offset + NLMSGHDR.size <= len(data):
        length, kind, _flags, seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size:
            break
        yield kind, seq, data[offset + NLMSGHDR.size : offset + length]
        offset += _align(length)


def error_code(payload: bytes) -> int:
    """The errno of an NLMSG_ERROR payload (0 for an acknowledgement)."""
    return -struct.unpack_from("=i", payload)[0]


class Rtnl:
    """A NETLINK_ROUTE socket inside one namespace: `with Rtnl(node.netns) as rt: rt.dump(...)`."""

    def __init__(self, netns: str) -> None:
        with entered(netns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def dump(self, kind: int, body: bytes) -> list[tuple[int, bytes]]:
        """Every (type, payload) the kernel answers to a dump request."""
        seq = self._send(kind, NLM_F_REQUEST | NLM_F_DUMP, body)
        out = []
        while True:
            for got, got_seq, payload in parse_messages(self.sock.recv(1 << 16)):
                if got_seq != seq:
                    continue
                if got == NLMSG_DONE:
                    return out
                if got == NLMSG_ERROR:
                    _raise(error_code(payload))
                out.append((got, payload))

    def request(self, kind: int, body: bytes, flags: int = 0) -> None:
        """Send a request (with `flags` besides REQUEST and ACK) and wait for its
        acknowledgement; OSError if the kernel refuses it."""
        seq = self._send(kind, NLM_F_REQUEST | NLM_F_ACK | flags, body)
        while True:
            for got, got_seq, payload in parse_messages(self.sock.recv(1 << 16)):
                if got == NLMSG_ERROR and got_seq == seq:
                    code = error_code(payload)
                    if code:
                        _raise(code)
                    return

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self.seq += 1
        self.sock.send(pack_message(kind, flags, self.seq, body))
        return self.seq


def _raise(code: int) -> None:
    raise OSError(code, f"netlink: {os.strerror(code)}")


def ifname(netns: str, ifindex: int) -> str:
    """The name of an interface of a namespace, by index ("?" if there is none)."""
    with entered(netns):
        try:
            return socket.if_indextoname(ifindex)
        except OSError as exc:
            if exc.errno in (errno.ENXIO, errno.ENODEV):
                return "?"
            raise
