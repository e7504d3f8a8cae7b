"""Transmit checksum offload off, so that captures hold the checksums the wire would.

A veth offers to checksum TCP and UDP "in hardware" (it never does: the peer
just trusts the packet), so the kernel leaves only the folded pseudo-header sum
in the field and every capture shows a bad checksum. With the offload off the
kernel computes the checksum before the frame leaves.

This is the SIOCETHTOOL ioctl that `ethtool -K IF tx off` makes, acting in the
network namespace of the calling thread. pyroute2's Ethtool does the same
ioctl underneath, but opens a generic netlink socket at construction and costs
a container ~0.4 s of CPU to import, which node_init avoids.
"""

from __future__ import annotations

import array
import fcntl
import os
import socket
import struct

SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x16
ETHTOOL_STXCSUM = 0x17
IFNAMSIZ = 16
IFREQ_SIZE = 40  # struct ifreq on 64-bit Linux: the name, then a 24-byte union


def _ethtool_value(ifname: str, cmd: int, data: int, doing: str) -> int:
    """One struct ethtool_value {u32 cmd; u32 data} command on `ifname`; the data it returns."""
    name = ifname.encode()
    if not 0 < len(name) < IFNAMSIZ:
        raise OSError(f"{ifname!r}: cannot {doing}: not an interface name")
    value = array.array("I", [cmd, data])  # the kernel reads and writes it through ifr_data
    ifreq = struct.pack("16sP", name, value.buffer_info()[0]).ljust(IFREQ_SIZE, b"\0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
        except OSError as exc:
            raise OSError(exc.errno, f"{ifname}: cannot {doing}: {os.strerror(exc.errno)}") from None
    return value[1]


def tx_checksum(ifname: str) -> bool:
    """Whether `ifname` (in the current namespace) leaves transmit checksums to the device."""
    return bool(_ethtool_value(ifname, ETHTOOL_GTXCSUM, 0, "read its transmit checksum offload"))


def disable_tx_checksum(ifname: str) -> None:
    """Turn transmit checksum offload off on `ifname` in the current namespace, and check it is off."""
    _ethtool_value(ifname, ETHTOOL_STXCSUM, 0, "turn transmit checksum offload off")
    if tx_checksum(ifname):
        raise OSError(f"{ifname}: transmit checksum offload is still on (its driver fixes it on)")
