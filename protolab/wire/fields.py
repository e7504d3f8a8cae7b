"""Every field path a decoded frame can carry: its type, its meaning, whether it is a TCP sequence number.

    FIELDS["tcp.seq"]  →  FieldInfo("tcp.seq", (int,), "sequence number of the first byte ...", seq=True)

decode.py (both its fast path and its scapy path) and trace.annotate fill
exactly these fields, no other (tests/unit/test_expect_fields.py decodes
vectors and built packets to prove it both ways). The expectation DSL checks
every path an author writes against this registry when the expectation is
built, so a typo is a lab error at once, not a quiet "no" for every frame.

HTTP messages are not frames: `MESSAGE_FIELDS` lists the fields of an HTTP
message read from a reassembled TCP stream (protolab/wire/http.py), which the
Request and Response entries of protolab/expect/http.py test. A path is looked
up in both; the frame registry stays exactly what the decoder produces.

`python -m protolab.wire.fields` prints docs/fields.md.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from ..errors import AuthorError

DOCS = "docs/fields.md"
NoneType = type(None)


@dataclass(frozen=True)
class FieldInfo:
    """One field of one layer."""

    path: str  # "tcp.seq"
    types: tuple[type, ...]  # the Python types its values have (a value of a bool field is a bool)
    meaning: str
    seq: bool = False  # a TCP sequence number: arithmetic on it wraps modulo 2**32

    @property
    def layer(self) -> str:
        return self.path.partition(".")[0]

    def type_text(self) -> str:
        return " | ".join("None" if t is NoneType else t.__name__ for t in self.types)


LAYERS: Mapping[str, str] = MappingProxyType({
    "frame": "only on a frame the capture cut short, or one that could not be decoded",
    "link": "only on a frame of a link type that is not decoded",
    "eth": "the link layer: Ethernet II, or what a Linux cooked capture says of it",
    "arp": "an ARP message (Ethernet/IPv4)",
    "ip": "an IPv4 header",
    "checksum": "every checksum of the IPv4 packet, verified: (status, value as captured, correct value or None)",
    "tcp": "a TCP segment",
    "udp": "a UDP datagram",
    "icmp": "an ICMP message; an error also says what the IP header it quotes holds",
    "dns": "a DNS message on UDP or TCP port 53 (protolab/wire/dnsmsg.py)",
    "bootp": "the fixed header of a BOOTP/DHCP message on UDP ports 67/68 (protolab/wire/dhcpmsg.py)",
    "dhcp": "the DHCP options after the magic cookie of a BOOTP message (RFC 2132)",
})

_CHECKSUM = "(status 'ok', 'bad', 'partial', 'none', 'unchecked' or 'other-zero', value as captured, correct value or None)"
_RECORDS = "tuple of (owner, TYPE, value) records in wire order, names lower case with the final dot"
_ALL = (
    FieldInfo("frame.len", (int,), "the frame's length on the wire"),
    FieldInfo("frame.caplen", (int,), "how many of its bytes the capture kept"),
    FieldInfo("frame.cut", (bool,), "the capture kept fewer bytes than the wire carried"),
    FieldInfo("frame.undecodable", (bool,), "a header was cut or malformed: the layers stop there"),
    FieldInfo("link.type", (int,), "the capture's link type (LINKTYPE_*)"),
    FieldInfo("link.unknown", (bool,), "always True: the link type is not one protolab decodes"),
    FieldInfo("eth.src", (str,), "source MAC address, lower case ('02:00:00:00:01:0a')"),
    FieldInfo("eth.dst", (str,), "destination MAC address ('ff:ff:ff:ff:ff:ff' for broadcast)"),
    FieldInfo("eth.type", (int,), "EtherType (0x0800 IPv4, 0x0806 ARP), or an 802.3 length"),
    FieldInfo("eth.pkttype", (int,), "Linux cooked captures only: packet type (0 to us, 1 broadcast, 4 outgoing, ...)"),
    FieldInfo("arp.op", (int,), "1 request (who-has), 2 reply (is-at)"),
    FieldInfo("arp.hwsrc", (str, bytes), "sender MAC address (bytes for other hardware than Ethernet)"),
    FieldInfo("arp.psrc", (str, bytes), "sender IPv4 address ('10.0.1.10')"),
    FieldInfo("arp.hwdst", (str, bytes), "target MAC address (00:00:00:00:00:00 in a request)"),
    FieldInfo("arp.pdst", (str, bytes), "target IPv4 address: the address asked about"),
    FieldInfo("ip.src", (str,), "source address ('10.0.1.10')"),
    FieldInfo("ip.dst", (str,), "destination address"),
    FieldInfo("ip.ttl", (int,), "time to live"),
    FieldInfo("ip.proto", (int,), "protocol carried (1 ICMP, 6 TCP, 17 UDP)"),
    FieldInfo("ip.id", (int,), "identification"),
    FieldInfo("ip.len", (int,), "total length of the packet, header included"),
    FieldInfo("ip.flags", (str,), "flags as scapy writes them ('DF', 'MF', '' for none)"),
    FieldInfo("checksum.ip", (tuple,), f"IP header checksum {_CHECKSUM}"),
    FieldInfo("checksum.tcp", (tuple,), f"TCP checksum {_CHECKSUM}"),
    FieldInfo("checksum.udp", (tuple,), f"UDP checksum {_CHECKSUM}"),
    FieldInfo("checksum.icmp", (tuple,), f"ICMP checksum {_CHECKSUM}"),
    FieldInfo("tcp.sport", (int,), "source port"),
    FieldInfo("tcp.dport", (int,), "destination port"),
    FieldInfo("tcp.seq", (int,), "sequence number of the segment's first byte (of the SYN or FIN it carries)", seq=True),
    FieldInfo("tcp.ack", (int,), "acknowledgment number: the next sequence number the sender expects", seq=True),
    FieldInfo("tcp.flags", (str,), "flags in the order 'FSRPAUEC' ('SA' for SYN-ACK, '' for none)"),
    FieldInfo("tcp.window", (int,), "receive window, unscaled"),
    FieldInfo("tcp.len", (int,), "payload length in bytes"),
    FieldInfo("tcp.mss", (int, bytes, NoneType), "the MSS option's value; None without one; bytes if its length is not 4"),
    FieldInfo("tcp.payload", (bytes,), "the payload"),
    FieldInfo("tcp.retransmission", (bool,),
              "repeats the flow, seq, flags and length of an earlier segment on the same link that used sequence space"),
    FieldInfo("udp.sport", (int,), "source port"),
    FieldInfo("udp.dport", (int,), "destination port"),
    FieldInfo("udp.len", (int,), "payload length in bytes (the UDP length minus its 8-byte header)"),
    FieldInfo("udp.payload", (bytes,), "the payload"),
    FieldInfo("icmp.type", (int,), "type (0 echo reply, 3 destination unreachable, 8 echo request, 11 time exceeded)"),
    FieldInfo("icmp.code", (int,), "code (for type 3: 0 net, 1 host, 3 port unreachable, 4 fragmentation needed and DF set)"),
    FieldInfo("icmp.inner_src", (str,), "an error only: source address of the IP header it quotes"),
    FieldInfo("icmp.inner_dst", (str,), "an error only: destination address of the IP header it quotes"),
    FieldInfo("icmp.inner_proto", (int,), "an error only: protocol of the IP header it quotes (6 TCP, 17 UDP)"),
    FieldInfo("icmp.inner_sport", (int,), "an error quoting TCP or UDP (at least its first 8 bytes): source port of "
              "the quoted segment or datagram"),
    FieldInfo("icmp.inner_dport", (int,), "an error quoting TCP or UDP (at least its first 8 bytes): destination port "
              "of the quoted segment or datagram"),
    FieldInfo("icmp.inner_seq", (int,), "an error quoting TCP (at least its first 8 bytes): sequence number of the "
              "quoted segment", seq=True),
    FieldInfo("icmp.mtu", (int,), "type 3 code 4 (fragmentation needed) only: the next-hop MTU the router names "
              "(RFC 1191; 0 from a router older than it)"),
    FieldInfo("dns.id", (int,), "message ID"),
    FieldInfo("dns.qr", (bool,), "True for a response, False for a query"),
    FieldInfo("dns.opcode", (str,), "'QUERY', 'NOTIFY', ..."),
    FieldInfo("dns.aa", (bool,), "authoritative answer (AA)"),
    FieldInfo("dns.tc", (bool,), "truncated (TC)"),
    FieldInfo("dns.rd", (bool,), "recursion desired (RD)"),
    FieldInfo("dns.ra", (bool,), "recursion available (RA)"),
    FieldInfo("dns.rcode", (str,), "'NOERROR', 'NXDOMAIN', 'SERVFAIL', ..."),
    FieldInfo("dns.qname", (str, NoneType), "the question's name ('www.example.lab.'); None without a question"),
    FieldInfo("dns.qtype", (str, NoneType), "the question's type ('A'); None without a question"),
    FieldInfo("dns.answers", (tuple,), f"answer section: {_RECORDS}"),
    FieldInfo("dns.authority", (tuple,), f"authority section: {_RECORDS}"),
    FieldInfo("dns.additional", (tuple,), f"additional section (not the EDNS OPT record): {_RECORDS}"),
    FieldInfo("dns.edns", (int, NoneType), "the UDP payload size EDNS advertises; None without EDNS"),
    FieldInfo("dns.transport", (str,), "'udp' or 'tcp'"),
    FieldInfo("dns.malformed", (bool,), "present (True) only when the message past its header could not be parsed"),
    FieldInfo("bootp.op", (int,), "1 BOOTREQUEST (client to server), 2 BOOTREPLY"),
    FieldInfo("bootp.xid", (int,), "transaction ID chosen by the client, echoed by the server"),
    FieldInfo("bootp.flags", (int,), "flags (0x8000: broadcast the reply, the client cannot take unicast yet)"),
    FieldInfo("bootp.broadcast", (bool,), "the broadcast flag (0x8000) is set"),
    FieldInfo("bootp.ciaddr", (str,), "client's current address ('0.0.0.0' while it has none)"),
    FieldInfo("bootp.yiaddr", (str,), "'your' address: the one the server offers or assigns"),
    FieldInfo("bootp.siaddr", (str,), "next server (boot server) address"),
    FieldInfo("bootp.giaddr", (str,), "relay agent address ('0.0.0.0' without a relay)"),
    FieldInfo("bootp.chaddr", (str,), "client hardware address, its first hlen bytes ('02:00:00:00:01:10')"),
    FieldInfo("dhcp.type", (str, NoneType), "option 53: 'DISCOVER', 'OFFER', 'REQUEST', 'ACK', 'NAK', 'RELEASE', ...; None without"),
    FieldInfo("dhcp.options", (tuple,), "the option codes present, in wire order ((53, 54, 51, 1, 3, 6))"),
    FieldInfo("dhcp.server_id", (str, NoneType), "option 54, server identifier; None without"),
    FieldInfo("dhcp.requested", (str, NoneType), "option 50, requested IP address; None without"),
    FieldInfo("dhcp.lease", (int, NoneType), "option 51, lease time in seconds; None without"),
    FieldInfo("dhcp.mask", (str, NoneType), "option 1, subnet mask ('255.255.255.0'); None without"),
    FieldInfo("dhcp.router", (tuple, NoneType), "option 3, routers: a tuple of addresses; None without"),
    FieldInfo("dhcp.dns", (tuple, NoneType), "option 6, DNS servers: a tuple of addresses; None without"),
    FieldInfo("dhcp.domain", (str, NoneType), "option 15, domain name; None without"),
    FieldInfo("dhcp.malformed", (bool,), "present (True) only when an option runs past the end of the message"),
)
FIELDS: Mapping[str, FieldInfo] = MappingProxyType({f.path: f for f in _ALL})
SEQ_FIELDS = frozenset(p for p, f in FIELDS.items() if f.seq)

MESSAGE_LAYERS: Mapping[str, str] = MappingProxyType({
    "http": "an HTTP/1.1 request or response read from a reassembled TCP stream (protolab/wire/http.py); "
            "only Request and Response entries (protolab/expect/http.py) see it, never a frame's Step",
})
_HTTP = (
    FieldInfo("http.kind", (str,), "'request' or 'response'"),
    FieldInfo("http.number", (int,), "the n-th request (or response, 1xx included) on its connection, from 1"),
    FieldInfo("http.connection", (int,), "the number of its TCP connection in the capture, from 1 (order of first frame)"),
    FieldInfo("http.client", (str,), "the connection's client end ('10.0.1.10:40312')"),
    FieldInfo("http.server", (str,), "the connection's server end ('10.0.2.80:80')"),
    FieldInfo("http.start_line", (str,), "the first line as sent, without its line end ('GET /index.html HTTP/1.1'); "
              "'' when nothing was sent"),
    FieldInfo("http.method", (str, NoneType), "a request's method ('GET', 'HEAD'); None for a response or an unreadable request"),
    FieldInfo("http.target", (str, NoneType), "a request's target ('/index.html'); None otherwise"),
    FieldInfo("http.version", (str, NoneType), "'1.1' or '1.0'; None when the start line could not be read"),
    FieldInfo("http.status", (int, NoneType), "a response's status code (200, 301, 404); None otherwise"),
    FieldInfo("http.reason", (str, NoneType), "a response's reason phrase ('OK', 'Not Found'); None otherwise"),
    FieldInfo("http.headers", (tuple,), "the header fields as received: (name, value) pairs, names as sent, in order"),
    FieldInfo("http.content_length", (int, NoneType), "the Content-Length header as a number; None without one "
              "(or when it is not a number)"),
    FieldInfo("http.chunked", (bool,), "the body came with Transfer-Encoding: chunked"),
    FieldInfo("http.body", (bytes,), "the body (chunked encoding removed; none for HEAD, 1xx, 204 and 304)"),
    FieldInfo("http.body_len", (int,), "the body's length in bytes"),
    FieldInfo("http.length", (int,), "the whole message's length in the stream, head and body"),
    FieldInfo("http.segments", (int,), "how many frames carried its bytes (retransmissions not counted)"),
    FieldInfo("http.first_frame", (int, NoneType), "the frame that carried its first byte"),
    FieldInfo("http.last_frame", (int, NoneType), "the frame that carried its last byte"),
    FieldInfo("http.complete", (bool,), "it was read from its first byte to its last"),
    FieldInfo("http.problems", (tuple,), "what is wrong with it, in plain words (bare LF line ends, a head that "
              "never ends, a body shorter than Content-Length, ...); () for a regular message"),
    FieldInfo("http.keep_alive", (bool,), "its side may send another message after it (HTTP/1.1 unless "
              "Connection: close; HTTP/1.0 only with keep-alive)"),
    FieldInfo("http.answers", (int, NoneType), "a response: the number of the request it answers; None otherwise"),
)
MESSAGE_FIELDS: Mapping[str, FieldInfo] = MappingProxyType({f.path: f for f in _HTTP})


def field_info(path: str) -> FieldInfo:
    """The registered field `path`; AuthorError naming the nearest one if there is none."""
    try:
        return FIELDS[path]
    except (KeyError, TypeError):
        pass
    if not isinstance(path, str):
        raise AuthorError(f"a field path is a str like 'tcp.seq', not {type(path).__name__} {path!r}")
    if path in MESSAGE_FIELDS:
        return MESSAGE_FIELDS[path]
    return _unknown("field", path, [*FIELDS, *MESSAGE_FIELDS])


def check_layer(name: str) -> str:
    """`name` if it is a layer a frame can carry; AuthorError naming the nearest one if not."""
    if isinstance(name, str) and name in LAYERS:
        return name
    if not isinstance(name, str):
        raise AuthorError(f"a layer name is a str like 'tcp', not {type(name).__name__} {name!r}")
    return _unknown("layer", name, list(LAYERS))


def _unknown(kind: str, name: str, known: list[str]):
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close and kind == "field":  # a wrong layer with a right field name: "tpc.seq"
        layer, _, rest = name.partition(".")
        near = difflib.get_close_matches(layer, [*LAYERS, *MESSAGE_LAYERS], n=1, cutoff=0.5)
        close = [f"{near[0]}.{rest}"] if near and f"{near[0]}.{rest}" in known else []
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise AuthorError(f"unknown {kind} {name!r}{hint} — the fields are listed in {DOCS}")


def markdown() -> str:
    """docs/fields.md: every layer and field, from this registry."""
    lines = [
        "# Fields of a decoded frame",
        "",
        "Generated by `python -m protolab.wire.fields > docs/fields.md` from `protolab/wire/fields.py`;",
        "do not edit by hand. An expectation names a field by its path (`F(\"tcp.seq\")`) and a",
        "layer by its name (`Layer(\"arp\")`); any other path is a lab error when the expectation",
        "is built. A field marked *seq* is a TCP sequence number: arithmetic on its values wraps",
        "modulo 2**32 (`V(\"isn\") + 1` after an ISN of 4294967295 is 0); arithmetic on any other",
        "value is ordinary (`64 - 65` is `-1`). A layer a frame does not carry, or a field a layer",
        "does not carry, is simply missing: a condition on it is false, never an error.",
        "",
    ]
    for layer, about in LAYERS.items():
        lines += [f"## {layer}", "", f"{about[0].upper()}{about[1:]}.", "", "| field | type | meaning |", "|---|---|---|"]
        for info in (f for f in _ALL if f.layer == layer):
            seq = " *seq*" if info.seq else ""
            lines.append(f"| `{info.path}`{seq} | {info.type_text()} | {info.meaning.replace('|', '/')} |")
        lines.append("")
    lines += ["# Fields of an HTTP message", "",
              "Not fields of a frame: `Request` and `Response` entries (protolab/expect/http.py) test these,",
              "on each HTTP/1.1 message read from a connection's reassembled bytes. `Header(\"etag\")` reads",
              "one header by name, in any case.", ""]
    for layer, about in MESSAGE_LAYERS.items():
        lines += [f"## {layer}", "", f"{about[0].upper()}{about[1:]}.", "", "| field | type | meaning |", "|---|---|---|"]
        for info in (f for f in _HTTP if f.layer == layer):
            lines.append(f"| `{info.path}` | {info.type_text()} | {info.meaning.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    sys.stdout.write(markdown())


if __name__ == "__main__":
    main()
