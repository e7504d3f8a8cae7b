"""Raw captured bytes → plain-data Frames for the expectation core.

The only decoding path of the project; it runs after the capture, never in it.
It reads Ethernet, Linux cooked (v1, v2) and raw IP link types; a frame the
capture cut short is decoded as far as its bytes go and says so ("frame"
layer); every IPv4 checksum is verified ("checksum" layer).

The frames labs are made of are read by fastdecode.py with `struct` alone;
any other frame, and any it is not sure of, by scapy (`scapy_layers`), which
gives the same layers for the frames both read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from types import MappingProxyType
from typing import AbstractSet as Set, Any, Iterable, Mapping

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, TCPerror, UDPerror
from scapy.layers.l2 import ARP, Dot3, Ether

from ..capture.frames import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    RawFrame,
)
from ..expect.trace import Frame, Trace, make_trace
from ..topology.model import Topology
from . import fastdecode
from .checksums import verify
from .dhcpmsg import bootp_layers, dhcp_summary, is_bootp
from .dnsmsg import DNS_PORT, dns_layer, dns_summary
from .words import canonical_flags, flag_words, icmp_name

BROADCAST = "ff:ff:ff:ff:ff:ff"
ETHERTYPE_IPV4, ETHERTYPE_ARP = 0x0800, 0x0806
ARPHRD_ETHER = 1
PACKET_BROADCAST = 1


@dataclass(frozen=True, slots=True)
class Decoded:
    """One captured frame, its layers decoded once (the nodes it is put down to come later)."""

    raw: RawFrame
    layers: Mapping[str, Mapping[str, Any]]
    summary: str


def decode_trace(raw: Iterable[RawFrame], topology: Topology, links: Iterable[str] = (), drops: int = 0) -> Trace:
    """Decode a capture into a Trace, frames in time order."""
    return build_trace(decode_all(sorted(raw, key=lambda r: r.time_ns)), topology, links, drops)


def decode_all(raw: Iterable[RawFrame]) -> list[Decoded]:
    out = []
    shared_eth: dict[tuple, Mapping[str, Any]] = {}  # read-only: frames between the same two MACs share one "eth" layer
    for r in raw:
        layers = decode_layers(r.data, r.linktype, r.wire_len)
        frozen = {k: MappingProxyType(v) for k, v in layers.items()}
        if "eth" in layers:
            frozen["eth"] = shared_eth.setdefault(tuple(layers["eth"].items()), frozen["eth"])
        out.append(Decoded(r, MappingProxyType(frozen), summarize(layers)))
    return out


def build_trace(decoded: list[Decoded], topology: Topology, links: Iterable[str] = (), drops: int = 0) -> Trace:
    """The Trace of decoded frames (kept in the order given) on `topology`; times
    become seconds since the first frame.

    A frame whose sender the capture does not name (no "sent by" comment) is
    put down to the node owning its source MAC, if the topology has one; else
    its sender is unknown ("?"), and the checks that need it say so."""
    t0 = decoded[0].raw.time_ns if decoded else 0
    macs = {i.mac: n.name for n in topology.nodes for i in n.interfaces}
    addresses = {str(i.ip): n.name for n in topology.nodes for i in n.interfaces}
    lans = {lan.name for lan in topology.lans}
    frames = [_frame(d, (d.raw.time_ns - t0) / 1e9, macs, lans) for d in decoded]
    return make_trace(frames, links, drops, addresses, keep_order=True)


def _frame(d: Decoded, time: float, macs: Mapping[str, str], lans: Set[str]) -> Frame:
    eth = d.layers.get("eth", {})
    dst = eth.get("dst", "")
    return Frame(
        index=0,
        time=time,
        link=d.raw.link,
        sender=d.raw.sender or macs.get(eth.get("src", ""), "?"),
        receiver=None if dst == BROADCAST else macs.get(dst),
        layers=d.layers,
        summary=d.summary,
        link_known=d.raw.link in lans,
    )


def split_link(data: bytes, linktype: int) -> tuple[dict[str, Any] | None, int | None, bytes]:
    """(the link layer's fields as an "eth" layer, the ethertype, the network packet).

    Linux cooked captures name only the sender's address (and whether the frame
    was a broadcast); raw IP has no link layer at all (None)."""
    if linktype == LINKTYPE_LINUX_SLL and len(data) >= 16:
        pkttype, hatype, halen = struct.unpack_from("!HHH", data)
        proto = struct.unpack_from("!H", data, 14)[0]
        return _cooked(pkttype, hatype, data[6 : 6 + min(halen, 8)], proto), proto, data[16:]
    if linktype == LINKTYPE_LINUX_SLL2 and len(data) >= 20:
        proto, _, _, hatype, pkttype, halen = struct.unpack_from("!HHIHBB", data)
        return _cooked(pkttype, hatype, data[12 : 12 + min(halen, 8)], proto), proto, data[20:]
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        return None, ETHERTYPE_IPV4 if data[:1] and data[0] >> 4 == 4 else None, data
    return None, None, b""


def _cooked(pkttype: int, hatype: int, address: bytes, proto: int) -> dict[str, Any]:
    eth: dict[str, Any] = {"type": proto, "pkttype": pkttype}
    if hatype == ARPHRD_ETHER and len(address) == 6:
        eth["src"] = address.hex(":")
    if pkttype == PACKET_BROADCAST:
        eth["dst"] = BROADCAST
    return eth


def decode_layers(data: bytes, linktype: int = LINKTYPE_ETHERNET, wire_len: int | None = None) -> dict[str, dict[str, Any]]:
    """Decode one captured frame into {layer: {field: value}}."""
    try:
        layers = fastdecode.fast_layers(data, linktype, wire_len)
    except Exception:  # the fast path is only ever a shortcut: scapy decides
        layers = None
    return layers if layers is not None else scapy_layers(data, linktype, wire_len)


def scapy_layers(data: bytes, linktype: int = LINKTYPE_ETHERNET, wire_len: int | None = None) -> dict[str, dict[str, Any]]:
    """decode_layers with scapy: any frame (fastdecode gives the same layers for those it reads)."""
    layers: dict[str, dict[str, Any]] = {}
    wire = max(wire_len or 0, len(data))
    if wire > len(data):
        layers["frame"] = {"len": wire, "caplen": len(data), "cut": True}
    try:
        if linktype == LINKTYPE_ETHERNET:
            if not data:
                raise struct.error("no Ethernet header")  # scapy would make one up
            pkt = Ether(data)
            if isinstance(pkt, Dot3):  # a length where the EtherType goes (802.3, LLC): not decoded further
                layers["eth"] = {"src": pkt.src.lower(), "dst": pkt.dst.lower(), "type": pkt.len}
                return layers
            layers["eth"] = {"src": pkt.src.lower(), "dst": pkt.dst.lower(), "type": pkt.type}
            network, payload = pkt, data[_ethernet_header_len(data):]
        else:
            eth, ethertype, payload = split_link(data, linktype)
            if eth is not None:
                layers["eth"] = eth
            if not payload:
                ethertype = None  # nothing after the link header (scapy would fill a packet with its defaults)
            network = IP(payload) if ethertype == ETHERTYPE_IPV4 else ARP(payload) if ethertype == ETHERTYPE_ARP else None
            if network is None and "eth" not in layers:
                layers["link"] = {"type": linktype, "unknown": True}
                return layers
        if network is not None:
            wire_payload = wire - (len(data) - len(payload))
            _network_layers(network, layers, payload, wire_payload)
    except (struct.error, IndexError, ValueError, TypeError):  # a frame cut inside a header
        layers.setdefault("frame", {"len": wire, "caplen": len(data), "cut": wire > len(data)})["undecodable"] = True
    return layers


def _ethernet_header_len(data: bytes) -> int:
    """14, plus 4 per VLAN tag."""
    offset = 14
    while struct.unpack_from("!H", data, offset - 2)[0] in (0x8100, 0x88A8) and len(data) >= offset + 4:
        offset += 4
    return offset


def _network_layers(pkt, layers: dict[str, dict[str, Any]], packet: bytes, wire_len: int) -> None:
    """ARP, IP and what IP carries; `packet`: the network packet's captured bytes."""
    if ARP in pkt:
        a = pkt[ARP]
        layers["arp"] = {"op": a.op, "hwsrc": a.hwsrc.lower(), "psrc": a.psrc, "hwdst": a.hwdst.lower(), "pdst": a.pdst}
    if IP in pkt:
        ip = pkt[IP]
        layers["ip"] = {"src": ip.src, "dst": ip.dst, "ttl": ip.ttl, "proto": ip.proto, "id": ip.id, "len": ip.len, "flags": str(ip.flags)}
        layers["checksum"] = _checksums(packet, wire_len)
        if TCP in ip and not isinstance(ip[TCP].underlayer, IPerror):
            layers["tcp"] = _tcp(ip[TCP], ip)
        elif UDP in ip and not isinstance(ip[UDP].underlayer, IPerror):
            udp = ip[UDP]
            payload = bytes(udp.payload)[: max(udp.len - 8, 0)]  # drop Ethernet padding
            layers["udp"] = {"sport": udp.sport, "dport": udp.dport, "len": len(payload), "payload": payload}
            if payload and is_bootp(udp.sport, udp.dport):
                layers.update(bootp_layers(payload))
        carrier = layers.get("tcp") or layers.get("udp")
        if carrier and carrier["payload"] and DNS_PORT in (carrier["sport"], carrier["dport"]):
            message = dns_layer(carrier["payload"], "tcp" if "tcp" in layers else "udp")
            if message is not None:
                layers["dns"] = message
        if ICMP in ip:
            icmp = ip[ICMP]
            layers["icmp"] = {"type": icmp.type, "code": icmp.code}
            if icmp.type == 3 and icmp.code == 4 and "nexthopmtu" in icmp.fields:
                layers["icmp"]["mtu"] = icmp.nexthopmtu
            if IPerror in icmp:
                inner = icmp[IPerror]
                layers["icmp"].update(inner_src=inner.src, inner_dst=inner.dst, inner_proto=inner.proto)
                quoted = inner.payload
                if isinstance(quoted, (TCPerror, UDPerror)):  # scapy read the quoted ports (at least 8 bytes)
                    layers["icmp"].update(inner_sport=quoted.sport, inner_dport=quoted.dport)
                    if isinstance(quoted, TCPerror):
                        layers["icmp"]["inner_seq"] = quoted.seq


def _checksums(packet: bytes, wire_len: int) -> dict[str, tuple[str, int, int | None]]:
    """Every checksum of the IP packet: (status, value as captured, correct value)."""
    return {k: (c.status, c.value, c.expected) for k, c in verify(packet, wire_len).items()}


def _tcp(tcp: TCP, ip: IP) -> dict[str, Any]:
    flags = str(tcp.flags)
    length = ip.len - ip.ihl * 4 - tcp.dataofs * 4  # the IP length, not the frame: no padding
    payload = bytes(tcp.payload)[: max(length, 0)]
    mss = next((v for k, v in tcp.options if k == "MSS"), None) if tcp.options else None
    return {
        "sport": tcp.sport,
        "dport": tcp.dport,
        "seq": tcp.seq,
        "ack": tcp.ack,
        "flags": canonical_flags(flags),
        "window": tcp.window,
        "len": len(payload),
        "mss": mss,
        "payload": payload,
    }


def summarize(layers: Mapping[str, Mapping[str, Any]]) -> str:
    """A one-line, tcpdump-like description (a cut frame says where it was cut)."""
    cut = layers.get("frame")
    text = _summary(layers)
    if cut and cut.get("cut"):
        text += f" [captured only {cut['caplen']} of {cut['len']} bytes]"
    return text


def _summary(layers: Mapping[str, Mapping[str, Any]]) -> str:
    if "arp" in layers:
        a = layers["arp"]
        if a["op"] == 1:
            return f"ARP who-has {a['pdst']} tell {a['psrc']}"
        return f"ARP {a['psrc']} is-at {a['hwsrc']}"
    ip = layers.get("ip")
    if ip is None and "eth" in layers:
        return f"Ethernet type 0x{layers['eth']['type']:04x}"
    if ip is None:
        return f"link type {layers['link']['type']} (not decoded)" if "link" in layers else "not decodable"
    if "dns" in layers:
        return dns_summary(layers)
    if "bootp" in layers:
        return dhcp_summary(layers)
    if "tcp" in layers:
        t = layers["tcp"]
        data = f" len={t['len']}" if t["len"] else ""
        ack = f" ack={t['ack']}" if "A" in t["flags"] else ""
        return f"TCP {ip['src']}:{t['sport']} → {ip['dst']}:{t['dport']} {flag_words(t['flags'])} seq={t['seq']}{ack}{data}"
    if "udp" in layers:
        u = layers["udp"]
        return f"UDP {ip['src']}:{u['sport']} → {ip['dst']}:{u['dport']} len={u['len']}"
    if "icmp" in layers:
        i = layers["icmp"]
        return f"ICMP {ip['src']} → {ip['dst']} {icmp_name(i['type'], i['code'])}"
    return f"IP {ip['src']} → {ip['dst']} proto {ip['proto']}"
