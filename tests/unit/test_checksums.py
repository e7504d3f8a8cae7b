"""The checksum verifier on byte vectors, and tshark agreeing with it on every one."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import RawPcapWriter

from protolab.wire.checksums import Checksum, verify

CLIENT, WEB, DNS, ROUTER = "10.0.1.10", "10.0.2.80", "10.0.2.53", "10.0.1.1"
ETHER = bytes(Ether(src="02:00:00:00:01:10", dst="02:00:00:00:01:01", type=0x0800))


def tcp(payload: bytes = b"hello") -> bytes:
    return bytes(IP(src=CLIENT, dst=WEB) / TCP(sport=40000, dport=80, flags="PA", seq=1, ack=1) / payload)


def udp(payload: bytes = b"odd") -> bytes:
    return bytes(IP(src=CLIENT, dst=DNS) / UDP(sport=5353, dport=53) / payload)


def icmp(payload: bytes = b"ping!") -> bytes:
    return bytes(IP(src=CLIENT, dst=WEB) / ICMP(id=7, seq=1) / payload)


def with_options() -> bytes:
    return bytes(IP(src=CLIENT, dst=WEB, options=[IPOption_RR()]) / UDP(sport=1000, dport=2000) / b"x")


def icmp_error(quoted_udp_checksum: int | None = None) -> bytes:
    """A router's port unreachable quoting a UDP datagram (its checksum as given)."""
    quoted = IP(src=WEB, dst=CLIENT) / UDP(sport=53, dport=5353, chksum=quoted_udp_checksum) / b"abc"
    return bytes(IP(src=ROUTER, dst=WEB) / ICMP(type=3, code=3) / quoted)


def flip(packet: bytes, index: int) -> bytes:
    return packet[:index] + bytes([packet[index] ^ 0xFF]) + packet[index + 1 :]


def put(packet: bytes, offset: int, value: int) -> bytes:
    return packet[:offset] + struct.pack("!H", value) + packet[offset + 2 :]


def pseudo_header_sum(packet: bytes) -> int:
    """What the sender's kernel leaves in the field for the device to finish."""
    words = struct.unpack("!4H", packet[12:20])
    total = sum(words) + packet[9] + len(packet) - (packet[0] & 0x0F) * 4
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def summing_to_zero(build, offset: int) -> bytes:
    """A packet whose checksum comes out 0: two payload bytes chosen to make it so."""
    computed = struct.unpack_from("!H", build(b"\0\0"), 20 + offset)[0]  # the complement of the rest's sum
    return build(struct.pack("!H", computed))  # the rest's sum plus its complement: 0xFFFF, complemented 0


def statuses(result: dict[str, Checksum]) -> dict[str, str]:
    return {key: c.status for key, c in result.items()}


# -- correct, corrupted ----------------------------------------------------


@pytest.mark.parametrize(("packet", "key"), [(tcp(), "tcp"), (udp(), "udp"), (icmp(), "icmp")])
def test_what_scapy_builds_is_correct(packet, key):
    result = verify(packet)
    assert statuses(result) == {"ip": "ok", key: "ok"}
    assert all(c.value == c.expected for c in result.values())


@pytest.mark.parametrize(("packet", "key"), [(tcp(), "tcp"), (udp(), "udp"), (icmp(), "icmp")])
def test_one_corrupted_payload_byte_makes_the_transport_checksum_bad(packet, key):
    good = verify(packet)[key]
    result = verify(flip(packet, len(packet) - 1))
    assert statuses(result) == {"ip": "ok", key: "bad"}
    assert result[key].value == good.value and result[key].expected != good.value


def test_a_corrupted_header_byte_makes_the_ip_checksum_bad_only():
    result = verify(flip(tcp(), 8))  # the TTL: not in the TCP pseudo-header
    assert statuses(result) == {"ip": "bad", "tcp": "ok"}


def test_odd_lengths_are_padded_with_a_zero_byte():
    for payload in (b"a", b"abc", b"hello"):
        assert statuses(verify(tcp(payload))) == {"ip": "ok", "tcp": "ok"}
        assert statuses(verify(udp(payload))) == {"ip": "ok", "udp": "ok"}
        assert statuses(verify(icmp(payload))) == {"ip": "ok", "icmp": "ok"}


# -- transmit offload ------------------------------------------------------


@pytest.mark.parametrize(("packet", "key", "offset"), [(tcp(), "tcp", 16), (udp(), "udp", 6)])
def test_the_pseudo_header_sum_left_by_offload_is_partial(packet, key, offset):
    correct = verify(packet)[key].value
    result = verify(put(packet, 20 + offset, pseudo_header_sum(packet)))[key]
    assert result == Checksum("partial", pseudo_header_sum(packet), correct)


def test_an_icmp_field_holding_the_pseudo_header_sum_is_just_bad():
    packet = icmp()
    assert verify(put(packet, 22, pseudo_header_sum(packet)))["icmp"].status == "bad"


# -- UDP's zero ------------------------------------------------------------


def test_udp_checksum_zero_means_none_computed():
    packet = udp()
    result = verify(put(packet, 26, 0))["udp"]
    assert result == Checksum("none", 0, verify(packet)["udp"].value)


def test_a_udp_checksum_that_comes_out_zero_is_sent_as_ffff():
    packet = summing_to_zero(udp, 6)
    assert verify(packet)["udp"] == Checksum("ok", 0xFFFF, 0xFFFF)
    assert verify(put(packet, 26, 0))["udp"].status == "none"


def test_a_tcp_checksum_that_comes_out_zero_is_sent_as_zero():
    packet = summing_to_zero(tcp, 16)
    assert verify(packet)["tcp"] == Checksum("ok", 0, 0)
    assert verify(put(packet, 36, 0xFFFF))["tcp"] == Checksum("other-zero", 0xFFFF, 0)  # the other zero, as Linux may write it


def test_a_udp_length_longer_than_the_datagram_is_bad():
    result = verify(put(udp(), 24, 200))["udp"]
    assert result.status == "bad" and result.expected is None


def test_udp_covers_its_own_length_when_the_ip_payload_is_longer():
    datagram = udp(b"abcd")
    longer = bytes(IP(src=CLIENT, dst=DNS, proto=17) / (datagram[20:] + b"junk"))
    assert verify(longer)["udp"] == verify(datagram)["udp"]


# -- what the capture holds ------------------------------------------------


def test_ethernet_padding_past_the_ip_total_length_is_ignored():
    for packet in (tcp(b""), udp(b""), icmp(b"")):
        assert verify(packet + b"\0" * 18) == verify(packet)


def test_a_packet_cut_by_the_capture_has_its_transport_unchecked():
    packet = tcp(b"x" * 100)
    result = verify(packet[:60], wire_len=len(packet))
    assert result["ip"].status == "ok"
    assert result["tcp"] == Checksum("unchecked", verify(packet)["tcp"].value, None)
    assert verify(packet[:60]) == result, "without wire_len a short packet is taken as cut"
    assert verify(packet[:30])["tcp"] == Checksum("unchecked", 0, None), "the field itself was cut"


def test_a_packet_shorter_on_the_wire_than_its_total_length_is_bad():
    packet = tcp(b"x" * 100)
    assert verify(packet[:60], wire_len=60)["tcp"].status == "bad"


def test_a_cut_ip_header_is_unchecked():
    packet = with_options()
    assert verify(packet[:22]) == {"ip": Checksum("unchecked", verify(packet)["ip"].value, None)}
    assert verify(packet[:8]) == {"ip": Checksum("unchecked", 0, None)}, "the field itself was cut"


# -- fragments, options, ICMP errors, other packets ------------------------


def test_fragments_leave_the_transport_checksum_unchecked():
    whole = IP(src=CLIENT, dst=DNS, id=9) / UDP(sport=5353, dport=53) / (b"y" * 64)
    first, second = (bytes(f) for f in whole.fragment(40))
    assert statuses(verify(first)) == {"ip": "ok", "udp": "unchecked"}
    assert verify(first)["udp"].value == verify(bytes(whole))["udp"].value
    assert verify(second)["ip"].status == "ok"
    assert verify(second)["udp"] == Checksum("unchecked", 0, None), "its first bytes are not a UDP header"


def test_ip_options_are_in_the_header_checksum_and_not_in_the_transport():
    packet = with_options()
    assert packet[0] & 0x0F > 5
    assert statuses(verify(packet)) == {"ip": "ok", "udp": "ok"}
    assert statuses(verify(flip(packet, 22))) == {"ip": "bad", "udp": "ok"}  # an option byte


def test_an_icmp_error_is_checked_over_the_whole_message_it_quotes():
    assert statuses(verify(icmp_error())) == {"ip": "ok", "icmp": "ok"}
    assert statuses(verify(icmp_error(quoted_udp_checksum=0x1234))) == {"ip": "ok", "icmp": "ok"}
    packet = icmp_error()
    assert verify(flip(packet, len(packet) - 1))["icmp"].status == "bad"


def test_what_is_not_ipv4_has_no_checksums_here():
    assert verify(b"") == {}
    assert verify(bytes(IPv6(src="fd00::1", dst="fd00::2") / UDP())) == {}


def test_a_packet_without_a_transport_checksum_has_only_the_ip_one():
    assert statuses(verify(bytes(IP(src=CLIENT, dst=WEB, proto=47) / b"gre?"))) == {"ip": "ok"}
    assert statuses(verify(bytes(IP(src=CLIENT, dst=WEB, proto=17) / b"abc"))) == {"ip": "ok"}


# -- tshark, the independent oracle ----------------------------------------

TSHARK_FIELDS = ("ip", "tcp", "udp", "icmp")  # icmp has no calculated-checksum field
TSHARK_STATUS = {"0": {"bad", "partial", "other-zero"}, "1": {"ok"}, "2": {"unchecked"}, "3": {"none"}, "": {"unchecked"}}


def oracle_vectors() -> dict[str, tuple[bytes, int]]:
    """Name → (IP packet as captured, its length on the wire)."""
    cut = tcp(b"z" * 80)
    first_fragment = bytes((IP(src=CLIENT, dst=DNS, id=9) / UDP(sport=5353, dport=53) / (b"y" * 64)).fragment(40)[0])
    vectors = {
        "tcp": tcp(), "udp": udp(), "icmp": icmp(),
        "tcp bad": flip(tcp(), 44), "udp bad": flip(udp(), 29), "icmp bad": flip(icmp(), 30), "ip bad": flip(tcp(), 8),
        "tcp partial": put(tcp(), 36, pseudo_header_sum(tcp())),
        "udp partial": put(udp(), 26, pseudo_header_sum(udp())),
        "udp zero": put(udp(), 26, 0), "udp ffff": summing_to_zero(udp, 6),
        "tcp zero": summing_to_zero(tcp, 16), "tcp ffff": put(summing_to_zero(tcp, 16), 36, 0xFFFF),
        "padded": udp(b"") + b"\0" * 18, "options": with_options(), "options bad": flip(with_options(), 22),
        "icmp error": icmp_error(), "icmp error bad": flip(icmp_error(), 30), "first fragment": first_fragment,
    }
    as_captured = {name: (packet, len(packet)) for name, packet in vectors.items()}
    return as_captured | {"cut": (cut[:60], len(cut)), "short on the wire": (cut[:60], 60)}


def tshark(pcap: Path) -> list[dict[str, tuple[str, str]]]:
    """Per frame: protocol → (status, calculated checksum) of its first (outer) occurrence."""
    assert shutil.which("tshark"), "tshark is the oracle of this test: install it (bootstrap --test)"
    fields = [arg for p in TSHARK_FIELDS for arg in ("-e", f"{p}.checksum.status")]
    fields += [arg for p in TSHARK_FIELDS[:3] for arg in ("-e", f"{p}.checksum_calculated")]
    checks = [arg for p in ("ip", "tcp", "udp") for arg in ("-o", f"{p}.check_checksum:TRUE")]
    done = subprocess.run(["tshark", "-r", str(pcap), *checks, "-T", "fields", "-E", "occurrence=f", *fields],
                          capture_output=True, text=True, check=True)
    rows = []
    for line in done.stdout.splitlines():
        cells = line.split("\t")
        calculated = cells[len(TSHARK_FIELDS):] + [""]
        rows.append({p: (cells[i], calculated[i]) for i, p in enumerate(TSHARK_FIELDS)})
    return rows


def test_tshark_agrees_on_every_vector(tmp_path):
    vectors = oracle_vectors()
    pcap = tmp_path / "vectors.pcap"
    writer = RawPcapWriter(str(pcap), linktype=1)
    writer.write_header(None)
    for packet, wire_len in vectors.values():
        frame = ETHER + packet
        writer.write_packet(frame, sec=0, usec=0, caplen=len(frame), wirelen=len(ETHER) + wire_len)
    writer.close()
    rows = tshark(pcap)
    assert len(rows) == len(vectors)
    disagreements = []
    for (name, (packet, wire_len)), row in zip(vectors.items(), rows):
        for key, checksum in verify(packet, wire_len).items():
            status, calculated = row[key]
            agrees = checksum.status in TSHARK_STATUS[status]
            if calculated and checksum.expected is not None:
                agrees = agrees and int(calculated, 16) == checksum.expected
            if not agrees:
                disagreements.append(f"{name} {key}: ours {checksum}, tshark {status!r} calculated {calculated!r}")
    assert not disagreements, "\n".join(disagreements)


def test_the_oracle_vectors_cover_every_verdict():
    seen = {c.status for packet, wire_len in oracle_vectors().values() for c in verify(packet, wire_len).values()}
    assert seen == {"ok", "bad", "partial", "none", "unchecked", "other-zero"}
