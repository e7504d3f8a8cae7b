"""What a capture records: raw bytes, kernel timestamp, where the frame was seen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Port:
    """A bridge port in the switch namespace: the far end of one node's interface."""

    ifindex: int
    ifname: str
    link: str  # the LAN the port belongs to
    node: str  # the node whose interface is plugged into this port


@dataclass(frozen=True)
class RawFrame:
    """One Ethernet frame as it entered the bridge from `sender` on `link`."""

    time_ns: int  # kernel receive timestamp (CLOCK_REALTIME, ns)
    link: str
    sender: str
    data: bytes


@dataclass(frozen=True)
class CaptureResult:
    """Everything a capture saw, and what the kernel says it dropped."""

    frames: tuple[RawFrame, ...]
    links: tuple[str, ...]
    kernel_packets: int  # PACKET_STATISTICS tp_packets (all frames the socket saw)
    kernel_drops: int  # PACKET_STATISTICS tp_drops (frames lost to a full buffer)

    @property
    def lossless(self) -> bool:
        return self.kernel_drops == 0
