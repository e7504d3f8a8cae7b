"""DNS messages (UDP or TCP port 53) → the plain-data `dns` layer of a decoded frame.

    {"id": 4660, "qr": True, "opcode": "QUERY", "aa": False, "tc": False, "rd": False, "ra": False,
     "rcode": "NOERROR", "qname": "www.example.lab.", "qtype": "A",
     "answers": (), "authority": (("lab.", "NS", "ns1.nic.lab."),),
     "additional": (("ns1.nic.lab.", "A", "10.0.2.12"),), "edns": None, "transport": "udp"}

Records are (owner, type, value) tuples in wire order, names in lower case
with the final dot, values as dnspython writes them; the EDNS OPT record is not
a record but `edns` (the advertised UDP payload size, or None without EDNS).
Over TCP a message follows its two-byte length; a segment that does not hold
exactly one whole message gets no `dns` layer.
"""

from __future__ import annotations

import struct
from typing import Any, Mapping

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype

from .words import dns_labels

DNS_PORT = 53
HEADER = struct.Struct("!HHHHHH")


def dns_layer(payload: bytes, transport: str) -> dict[str, Any] | None:
    """The `dns` layer of a UDP datagram or TCP segment payload to or from port 53, or None."""
    if transport == "tcp":
        if len(payload) < 2 or struct.unpack("!H", payload[:2])[0] != len(payload) - 2:
            return None
        payload = payload[2:]
    if len(payload) < HEADER.size:
        return None
    ident, flags = HEADER.unpack_from(payload)[:2]
    layer: dict[str, Any] = {
        "id": ident,
        "qr": bool(flags & dns.flags.QR),
        "opcode": dns.opcode.to_text(dns.opcode.from_flags(flags)),
        "aa": bool(flags & dns.flags.AA),
        "tc": bool(flags & dns.flags.TC),
        "rd": bool(flags & dns.flags.RD),
        "ra": bool(flags & dns.flags.RA),
        "rcode": dns.rcode.to_text(flags & 0x000F),
        "qname": None,
        "qtype": None,
        "answers": (),
        "authority": (),
        "additional": (),
        "edns": None,
        "transport": transport,
    }
    try:
        message = dns.message.from_wire(payload, ignore_trailing=True, one_rr_per_rrset=True)
    except (dns.exception.DNSException, ValueError, struct.error):
        layer["malformed"] = True  # the header above is still true
        return layer
    layer["rcode"] = dns.rcode.to_text(message.rcode())
    if message.question:
        question = message.question[0]
        layer["qname"] = question.name.to_text().lower()
        layer["qtype"] = dns.rdatatype.to_text(question.rdtype)
    layer["answers"] = _records(message.answer)
    layer["authority"] = _records(message.authority)
    layer["additional"] = _records(message.additional)
    layer["edns"] = message.payload if message.edns >= 0 else None
    return layer


def _records(section) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype), rdata.to_text())
        for rrset in section
        for rdata in rrset
    )


def dns_summary(layers: Mapping[str, Mapping[str, Any]]) -> str:
    """A one-line, tcpdump-like description of a frame carrying DNS."""
    ip, dns_ = layers["ip"], layers["dns"]
    transport = layers.get(dns_["transport"], {})
    words = dns_labels(dns_)[0].removesuffix(" (TCP)")  # the transport is named first
    return f"{dns_['transport'].upper()} {ip['src']}:{transport.get('sport')} → {ip['dst']}:{transport.get('dport')} DNS {words}"
