"""Short, human descriptions of decoded frames (the text on a ladder arrow).

TCP sequence numbers are shown relative to the start of each direction of a
connection, with the absolute value in brackets: `SYN-ACK seq=0 (5000) ack=1 (1001)`.

Every frame also has shorter forms (`Labeler.variants`), for narrow terminals:
each keeps what the frame is about (TCP flags and seq/ack, the DNS question or
the kind of answer, the ARP question) and drops detail first (absolute
numbers, DNS ids and glue, the ARP asker).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from rich.cells import cell_len

from protolab.expect.trace import Frame

MOD = 2**32

# Word order for flag names: SYN-ACK, FIN-ACK, PSH-ACK, RST-ACK, FIN-PSH-ACK, ...
_FLAG_WORDS = (("S", "SYN"), ("F", "FIN"), ("R", "RST"), ("P", "PSH"),
               ("U", "URG"), ("A", "ACK"), ("E", "ECE"), ("C", "CWR"))

_ICMP_TYPES = {
    0: "echo reply", 3: "dest unreachable", 4: "source quench", 5: "redirect",
    8: "echo request", 11: "time exceeded", 12: "parameter problem",
    13: "timestamp request", 14: "timestamp reply",
}
_UNREACHABLE = {0: "net", 1: "host", 2: "protocol", 3: "port", 4: "fragmentation needed",
                9: "net prohibited", 10: "host prohibited", 13: "administratively prohibited"}
_ARP_OPS = {1: "who-has", 2: "is-at", "who-has": "who-has", "is-at": "is-at"}

FlowKey = tuple[Any, Any, Any, Any]


def flag_words(flags: str) -> str:
    """"SA" → "SYN-ACK", "FPA" → "FIN-PSH-ACK"; unknown letters are kept as they are."""
    words = [word for letter, word in _FLAG_WORDS if letter in flags]
    words += [c for c in flags if c not in "SFRPUAEC"]
    return "-".join(words) if words else "no flags"


def flow_key(frame: Frame) -> FlowKey | None:
    """(src, sport, dst, dport) of a TCP frame; None when it is not TCP."""
    tcp = frame.layers.get("tcp")
    if tcp is None:
        return None
    ip = frame.layers.get("ip", {})
    return (ip.get("src"), tcp.get("sport"), ip.get("dst"), tcp.get("dport"))


def seq_bases(frames: Iterable[Frame]) -> dict[FlowKey, int]:
    """Per direction: the seq of its first SYN, or of its first segment if no SYN was seen."""
    first_syn: dict[FlowKey, int] = {}
    first_any: dict[FlowKey, int] = {}
    for frame in frames:
        key = flow_key(frame)
        seq = frame.layers["tcp"].get("seq") if key else None
        if key is None or not isinstance(seq, int):
            continue
        first_any.setdefault(key, seq)
        if "S" in (frame.layers["tcp"].get("flags") or ""):
            first_syn.setdefault(key, seq)
    return {**first_any, **first_syn}


def _relative(value: Any, base: int | None, absolute: bool = True) -> str:
    if not isinstance(value, int) or base is None:
        return str(value)
    relative = (value - base) % MOD
    return f"{relative} ({value})" if absolute else str(relative)


class Labeler:
    """Describes the frames of one trace (it needs the whole trace for relative numbers)."""

    def __init__(self, frames: Iterable[Frame]):
        self.bases = seq_bases(frames)

    def label(self, frame: Frame, *, absolute: bool = True) -> str:
        """The description; `absolute=False` leaves out the absolute TCP numbers (for narrow output)."""
        layers = frame.layers
        if "dns" in layers:
            return dns_labels(layers["dns"])[0]
        if "tcp" in layers:
            return self.tcp(frame, absolute=absolute)
        if "arp" in layers:
            return arp_label(layers["arp"])
        if "icmp" in layers:
            return icmp_label(layers["icmp"])
        if "udp" in layers:
            return udp_label(layers.get("ip", {}), layers["udp"])
        if frame.summary:
            return frame.summary
        if "ip" in layers:
            ip = layers["ip"]
            return f"IP {ip.get('src')} → {ip.get('dst')} proto={ip.get('proto')}"
        eth = layers.get("eth")
        if eth and eth.get("type") is not None:
            kind = eth["type"]
            return f"ethertype {kind:#06x}" if isinstance(kind, int) else f"ethertype {kind}"
        return "frame"

    def variants(self, frame: Frame) -> tuple[str, ...]:
        """The label, then shorter forms of it, each shorter than the one before
        (the first is `label(frame)`; every form keeps what the frame is about)."""
        layers = frame.layers
        if "dns" in layers:
            forms: tuple[str, ...] = dns_labels(layers["dns"])
        elif "tcp" in layers:
            relative = self.tcp(frame, absolute=False)
            forms = (self.tcp(frame), relative, relative.replace(" [retransmission]", " [retrans.]"))
        elif "arp" in layers:
            forms = arp_labels(layers["arp"])
        elif "icmp" in layers:
            forms = (icmp_label(layers["icmp"]), icmp_label(layers["icmp"], inner=False))
        elif "udp" in layers:
            forms = (udp_label(layers.get("ip", {}), layers["udp"]),
                     udp_label(layers.get("ip", {}), layers["udp"], source=False))
        else:
            forms = (self.label(frame),)
        return shorter_forms(forms)

    def tcp(self, frame: Frame, *, absolute: bool = True) -> str:
        tcp = frame.layers["tcp"]
        key = flow_key(frame)
        assert key is not None
        flags = tcp.get("flags") or ""
        parts = [flag_words(flags), f"seq={_relative(tcp.get('seq'), self.bases.get(key), absolute)}"]
        if "A" in flags:
            reverse = (key[2], key[3], key[0], key[1])
            parts.append(f"ack={_relative(tcp.get('ack'), self.bases.get(reverse), absolute)}")
        length = tcp.get("len") or 0
        if length:
            parts.append(f"len={length}")
        if tcp.get("retransmission"):
            parts.append("[retransmission]")
        return " ".join(parts)


def shorter_forms(forms: Iterable[str]) -> tuple[str, ...]:
    """`forms` without repeats and without any form that is not shorter than the one before it."""
    out: list[str] = []
    for form in forms:
        if not out or cell_len(form) < cell_len(out[-1]):
            out.append(form)
    return tuple(out)


def arp_label(arp: Mapping[str, Any]) -> str:
    return arp_labels(arp)[0]


def arp_labels(arp: Mapping[str, Any]) -> tuple[str, ...]:
    """"ARP who-has 10.0.1.1 tell 10.0.1.10", then "ARP who-has 10.0.1.1"."""
    op = _ARP_OPS.get(arp.get("op"))
    if op in ("who-has", "is-at") and arp.get("psrc") == arp.get("pdst"):
        # an announcement, not a question
        return (f"ARP gratuitous: {arp.get('psrc')} is-at {arp.get('hwsrc')}", f"ARP gratuitous: {arp.get('psrc')}")
    if op == "who-has":
        return (f"ARP who-has {arp.get('pdst')} tell {arp.get('psrc')}", f"ARP who-has {arp.get('pdst')}")
    if op == "is-at":
        return (f"ARP {arp.get('psrc')} is-at {arp.get('hwsrc')}", f"ARP {arp.get('psrc')} is-at")
    return (f"ARP op={arp.get('op')} {arp.get('psrc')} → {arp.get('pdst')}",)


def dns_labels(layer: Mapping[str, Any]) -> tuple[str, ...]:
    """A DNS message, longest form first.

    A question: "query A www.example.lab. RD id 0x1aa7", "query A www.example.lab. RD",
    "A? www.example.lab. RD". A response, by what it says:
    "referral → lab. NS ns1.nic.lab. (glue 10.0.2.12) id 0x1aa7", then without
    the id, then "referral → lab. (glue)", then "referral → lab."; likewise
    "answer AA: A 10.0.2.80, A 10.0.2.81 id 0x0007" → "answer AA: A 10.0.2.81 +1" →
    "answer AA: 2 A" → "answer AA", "NXDOMAIN AA (SOA of example.lab.) id 0x0007" → "NXDOMAIN AA",
    "truncated TC=1 AA: ask again over TCP id 0x0007" → "truncated TC=1 AA". Nothing is clipped:
    the ladder picks the longest form that fits.
    """
    tcp = " (TCP)" if layer.get("transport") == "tcp" else ""
    ident = f" id 0x{layer.get('id', 0):04x}"  # hex, as Wireshark and the messages show it
    if layer.get("malformed"):
        return (f"DNS malformed{ident}{tcp}", f"DNS malformed{tcp}")
    if not layer.get("qr"):
        rd = " RD" if layer.get("rd") else ""
        question = f"{layer.get('qtype') or '?'} {layer.get('qname') or '?'}"
        qshort = f"{layer.get('qtype') or '?'}? {layer.get('qname') or '?'}"
        return shorter_forms((f"query {question}{rd}{ident}{tcp}", f"query {question}{rd}{tcp}", f"{qshort}{rd}{tcp}"))
    kind, *details = _dns_response(layer)
    full = f"{kind}{details[0]}"
    return shorter_forms((f"{full}{ident}{tcp}", f"{full}{tcp}", *(f"{kind}{d}{tcp}" for d in details[1:]), f"{kind}{tcp}"))


def _dns_response(layer: Mapping[str, Any]) -> tuple[str, ...]:
    """What a DNS response is ("referral → lab.", "answer AA"), then its details, from all of them to a few."""
    aa = " AA" if layer.get("aa") else ""
    rcode = layer.get("rcode", "NOERROR")
    answers = tuple(layer.get("answers") or ())
    authority = tuple(layer.get("authority") or ())
    soa = next((r for r in authority if r[1] == "SOA"), None)
    where = f" (SOA of {soa[0]})" if soa else ""
    if layer.get("tc"):
        return f"truncated TC=1{aa}", ": ask again over TCP"
    if rcode == "NXDOMAIN":
        return f"NXDOMAIN{aa}", where
    if rcode != "NOERROR":
        return f"{rcode}{aa}", ""
    if answers:
        last = answers[-1]
        more = f" +{len(answers) - 1}" if len(answers) > 1 else ""
        types = sorted({t for _, t, _ in answers})
        count = f": {len(answers)} {types[0]}" if len(types) == 1 else f": {len(answers)} records"
        return (f"answer{aa}", ": " + ", ".join(f"{t} {v}" for _, t, v in answers), f": {last[1]} {last[2]}{more}",
                count if len(answers) > 1 else "")
    ns = [r for r in authority if r[1] == "NS"]
    if ns and not layer.get("aa"):
        addresses: dict[str, list[str]] = {}
        for owner, kind, value in layer.get("additional") or ():
            if kind in ("A", "AAAA"):
                addresses.setdefault(owner, []).append(value)
        glue = [a for r in ns for a in addresses.get(r[2], ())]
        said = f" (glue {', '.join(glue)})" if glue else " (no glue)"
        return f"referral → {ns[0][0]}", f" NS {', '.join(r[2] for r in ns)}{said}", " (glue)" if glue else " (no glue)"
    return f"no data{aa}", where


def icmp_label(icmp: Mapping[str, Any], *, inner: bool = True) -> str:
    kind, code = icmp.get("type"), icmp.get("code")
    name = _ICMP_TYPES.get(kind, f"type={kind} code={code}")
    if kind == 3 and code in _UNREACHABLE:
        name += f" ({_UNREACHABLE[code]})"
    text = f"ICMP {name}"
    if inner and (icmp.get("inner_src") is not None or icmp.get("inner_dst") is not None):
        text += f" for {icmp.get('inner_src')} → {icmp.get('inner_dst')}"
    return text


def udp_label(ip: Mapping[str, Any], udp: Mapping[str, Any], *, source: bool = True) -> str:
    """"UDP 10.0.1.10:5353 → 10.0.2.53:53 len=3"; `source=False`: "UDP → 10.0.2.53:53 len=3"."""
    length = udp.get("len")
    if length is None and isinstance(udp.get("payload"), (bytes, bytearray)):
        length = len(udp["payload"])
    origin = f" {ip.get('src')}:{udp.get('sport')}" if source else ""
    text = f"UDP{origin} → {ip.get('dst')}:{udp.get('dport')}"
    return text if length is None else f"{text} len={length}"
