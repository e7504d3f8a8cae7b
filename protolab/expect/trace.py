"""The observed traffic as plain data: the input of the expectation core.

A Frame is one Ethernet frame seen on one link, already decoded into layers of
plain values (`{"tcp": {"seq": 1000, "flags": "S", ...}}`). Nothing here knows
about sockets or scapy, so traces can be built by hand in tests.

Every field the decoder fills, with its type and meaning, is listed in
protolab/wire/fields.py (and docs/fields.md, generated from it); absent layers
and fields are simply missing. `annotate` adds tcp.retransmission.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any, Iterable, Mapping

_MISSING = object()


class MissingField(LookupError):
    """A field path names a layer or field the frame does not have."""


@dataclass(frozen=True)
class Frame:
    """One frame on one link, decoded."""

    index: int  # the frame's number, from 1 in time order (Wireshark's frame.number)
    time: float  # seconds since the first frame of the trace
    link: str
    sender: str | None  # node that put the frame on this link
    receiver: str | None  # node owning the destination MAC; None for broadcast
    layers: Mapping[str, Mapping[str, Any]]
    summary: str = ""
    link_known: bool = True  # False: captured on an interface that is none of the lab's links

    @property
    def broadcast(self) -> bool:
        """Sent to every node of the link (Ethernet broadcast); `receiver` None
        on a frame that is not broadcast means its receiver is unknown."""
        return self.layers.get("eth", {}).get("dst") == "ff:ff:ff:ff:ff:ff"

    def has(self, layer: str) -> bool:
        return layer in self.layers

    @property
    def label(self) -> str:
        """How a verdict names it: "frame #3 (TCP ...)"."""
        return f"frame #{self.index} ({self.summary})"

    @property
    def numbers(self) -> tuple[int, ...]:
        """The frame numbers a verdict item about it names (an HTTP message: all its frames)."""
        return (self.index,)

    def get(self, path: str, default: Any = _MISSING) -> Any:
        """Field by dotted path, e.g. "tcp.ack"."""
        layer, _, name = path.partition(".")
        try:
            fields = self.layers[layer]
            return fields[name] if name else fields
        except KeyError:
            if default is not _MISSING:
                return default
            raise MissingField(path) from None


@dataclass(frozen=True)
class Trace:
    """An ordered sequence of frames plus what the capture could not see."""

    frames: tuple[Frame, ...]
    links: tuple[str, ...] = ()
    drops: int = 0  # frames the kernel dropped during capture
    addresses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # IP address → its node

    def __iter__(self):
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, number: int) -> Frame:
        """The frame numbered `number` (from 1, as Wireshark numbers frames)."""
        if not 1 <= number <= len(self.frames):
            raise IndexError(f"no frame #{number} (frames are #1 to #{len(self.frames)})")
        return self.frames[number - 1]

    # computed on first use, once (a frozen dataclass keeps cached_property's value in its __dict__)
    @cached_property
    def connections(self) -> tuple:
        """Its TCP connections, each direction reassembled (protolab.wire.streams.Connection)."""
        from ..wire.streams import connections

        return tuple(connections(self.frames))

    @cached_property
    def http(self) -> tuple:
        """Its TCP connections read as HTTP/1.1, in the same order (protolab.wire.http.HttpConnection)."""
        from ..wire.http import parse

        return tuple(parse(c) for c in self.connections)

    @cached_property
    def messages(self) -> tuple:
        """Every HTTP message as the Request and Response entries see it (protolab.expect.http.MessageView)."""
        from .http import message_views

        return message_views(self)


def make_trace(frames: Iterable[Frame], links: Iterable[str] = (), drops: int = 0,
               addresses: Mapping[str, str] | None = None, keep_order: bool = False) -> Trace:
    """Order frames by time (`keep_order`: as given, the order of a capture file, which
    is what Wireshark numbers), number them from 1 (as Wireshark does) and annotate them."""
    ordered = list(frames) if keep_order else sorted(frames, key=lambda f: f.time)
    return Trace(frames=tuple(annotate(ordered)), links=tuple(links), drops=drops,
                 addresses=MappingProxyType(dict(addresses or {})))


def annotate(frames: list[Frame]) -> list[Frame]:
    """Number the frames from 1 in the order given, and mark TCP retransmissions:
    a segment that uses sequence space (data, SYN or FIN) repeating the flow,
    seq, flags and length of an earlier one on the same link. One copy per frame."""
    seen: set[tuple] = set()
    out = []
    for index, frame in enumerate(frames, start=1):
        tcp = frame.layers.get("tcp")
        ip = frame.layers.get("ip")
        if tcp is None or ip is None:
            out.append(replace(frame, index=index) if index != frame.index else frame)
            continue
        uses_space = tcp.get("len", 0) > 0 or any(f in tcp.get("flags", "") for f in "SF")
        key = (frame.link, ip["src"], tcp["sport"], ip["dst"], tcp["dport"], tcp["seq"], tcp["flags"], tcp.get("len", 0))
        retrans = uses_space and key in seen
        if uses_space:
            seen.add(key)
        layers = dict(frame.layers)
        layers["tcp"] = MappingProxyType({**tcp, "retransmission": retrans})
        out.append(replace(frame, index=index, layers=MappingProxyType(layers)))
    return out
