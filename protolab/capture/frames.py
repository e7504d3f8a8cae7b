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
class CapturePoint:
    """Where to capture: a namespace (path) and the interfaces to record in it.

    `egress` False: bridge ports in a switch namespace (a frame entering the
    bridge was sent by the port's node). True: a node's own interfaces (a
    frame leaving them was sent by that node)."""

    netns: str
    ports: dict[int, Port]
    egress: bool = False


# pcap link types (LINKTYPE_*): what the bytes of a RawFrame start with
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # raw IP, no link header
LINKTYPE_IPV4 = 228  # raw IPv4
LINKTYPE_LINUX_SLL = 113  # Linux cooked capture v1 (tcpdump -i any, older)
LINKTYPE_LINUX_SLL2 = 276  # Linux cooked capture v2


@dataclass(frozen=True)
class RawFrame:
    """One frame as it entered the bridge from `sender` on `link` (or as a capture file holds it)."""

    time_ns: int  # kernel receive timestamp (CLOCK_REALTIME, ns)
    link: str
    sender: str | None  # None: the capture does not say (a file without protolab's comments)
    data: bytes
    linktype: int = LINKTYPE_ETHERNET  # pcap LINKTYPE_* of `data` (Ethernet, Linux cooked, raw IP)
    wire_len: int | None = None  # length on the wire, when the capture cut the frame shorter


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


def merge_results(results: list[CaptureResult]) -> CaptureResult:
    """One capture out of several (one per capture point), frames in time order."""
    frames = sorted((f for r in results for f in r.frames), key=lambda f: f.time_ns)
    links = tuple(dict.fromkeys(link for r in results for link in r.links))
    return CaptureResult(
        frames=tuple(frames),
        links=links,
        kernel_packets=sum(r.kernel_packets for r in results),
        kernel_drops=sum(r.kernel_drops for r in results),
    )
