"""Raw captured bytes → plain-data Frames for the expectation core.

The only decoding path of the project; it runs after the capture, never in it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterable, Mapping

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror
from scapy.layers.l2 import ARP, Ether

from ..capture.frames import RawFrame
from ..expect.trace import Frame, Trace, make_trace
from ..topology.model import Topology
from .dnsmsg import DNS_PORT, dns_layer, dns_summary

BROADCAST = "ff:ff:ff:ff:ff:ff"
TCP_FLAG_ORDER = "FSRPAUEC"
ICMP_NAMES = {
    (0, None): "echo reply",
    (8, None): "echo request",
    (3, 0): "net unreachable",
    (3, 1): "host unreachable",
    (3, 3): "port unreachable",
    (3, None): "destination unreachable",
    (11, None): "time exceeded",
}


def decode_trace(raw: Iterable[RawFrame], topology: Topology, links: Iterable[str] = (), drops: int = 0) -> Trace:
    """Decode a capture into a Trace; times become seconds since the first frame."""
    raw = sorted(raw, key=lambda r: r.time_ns)
    t0 = raw[0].time_ns if raw else 0
    macs = {i.mac: n.name for n in topology.nodes for i in n.interfaces}
    frames = [decode_frame(r, (r.time_ns - t0) / 1e9, macs) for r in raw]
    return make_trace(frames, links, drops)


def decode_frame(raw: RawFrame, time: float, macs: Mapping[str, str]) -> Frame:
    layers = decode_layers(raw.data)
    dst = layers.get("eth", {}).get("dst", "")
    return Frame(
        index=0,
        time=time,
        link=raw.link,
        sender=raw.sender,
        receiver=None if dst == BROADCAST else macs.get(dst),
        layers=MappingProxyType({k: MappingProxyType(v) for k, v in layers.items()}),
        summary=summarize(layers),
    )


def decode_layers(data: bytes) -> dict[str, dict[str, Any]]:
    """Decode one Ethernet frame into {layer: {field: value}}."""
    pkt = Ether(data)
    layers: dict[str, dict[str, Any]] = {"eth": {"src": pkt.src.lower(), "dst": pkt.dst.lower(), "type": pkt.type}}
    if ARP in pkt:
        a = pkt[ARP]
        layers["arp"] = {"op": a.op, "hwsrc": a.hwsrc.lower(), "psrc": a.psrc, "hwdst": a.hwdst.lower(), "pdst": a.pdst}
    if IP in pkt:
        ip = pkt[IP]
        layers["ip"] = {"src": ip.src, "dst": ip.dst, "ttl": ip.ttl, "proto": ip.proto, "id": ip.id, "len": ip.len, "flags": str(ip.flags)}
        if TCP in ip and not isinstance(ip[TCP].underlayer, IPerror):
            layers["tcp"] = _tcp(ip[TCP], ip)
        elif UDP in ip and not isinstance(ip[UDP].underlayer, IPerror):
            udp = ip[UDP]
            payload = bytes(udp.payload)[: max(udp.len - 8, 0)]  # drop Ethernet padding
            layers["udp"] = {"sport": udp.sport, "dport": udp.dport, "len": len(payload), "payload": payload}
        carrier = layers.get("tcp") or layers.get("udp")
        if carrier and carrier["payload"] and DNS_PORT in (carrier["sport"], carrier["dport"]):
            message = dns_layer(carrier["payload"], "tcp" if "tcp" in layers else "udp")
            if message is not None:
                layers["dns"] = message
        if ICMP in ip:
            icmp = ip[ICMP]
            layers["icmp"] = {"type": icmp.type, "code": icmp.code}
            if IPerror in icmp:
                layers["icmp"].update(inner_src=icmp[IPerror].src, inner_dst=icmp[IPerror].dst, inner_proto=icmp[IPerror].proto)
    return layers


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
        "flags": "".join(f for f in TCP_FLAG_ORDER if f in flags),
        "window": tcp.window,
        "len": len(payload),
        "mss": mss,
        "payload": payload,
    }


def tcp_flag_words(flags: str) -> str:
    """"SA" → "SYN-ACK", "PA" → "PSH-ACK", "" → "(no flags)"."""
    names = {"F": "FIN", "S": "SYN", "R": "RST", "P": "PSH", "A": "ACK", "U": "URG", "E": "ECE", "C": "CWR"}
    return "-".join(names[f] for f in TCP_FLAG_ORDER if f in flags) or "(no flags)"


def icmp_name(type_: int, code: int) -> str:
    return ICMP_NAMES.get((type_, code)) or ICMP_NAMES.get((type_, None)) or f"type {type_} code {code}"


def summarize(layers: Mapping[str, Mapping[str, Any]]) -> str:
    """A one-line, tcpdump-like description."""
    if "arp" in layers:
        a = layers["arp"]
        if a["op"] == 1:
            return f"ARP who-has {a['pdst']} tell {a['psrc']}"
        return f"ARP {a['psrc']} is-at {a['hwsrc']}"
    ip = layers.get("ip")
    if ip is None:
        return f"Ethernet type 0x{layers['eth']['type']:04x}"
    if "dns" in layers:
        return dns_summary(layers)
    if "tcp" in layers:
        t = layers["tcp"]
        data = f" len={t['len']}" if t["len"] else ""
        ack = f" ack={t['ack']}" if "A" in t["flags"] else ""
        return f"TCP {ip['src']}:{t['sport']} → {ip['dst']}:{t['dport']} {tcp_flag_words(t['flags'])} seq={t['seq']}{ack}{data}"
    if "udp" in layers:
        u = layers["udp"]
        return f"UDP {ip['src']}:{u['sport']} → {ip['dst']}:{u['dport']} len={u['len']}"
    if "icmp" in layers:
        i = layers["icmp"]
        return f"ICMP {ip['src']} → {ip['dst']} {icmp_name(i['type'], i['code'])}"
    return f"IP {ip['src']} → {ip['dst']} proto {ip['proto']}"
