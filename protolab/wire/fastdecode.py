"""The frames labs are made of, decoded with `struct` alone: the fast path of decode.py.

Ethernet II (802.1Q and 802.1ad tags as decode.py skips them), Linux cooked v1
and v2, raw IPv4; ARP (Ethernet/IPv4), IPv4 (options or not), TCP (its MSS
option), UDP, ICMP (and the IP header an error quotes), DNS over UDP or TCP
port 53 (dnsmsg.py), BOOTP/DHCP on ports 67/68 (dhcpmsg.py). `fast_layers` gives exactly the layers decode.py's scapy
path (`scapy_layers`) gives for the same bytes, field for field and type for
type, or None: a frame it is not sure of (IPv6 and other EtherTypes, IP
fragments, a header the capture cut or whose lengths disagree, a TCP-AO option,
an ICMP error quoting an error, ...) is left to scapy, so what a frame decodes
to never depends on which path read it.

Where scapy would dissect a payload into a further layer (a UDP port bound to
GRE, scapy.layers.dns bound to port 53 when imported, ...), that layer could
change what scapy finds, so those frames are left to scapy too: read from its
binding tables (bind_layers), whatever modules the process has imported.
"""

from __future__ import annotations

import struct
from socket import inet_ntoa
from typing import Any

from scapy.layers.inet import ICMP, IP, TCP, UDP, ICMPerror, IPerror, TCPerror, UDPerror
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether

from ..capture.frames import LINKTYPE_ETHERNET
from . import decode as _decode  # split_link and the checksum layer (at call time: decode imports this module)
from .dhcpmsg import bootp_layers, is_bootp
from .dnsmsg import DNS_PORT, dns_layer
from .words import canonical_flags

ETHERTYPE_IPV4, ETHERTYPE_ARP, ETHERTYPE_8021Q, ETHERTYPE_8021AD = 0x0800, 0x0806, 0x8100, 0x88A8
VLAN_CLASSES = {ETHERTYPE_8021Q: Dot1Q, ETHERTYPE_8021AD: Dot1AD}
MAX_8023_LENGTH = 1500  # an Ethernet "type" up to this is an 802.3 length (scapy: Dot3)
ICMP_ERRORS = (3, 4, 5, 11, 12)  # scapy dissects what follows their header as the quoted IP header
ICMP_EXTENSIONS = (3, 11, 12)  # RFC 4884: scapy looks for extensions in a message of 144 bytes or more
ICMP_EXTENSION_MIN = 144
ICMP_HEADER_LEN = {13: 20, 14: 20, 17: 12, 18: 12, 37: 12, 38: 12}  # the fields scapy reads per type; else 8
TCP_OPT_EOL, TCP_OPT_NOP, TCP_OPT_MSS, TCP_OPT_AO = 0, 1, 2, 29
IP_HEADER = struct.Struct("!BxHHHBB")  # version/ihl, total length, id, flags/fragment, ttl, protocol
TCP_HEADER = struct.Struct("!HHIIHH")  # ports, seq, ack, data offset/flags, window
UDP_HEADER = struct.Struct("!HHH")
ARP_HEADER = struct.Struct("!HHBBH")
UNKNOWN = object()  # a binding on a field the fast path does not read

# scapy's own strings for IP flags (MF+DF+evil, ...) and TCP flags, in decode.py's canonical order
IP_FLAGS = tuple(str(IP(flags=value).flags) for value in range(8))
TCP_FLAGS: dict[int, str] = {}

# the same address seen in 100,000 frames is one string, not 100,000 (bounded: cleared when full)
_NAMES: dict[bytes, str] = {}
MAX_NAMES = 4096


def fast_layers(data: bytes, linktype: int = LINKTYPE_ETHERNET, wire_len: int | None = None) -> dict[str, dict[str, Any]] | None:
    """decode_layers' layers for `data`, or None: left to scapy."""
    caplen = len(data)
    wire = max(wire_len or 0, caplen)
    layers: dict[str, dict[str, Any]] = {}
    if wire > caplen:
        layers["frame"] = {"len": wire, "caplen": caplen, "cut": True}
    bindings = _bindings()
    if linktype == LINKTYPE_ETHERNET:
        if caplen < 14:
            return None
        ethertype = data[12] << 8 | data[13]
        layers["eth"] = {"src": _mac(data[6:12]), "dst": _mac(data[:6]), "type": ethertype}
        if ethertype <= MAX_8023_LENGTH:
            return layers
        offset, upper = 14, bindings.next_layer(Ether, ethertype)
        while ethertype in VLAN_CLASSES:  # as decode.py's _ethernet_header_len
            if upper is not VLAN_CLASSES[ethertype] or caplen < offset + 4:
                return None
            ethertype = data[offset + 2] << 8 | data[offset + 3]
            offset += 4
            upper = bindings.next_layer(upper, ethertype)
        if not (ethertype == ETHERTYPE_IPV4 and upper is IP or ethertype == ETHERTYPE_ARP and upper is ARP):
            return None
        packet = data[offset:]
    else:
        eth, ethertype, packet = _decode.split_link(data, linktype)
        if eth is not None:
            layers["eth"] = eth
        if ethertype not in (ETHERTYPE_IPV4, ETHERTYPE_ARP):
            if eth is None:
                layers["link"] = {"type": linktype, "unknown": True}
            return layers
        offset = caplen - len(packet)
    if ethertype == ETHERTYPE_ARP:
        return _arp(packet, layers)
    return _ip(packet, wire - offset, layers, bindings)


def _arp(packet: bytes, layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    if len(packet) < 28:
        return None
    hwtype, ptype, hwlen, plen, op = ARP_HEADER.unpack_from(packet)
    if hwtype != 1 or ptype != ETHERTYPE_IPV4 or hwlen != 6 or plen != 4:
        return None  # scapy gives other hardware or protocol addresses as bytes
    layers["arp"] = {"op": op, "hwsrc": _mac(packet[8:14]), "psrc": _ip_text(packet[14:18]),
                     "hwdst": _mac(packet[18:24]), "pdst": _ip_text(packet[24:28])}
    return layers


def _ip(packet: bytes, wire_len: int, layers: dict[str, dict[str, Any]], bindings: _Bindings) -> dict[str, dict[str, Any]] | None:
    """IP and what it carries; `packet`: the network packet's captured bytes, `wire_len`: its length on the wire."""
    captured = len(packet)
    if captured < 20:
        return None
    version_ihl, total, ident, fragment, ttl, proto = IP_HEADER.unpack_from(packet)
    hlen = (version_ihl & 0x0F) * 4
    if version_ihl >> 4 != 4 or hlen < 20 or captured < hlen or total < hlen or fragment & 0x3FFF:
        return None  # not IPv4, a header cut or shorter than itself, a fragment (MF or an offset)
    if total > captured and wire_len <= captured:
        return None  # the header claims bytes the wire did not carry
    end = min(total, captured)  # scapy's IP payload: up to the total length, Ethernet padding dropped
    layers["ip"] = {"src": _ip_text(packet[12:16]), "dst": _ip_text(packet[16:20]), "ttl": ttl, "proto": proto,
                    "id": ident, "len": total, "flags": IP_FLAGS[fragment >> 13]}
    layers["checksum"] = _decode._checksums(packet, wire_len)
    if end == hlen:
        return layers  # no payload: scapy dissects nothing further
    upper = bindings.next_layer(IP, proto)
    if proto == 6 and upper is TCP:
        return _tcp(packet, hlen, end, total, layers, bindings)
    if proto == 17 and upper is UDP:
        return _udp(packet, hlen, end, total, layers, bindings)
    if proto == 1 and upper is ICMP:
        return _icmp(packet, hlen, end, layers, bindings)
    return layers if upper is None else None  # a protocol scapy leaves raw, or one it dissects


def _tcp(packet: bytes, start: int, end: int, total: int, layers: dict[str, dict[str, Any]],
         bindings: _Bindings) -> dict[str, dict[str, Any]] | None:
    if end - start < 20:
        return None
    sport, dport, seq, ack, offset_flags, window = TCP_HEADER.unpack_from(packet, start)
    hlen = (offset_flags >> 12) * 4
    if hlen < 20 or start + hlen > end:
        return None
    mss = None
    if hlen > 20:
        found, mss = _mss(packet, start + 20, start + hlen)
        if not found:
            return None
    if end > start + hlen and (sport in bindings.tcp_ports or dport in bindings.tcp_ports):
        return None  # scapy dissects this payload into a layer of its own
    payload = packet[start + hlen:total]  # scapy's payload cut to the IP length
    flags = TCP_FLAGS.get(offset_flags & 0x1FF)
    if flags is None:
        flags = TCP_FLAGS[offset_flags & 0x1FF] = _tcp_flags(offset_flags & 0x1FF)
    layers["tcp"] = {"sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags, "window": window,
                     "len": len(payload), "mss": mss, "payload": payload}
    if payload and DNS_PORT in (sport, dport):
        message = dns_layer(payload, "tcp")
        if message is not None:
            layers["dns"] = message
    return layers


def _mss(packet: bytes, start: int, end: int) -> tuple[bool, Any]:
    """(whether scapy reads these TCP options as the fast path does, the first MSS option's value).

    Walks them as scapy's TCPOptionsField does: an option announcing a length
    under 2 takes 2 bytes; an MSS option of any other length than 4 gives its
    value as bytes."""
    mss = None  # options there are (start < end): scapy's list of them is not empty
    seen = False
    i = start
    while i < end:
        kind = packet[i]
        if kind == TCP_OPT_EOL:
            break
        if kind == TCP_OPT_NOP:
            i += 1
            continue
        length = packet[i + 1] if i + 1 < end else 0
        if length < 2:
            length = 2
        if kind == TCP_OPT_AO:
            return False, None  # scapy dissects its value as a packet of its own
        if kind == TCP_OPT_MSS and not seen:
            value = packet[i + 2:min(i + length, end)]
            mss = value[0] << 8 | value[1] if len(value) == 2 else value
            seen = True
        i += length
    return True, mss


def _udp(packet: bytes, start: int, end: int, total: int, layers: dict[str, dict[str, Any]],
         bindings: _Bindings) -> dict[str, dict[str, Any]] | None:
    if end - start < 8:
        return None
    sport, dport, length = UDP_HEADER.unpack_from(packet, start)
    if length < 8 or length > total - start:
        return None  # a UDP length the IP packet cannot hold
    if length > 8 and end > start + 8 and (sport in bindings.udp_ports or dport in bindings.udp_ports):
        return None
    payload = packet[start + 8:start + length]
    layers["udp"] = {"sport": sport, "dport": dport, "len": len(payload), "payload": payload}
    if payload and is_bootp(sport, dport):
        layers.update(bootp_layers(payload))
    if payload and DNS_PORT in (sport, dport):
        message = dns_layer(payload, "udp")
        if message is not None:
            layers["dns"] = message
    return layers


def _icmp(packet: bytes, start: int, end: int, layers: dict[str, dict[str, Any]],
          bindings: _Bindings) -> dict[str, dict[str, Any]] | None:
    size = end - start
    type_ = packet[start]
    if size < ICMP_HEADER_LEN.get(type_, 8):
        return None
    icmp: dict[str, Any] = {"type": type_, "code": packet[start + 1]}
    if type_ == 3 and icmp["code"] == 4:
        icmp["mtu"] = packet[start + 6] << 8 | packet[start + 7]
    if type_ in ICMP_ERRORS and size > 8:
        if type_ in ICMP_EXTENSIONS and size >= ICMP_EXTENSION_MIN:
            return None
        quote = start + 8
        if end - quote < 20:
            return None  # scapy cannot read the quoted header
        inner_hlen = (packet[quote] & 0x0F) * 4
        inner_proto = packet[quote + 9]
        inner_fragment = (packet[quote + 6] << 8 | packet[quote + 7]) & 0x1FFF
        if inner_hlen < 20 or not _quoted_transport_known(packet, quote + inner_hlen, end, inner_proto,
                                                          inner_fragment, bindings):
            return None
        icmp.update(inner_src=_ip_text(packet[quote + 12:quote + 16]), inner_dst=_ip_text(packet[quote + 16:quote + 20]),
                    inner_proto=inner_proto)
        inner_payload = (packet[quote + 2] << 8 | packet[quote + 3]) - inner_hlen  # scapy cuts the quote there
        inner_end = end if inner_payload < 0 else min(end, quote + inner_hlen + inner_payload)
        _quoted_ports(packet, quote + inner_hlen, inner_end, bindings.quoted_layer(inner_proto, inner_fragment), icmp)
    layers["icmp"] = icmp
    return layers


def _quoted_transport_known(packet: bytes, start: int, end: int, proto: int, fragment: int, bindings: _Bindings) -> bool:
    """Whether what scapy dissects after a quoted IP header holds no layer decode.py would read."""
    upper = bindings.quoted_layer(proto, fragment)
    if upper is None:
        return True  # raw bytes
    if upper is TCPerror or upper is UDPerror:
        if end - start < 4:
            return True  # too short for scapy to read ports: raw bytes
        ports = bindings.quoted_tcp_ports if upper is TCPerror else bindings.quoted_udp_ports
        return (packet[start] << 8 | packet[start + 1]) not in ports and (packet[start + 2] << 8 | packet[start + 3]) not in ports
    if upper is ICMPerror:
        return start >= end or packet[start] not in ICMP_ERRORS  # an error quoting an error: nested quotes
    return False


def _quoted_ports(packet: bytes, start: int, end: int, upper: Any, icmp: dict[str, Any]) -> None:
    """The ports (and TCP sequence number) of the quoted segment or datagram, where scapy reads them:
    UDP from 8 bytes on; TCP with exactly 8 (ports and seq) or 20 and more (its fixed header)."""
    length = end - start
    if upper is UDPerror and length >= 8 or upper is TCPerror and (length == 8 or length >= 20):
        sport, dport = struct.unpack_from("!HH", packet, start)
        icmp.update(inner_sport=sport, inner_dport=dport)
        if upper is TCPerror:
            icmp["inner_seq"] = struct.unpack_from("!I", packet, start + 4)[0]


def _tcp_flags(value: int) -> str:
    return canonical_flags(str(TCP(flags=value).flags))


def _mac(raw: bytes) -> str:
    name = _NAMES.get(raw)
    if name is None:
        if len(_NAMES) >= MAX_NAMES:
            _NAMES.clear()
        name = _NAMES[raw] = raw.hex(":")
    return name


def _ip_text(raw: bytes) -> str:
    name = _NAMES.get(raw)
    if name is None:
        if len(_NAMES) >= MAX_NAMES:
            _NAMES.clear()
        name = _NAMES[raw] = inet_ntoa(raw)
    return name


class _Bindings:
    """What scapy would dissect after each layer the fast path reads, from its binding tables.

    bind_layers() gives a class a new `payload_guess` list each time, so a
    snapshot of those lists tells whether the tables changed since it was taken."""

    OWNERS = (Ether, Dot1Q, Dot1AD, IP, IPerror, TCP, TCPerror, UDP, UDPerror)

    def __init__(self) -> None:
        self.lists = tuple(c.payload_guess for c in self.OWNERS)
        self._next: dict[tuple[type, int], Any] = {}
        self.tcp_ports = _bound_ports(TCP)
        self.udp_ports = _bound_ports(UDP)
        self.quoted_tcp_ports = _bound_ports(TCPerror)
        self.quoted_udp_ports = _bound_ports(UDPerror)

    def next_layer(self, cls: type, value: int) -> Any:
        """The class scapy dissects after a `cls` layer whose type (Ethernet, VLAN) or protocol (IP, fragment 0) is `value`."""
        key = (cls, value)
        try:
            return self._next[key]
        except KeyError:
            if len(self._next) >= MAX_NAMES:
                self._next.clear()
            fields = {"proto": value, "frag": 0} if cls is IP else {"type": value}
            upper = self._next[key] = _guess(cls, fields)
            return upper

    def quoted_layer(self, proto: int, fragment: int) -> Any:
        return _guess(IPerror, {"proto": proto, "frag": fragment})


def _guess(cls: type, fields: dict[str, int]) -> Any:
    """scapy's Packet.guess_payload_class for a `cls` layer with these field values (UNKNOWN: a
    binding on another field); None: none applies (raw bytes)."""
    for t in cls.aliastypes:
        for condition, upper in t.payload_guess:
            if any(k not in fields for k in condition):
                return UNKNOWN
            if all(fields[k] == v for k, v in condition.items()):
                return upper
    return None


class _AllPorts(frozenset):
    def __contains__(self, port: object) -> bool:
        return True


def _bound_ports(cls: type) -> frozenset[int]:
    """Every port a binding of `cls` names (all of them if one is on another field)."""
    ports: set[int] = set()
    for t in cls.aliastypes:
        for condition, _ in t.payload_guess:
            if not condition or any(k not in ("sport", "dport") for k in condition):
                return _AllPorts()
            ports.update(condition.values())
    return frozenset(ports)


_snapshot = _Bindings()


def _bindings() -> _Bindings:
    """The snapshot of scapy's binding tables, taken again if they changed (the same lists, or lists alike)."""
    global _snapshot
    if (Ether.payload_guess, Dot1Q.payload_guess, Dot1AD.payload_guess, IP.payload_guess, IPerror.payload_guess,
            TCP.payload_guess, TCPerror.payload_guess, UDP.payload_guess, UDPerror.payload_guess) != _snapshot.lists:
        _snapshot = _Bindings()
    return _snapshot
