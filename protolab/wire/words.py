"""Words for what a decoded frame says: TCP flags, ICMP types, DNS messages.

The one home of these names, for the one-line frame summaries (decode.py),
the ladder's arrows (report/labels.py) and the labs. Pure: no scapy, no
dnspython; it works on the plain-data layers of a decoded frame.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Mapping

from rich.cells import cell_len

TCP_FLAG_ORDER = "FSRPAUEC"  # the order a decoded frame's `tcp.flags` letters come in
# Word order for flag names: SYN-ACK, FIN-ACK, PSH-ACK, RST-ACK, FIN-PSH-ACK, ...
_FLAG_WORDS = (("S", "SYN"), ("F", "FIN"), ("R", "RST"), ("P", "PSH"),
               ("U", "URG"), ("A", "ACK"), ("E", "ECE"), ("C", "CWR"))

ICMP_TYPES = {
    0: "echo reply", 3: "destination unreachable", 4: "source quench", 5: "redirect",
    8: "echo request", 11: "time exceeded", 12: "parameter problem",
    13: "timestamp request", 14: "timestamp reply",
}
UNREACHABLE = {0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
               4: "fragmentation needed", 9: "net prohibited", 10: "host prohibited",
               13: "administratively prohibited"}


def canonical_flags(flags: str) -> str:
    """TCP flag letters in the order decoded frames give them: "AS" → "SA", "AF" → "FA"."""
    return "".join(f for f in TCP_FLAG_ORDER if f in flags)


@lru_cache(maxsize=1024)
def flag_words(flags: str) -> str:
    """"SA" → "SYN-ACK", "FPA" → "FIN-PSH-ACK"; unknown letters are kept as they are."""
    words = [word for letter, word in _FLAG_WORDS if letter in flags]
    words += [c for c in flags if c not in TCP_FLAG_ORDER]
    return "-".join(words) if words else "no flags"


def icmp_name(kind: Any, code: Any) -> str:
    """"echo reply", "time exceeded", "port unreachable" (type 3 by its code), else "type 42 code 0"."""
    if kind == 3 and code in UNREACHABLE:
        return UNREACHABLE[code]
    return ICMP_TYPES.get(kind, f"type {kind} code {code}")


def shorter_forms(forms: Iterable[str]) -> tuple[str, ...]:
    """`forms` without repeats and without any form that is not shorter (on a terminal) than the one before it."""
    out: list[str] = []
    for form in forms:
        if not out or cell_len(form) < cell_len(out[-1]):
            out.append(form)
    return tuple(out)


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
