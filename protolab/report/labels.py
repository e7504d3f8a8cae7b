"""Short, human descriptions of decoded frames (the text on a ladder arrow).

TCP sequence numbers are shown relative to the start of each direction of a
connection, with the absolute value in brackets: `SYN-ACK seq=0 (5000) ack=1 (1001)`.

Every frame also has shorter forms (`Labeler.variants`), for narrow terminals:
each keeps what the frame is about (TCP flags and seq/ack, the DNS question or
the kind of answer, the ARP question) and drops detail first (absolute
numbers, DNS ids and glue, the ARP asker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..expect.trace import Frame
from ..wire.dhcpmsg import dhcp_summary
from ..wire.words import dns_labels, flag_words, icmp_name, shorter_forms

MOD = 2**32

_ARP_OPS = {1: "who-has", 2: "is-at", "who-has": "who-has", "is-at": "is-at"}

FlowKey = tuple[Any, Any, Any, Any]


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
        if "bootp" in layers:
            return dhcp_summary(layers)
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
        elif "bootp" in layers:
            whole = dhcp_summary(layers)
            forms = (whole, whole.split(" chaddr ")[0], whole.split(" xid=")[0])
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


def icmp_label(icmp: Mapping[str, Any], *, inner: bool = True) -> str:
    text = f"ICMP {icmp_name(icmp.get('type'), icmp.get('code'))}"
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


# -- HTTP messages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageFold:
    """One HTTP message and every frame that is about it: the segments that carried its bytes
    (on every link, retransmissions included) and the pure ACKs that acknowledged them."""

    view: Any  # protolab.expect.http.MessageView
    frames: tuple[int, ...]  # in capture order; frames[0] comes first on the ladder
    forms: tuple[str, ...]  # its label, then shorter forms

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def numbers(self) -> str:
        """"#15" or "#15–#26" (the frames may interleave with others: the first and the last)."""
        return f"#{self.frames[0]}" if len(self.frames) == 1 else f"#{self.frames[0]}–#{self.frames[-1]}"


def message_forms(view: Any) -> tuple[str, ...]:
    """`GET /index.html HTTP/1.1 · 39 B`, `200 OK ← GET /index.html · 3130 B body · 3 segments`, shorter forms after."""
    m = view.message
    segments = f"{m.segments} segment{'' if m.segments == 1 else 's'}"
    line = view.get("http.start_line") or "(nothing readable)"
    trouble = " ⚠ " + m.problems[0] if m.problems else ""
    if m.kind == "request":
        head = f"{view.get('http.method')} {view.get('http.target')}" if view.get("http.method") else f"unreadable {line[:40]!r}"
        size = f"{m.end - m.start} B" + (f", {m.body_len} B body" if m.body_len else "")
        forms = (f"HTTP {line} · {size} · {segments}{trouble}", f"HTTP {head} · {size}{trouble[:40]}", f"HTTP {head}")
    else:
        asked = view.http_connection.requests[m.answers - 1] if m.answers and m.answers <= len(
            view.http_connection.requests) else None
        to = f" ← {asked.method} {asked.target}" if asked is not None and asked.method else ""
        head = f"{m.status} {m.reason}" if m.status is not None else f"unreadable {line[:40]!r}"
        forms = (f"HTTP {head}{to} · {m.body_len} B body · {segments}{trouble}",
                 f"HTTP {head} · {m.body_len} B · {m.segments} seg{trouble[:40]}", f"HTTP {head}")
    return shorter_forms(forms)


def http_folds(trace: Any) -> dict[int, MessageFold]:
    """Frame number → the HTTP message it is about, for the connections that carry HTTP (one of
    their messages has a start line that reads); frames of other traffic are in no fold."""
    from ..wire.tcp import seq_distance

    views = [v for v in trace.messages if _speaks_http(v.http_connection)]
    if not views:
        return {}
    by_conn: dict[int, list[Any]] = {}
    for v in views:
        by_conn.setdefault(v.connection, []).append(v)
    members: dict[int, list[int]] = {id(v): [] for v in views}
    for number, conn_views in by_conn.items():
        tcp = conn_views[0].http_connection.tcp
        for index in sorted((*tcp.frames, *tcp.copies)):
            frame = trace[index]
            ip, seg = frame.layers.get("ip", {}), frame.layers.get("tcp", {})
            up = (ip.get("src"), seg.get("sport")) == tuple(tcp.client)
            flags, length = seg.get("flags") or "", seg.get("len") or 0
            if "S" in flags or "R" in flags or "F" in flags:
                continue
            for v in conn_views:
                m = v.message
                stream = tcp.upstream if m.kind == "request" else tcp.downstream
                sender_side = m.kind == "request"
                if length and up == sender_side:  # a segment of its bytes, on any link
                    start = seq_distance(seg.get("seq", 0), stream.base)
                    if m.start <= start < m.end:
                        members[id(v)].append(index)
                        break
                elif not length and flags == "A" and up != sender_side:  # a pure ACK of its bytes
                    acked = seq_distance(seg.get("ack", 0), stream.base)
                    if m.start < acked <= m.end:
                        members[id(v)].append(index)
                        break
    out: dict[int, MessageFold] = {}
    for v in views:
        frames = tuple(sorted(set(members[id(v)]) | set(v.message.frames)))
        if not frames:
            continue
        fold = MessageFold(v, frames, message_forms(v))
        for index in frames:
            out.setdefault(index, fold)
    return out


def _speaks_http(conn: Any) -> bool:
    return any(m.method is not None or m.status is not None for m in (*conn.requests, *conn.responses))
