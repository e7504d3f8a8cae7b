"""The field registry (protolab/wire/fields.py) is exactly what the decoder produces, and docs/fields.md is current.

The frames: every frame of every capture under tests/vectors, the DNS frames
kept as hex, and packets built here with scapy for every layer (ICMP errors
quoting TCP, UDP and ICMP included), each decoded by the fast path and by the
scapy path; tcp.retransmission comes from trace.annotate.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import dns.message
import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether

from protolab.capture.reader import open_capture
from protolab.errors import AuthorError
from protolab.expect import F, Frame, Layer, Step, make_trace
from protolab.expect.records import Records
from protolab.wire import fastdecode
from protolab.wire.decode import scapy_layers
from protolab.wire.fields import FIELDS, LAYERS, SEQ_FIELDS, markdown


@pytest.fixture(autouse=True, scope="module")
def scapy_without_its_dns_bindings():
    """The fast path defers to scapy for a port scapy binds to a layer: once anything in the
    process imported scapy.layers.dns (a lab's test does), port 53 is such a port. These tests
    are about the fast path itself, so they run with scapy's DNS bindings taken out, and put back."""
    import sys

    dns = sys.modules.get("scapy.layers.dns")
    if dns is None:
        yield
        return
    from scapy.layers.inet import TCP, UDP
    from scapy.packet import bind_layers, split_layers

    bound = [(lower, upper, condition) for lower in (UDP, TCP) for condition, upper in list(lower.payload_guess)
             if upper is dns.DNS and set(condition) <= {"sport", "dport"} and 53 in condition.values()]
    for lower, upper, condition in bound:
        split_layers(lower, upper, **condition)
    try:
        yield
    finally:
        for lower, upper, condition in bound:
            bind_layers(lower, upper, **condition)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
ETH, SLL, RAW = 1, 113, 101
A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
CLIENT, SERVER = "10.0.1.10", "10.0.2.11"
PCAP_MAGICS = (b"\x0a\x0d\x0d\x0a", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")


def vector_frames() -> list[tuple[bytes, int, int | None]]:
    out = []
    for path in sorted(VECTORS.rglob("*")):
        if not path.is_file():
            continue
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        if data[:4] not in PCAP_MAGICS:
            continue
        with open_capture(path) as capture:
            out += [(f.data, f.interface.linktype, f.wire_len) for f in capture]
    for hexed in json.loads((VECTORS / "dns" / "frames.json").read_text()).values():
        out.append((bytes.fromhex(hexed), ETH, None))
    return out


def eth(payload) -> bytes:
    return bytes(Ether(src=A, dst=B) / payload)


def built_frames() -> list[tuple[bytes, int, int | None]]:
    query = dns.message.make_query("www.example.lab.", "A", use_edns=True).to_wire()
    answer = dns.message.make_response(dns.message.from_wire(query)).to_wire()
    segment = IP(src=CLIENT, dst=SERVER) / TCP(sport=40000, dport=80, flags="S", seq=2**32 - 1, options=[("MSS", 1460)])
    datagram = IP(src=CLIENT, dst=SERVER) / UDP(sport=33434, dport=33435) / b"probe"
    frames = [
        eth(ARP(op=1, hwsrc=A, psrc=CLIENT, hwdst="00:00:00:00:00:00", pdst="10.0.1.1")),
        eth(segment),
        eth(IP(src=CLIENT, dst=SERVER) / TCP(sport=40000, dport=80, flags="PA") / b"GET / HTTP/1.0\r\n\r\n"),
        eth(IP(src=CLIENT, dst=SERVER) / TCP(sport=40000, dport=80, flags="S", options=[(2, b"\x05")])),  # MSS as bytes
        eth(datagram),
        eth(IP(src=CLIENT, dst=SERVER) / UDP(sport=5353, dport=53) / query),
        eth(IP(src=SERVER, dst=CLIENT) / UDP(sport=53, dport=5353) / answer),
        eth(IP(src=SERVER, dst=CLIENT) / TCP(sport=53, dport=40000, flags="PA") / (len(answer).to_bytes(2, "big") + answer)),
        eth(IP(src=CLIENT, dst=SERVER) / UDP(sport=5353, dport=53) / (query[:12] + b"\x07broken")),  # malformed
        eth(IP(src=CLIENT, dst=SERVER) / ICMP(type=8, id=1, seq=1) / b"ping"),
    ]
    for original in (segment, datagram, IP(src=CLIENT, dst=SERVER) / ICMP(type=8) / b"abcdefgh"):  # errors quoting each
        for type_, code in ((3, 3), (3, 4), (11, 0)):
            frames.append(eth(IP(src="10.0.1.1", dst=CLIENT) / ICMP(type=type_, code=code) / bytes(original)[:28]))
    out: list[tuple[bytes, int, int | None]] = [(f, ETH, None) for f in frames]
    cooked = bytes.fromhex("0000000100060200000000 0a0000 0800".replace(" ", ""))
    out.append((cooked + bytes(datagram), SLL, None))  # Linux cooked: eth.pkttype
    out.append((bytes(segment), RAW, None))
    out.append((eth(segment)[:40], ETH, len(eth(segment))))  # cut by the capture inside TCP: frame.*
    out.append((b"", ETH, 60))  # not even an Ethernet header was kept: frame.undecodable
    out.append((b"\x60" + b"\0" * 39, 12345, None))  # a link type not decoded: link.*
    return out


def paths(layers: dict) -> dict[str, list]:
    out: dict[str, list] = {}
    for layer, fields in layers.items():
        for name, value in fields.items():
            out.setdefault(f"{layer}.{name}", []).append(value)
    return out


@pytest.fixture(scope="module")
def produced() -> dict[str, dict[str, list]]:
    """path → values, per decoding path ("fast", "scapy", "annotate")."""
    seen: dict[str, dict[str, list]] = {"fast": {}, "scapy": {}, "annotate": {}}
    decoded = []
    for data, linktype, wire_len in vector_frames() + built_frames():
        slow = scapy_layers(data, linktype, wire_len)
        decoded.append(slow)
        for path, values in paths(slow).items():
            seen["scapy"].setdefault(path, []).extend(values)
        fast = fastdecode.fast_layers(data, linktype, wire_len)
        for path, values in paths(fast or {}).items():
            seen["fast"].setdefault(path, []).extend(values)
    frames = [Frame(0, float(i), "lan1", "a", None, layers) for i, layers in enumerate(decoded)]
    for frame in make_trace(frames):
        tcp = frame.layers.get("tcp", {})
        if "retransmission" in tcp:
            seen["annotate"].setdefault("tcp.retransmission", []).append(tcp["retransmission"])
    return seen


def test_every_path_the_decoder_produces_is_registered_with_its_type(produced):
    for way, found in produced.items():
        unknown = sorted(set(found) - set(FIELDS))
        assert not unknown, f"the {way} path produces fields the registry does not list: {unknown}"
        for path, values in found.items():
            wrong = {type(v).__name__ for v in values if not isinstance(v, FIELDS[path].types)}
            assert not wrong, f"{path} ({way}) has values of type {wrong}, registered as {FIELDS[path].type_text()}"


def test_every_registered_path_is_produced_by_some_vector(produced):
    everything = set().union(*produced.values())
    assert sorted(set(FIELDS) - everything) == []
    assert {p.partition(".")[0] for p in FIELDS} == set(LAYERS)


def test_the_fast_path_produces_the_fields_of_every_layer_it_reads(produced):
    fast = {p.partition(".")[0] for p in produced["fast"]}
    assert {"eth", "arp", "ip", "checksum", "tcp", "udp", "icmp", "dns"} <= fast
    assert {"icmp.inner_src", "icmp.inner_dst", "icmp.inner_proto", "icmp.inner_sport", "icmp.inner_dport",
            "icmp.inner_seq", "icmp.mtu"} <= set(produced["fast"])


def test_only_tcp_seq_and_ack_and_a_quoted_seq_are_sequence_numbers():
    assert SEQ_FIELDS == {"tcp.seq", "tcp.ack", "icmp.inner_seq"}


def test_the_committed_docs_are_generated_from_the_registry():
    committed = (ROOT / "docs" / "fields.md").read_text()
    assert committed == markdown(), "docs/fields.md is stale: python -m protolab.wire.fields > docs/fields.md"
    printed = subprocess.run([sys.executable, "-m", "protolab.wire.fields"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert printed.stdout == committed
    for path in FIELDS:
        assert f"`{path}`" in committed


# --- an unknown path is the author's error, at once --------------------------------------------


def test_an_unknown_field_is_an_author_error_with_the_nearest_name():
    with pytest.raises(AuthorError) as info:
        F("tcp.seqq")
    assert str(info.value) == "unknown field 'tcp.seqq' (did you mean tcp.seq?) — the fields are listed in docs/fields.md"
    with pytest.raises(AuthorError, match=r"unknown field 'tpc.seq' \(did you mean tcp.seq\?\)"):
        F("tpc.seq")
    with pytest.raises(AuthorError, match=r"unknown field 'ip.source' \(did you mean ip.src\?\)"):
        F("ip.source")
    with pytest.raises(AuthorError, match=r"unknown field 'ip.zzzzzz' — the fields are listed in docs/fields.md"):
        F("ip.zzzzzz")
    with pytest.raises(AuthorError, match="a field path is a str"):
        F(3)  # type: ignore[arg-type]


def test_an_unknown_layer_is_an_author_error():
    with pytest.raises(AuthorError) as info:
        Layer("tpc")
    assert str(info.value) == "unknown layer 'tpc' (did you mean tcp?) — the fields are listed in docs/fields.md"
    assert Layer("arp").text() == "has arp"


def test_a_bind_of_an_unknown_field_is_an_author_error_when_the_step_is_built():
    with pytest.raises(AuthorError, match=r"unknown field 'tcp.sequence'"):
        Step("SYN", match=(), bind={"isn": "tcp.sequence"})
    with pytest.raises(AuthorError, match="binds 'isn' to 5"):
        Step("SYN", match=(), bind={"isn": 5})  # type: ignore[dict-item]
    assert Step("SYN", match=(), bind={"isn": "tcp.seq"}).binders()["isn"].text() == "tcp.seq"


def test_records_name_a_dns_section():
    with pytest.raises(AuthorError, match="a DNS section is one of dns.answers, dns.authority, dns.additional"):
        Records("dns.answer")
