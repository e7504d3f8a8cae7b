"""The decoder's `dns` layer, on frames captured from the lab's real NSD and Unbound."""

import json
from pathlib import Path

import pytest

from protolab.wire.decode import decode_layers, summarize
from protolab.wire.dnsmsg import dns_layer

FRAMES = {k: bytes.fromhex(v) for k, v in json.loads((Path(__file__).parents[1] / "vectors/dns/frames.json").read_text()).items()}


def dns(kind):
    return decode_layers(FRAMES[kind])["dns"]


def test_a_hand_made_query_has_rd_off_and_no_records():
    q = dns("query_udp")
    assert (q["qr"], q["rd"], q["opcode"], q["transport"]) == (False, False, "QUERY", "udp")
    assert q["qname"] == "www.example.lab." and q["qtype"] == "A"
    assert q["answers"] == q["authority"] == q["additional"] == ()
    assert q["edns"] is None


def test_a_referral_with_glue_is_not_authoritative():
    r = dns("referral_glue")
    assert r["qr"] and not r["aa"] and r["rcode"] == "NOERROR" and r["answers"] == ()
    assert r["authority"] == (("lab.", "NS", "ns1.nic.lab."),)
    assert r["additional"] == (("ns1.nic.lab.", "A", "10.0.2.12"),)


def test_a_referral_without_glue_names_a_server_outside_the_zone():
    r = dns("referral_no_glue")
    assert r["authority"] == (("shop.lab.", "NS", "dns.example.lab."),) and r["additional"] == ()


def test_an_authoritative_answer_and_a_cname_chain():
    assert dns("answer")["aa"] is True
    chain = dns("cname_answer")
    assert chain["qname"] == "alias.example.lab."
    assert chain["answers"] == (
        ("alias.example.lab.", "CNAME", "web.example.lab."),
        ("web.example.lab.", "CNAME", "portal.lab."),
    )


def test_nxdomain_carries_the_zone_soa():
    r = dns("nxdomain")
    assert r["rcode"] == "NXDOMAIN" and r["aa"]
    assert [rec[:2] for rec in r["authority"]] == [("example.lab.", "SOA")]
    assert r["authority"][0][2].startswith("ns1.example.lab. hostmaster.example.lab. ")


def test_a_truncated_udp_answer_and_the_tcp_retry():
    t = dns("truncated")
    assert t["tc"] and t["aa"] and t["answers"] == ()
    query, answer = dns("query_tcp"), dns("answer_tcp")
    assert query["transport"] == answer["transport"] == "tcp"
    assert query["id"] == answer["id"] and query["qname"] == answer["qname"] == "big.example.lab."
    assert len(answer["answers"]) == 10 and all(r[1] == "TXT" for r in answer["answers"])
    assert not answer["tc"]


def test_a_resolver_answer_offers_recursion():
    r = dns("resolver_answer")
    assert r["ra"] and r["rd"] and not r["aa"]


def test_summary_names_the_dns_message():
    assert summarize(decode_layers(FRAMES["query_udp"])).endswith(f"DNS query A www.example.lab. id 0x{dns('query_udp')['id']:04x}")
    assert "DNS referral → lab." in summarize(decode_layers(FRAMES["referral_glue"]))
    assert summarize(decode_layers(FRAMES["answer_tcp"])).startswith("TCP 10.0.2.13:53 → 10.0.1.10:")


def test_other_fields_are_unchanged_by_the_dns_layer():
    layers = decode_layers(FRAMES["query_udp"])
    assert set(layers) == {"eth", "ip", "checksum", "udp", "dns"}
    # the vector was captured while the lab left checksums to veth offload: the kernel wrote only the partial sum
    assert {k: v[0] for k, v in layers["checksum"].items()} == {"ip": "ok", "udp": "partial"}
    assert layers["udp"]["dport"] == 53 and layers["udp"]["len"] == len(layers["udp"]["payload"])


@pytest.mark.parametrize("payload", [b"", b"\x00\x01", b"\x12\x34\x01"])
def test_too_short_for_a_header_gives_no_layer(payload):
    assert dns_layer(payload, "udp") is None


def test_a_tcp_segment_without_a_whole_message_gives_no_layer():
    wire = bytes.fromhex(FRAMES["query_tcp"].hex())
    payload = decode_layers(wire)["tcp"]["payload"]
    assert dns_layer(payload, "tcp") is not None
    assert dns_layer(payload[:-3], "tcp") is None  # the length says more than the segment holds


def test_a_mangled_message_keeps_its_header():
    header = bytes.fromhex("abcd8400000100000000000003")  # id 0xabcd, QR AA, a question that is cut off
    layer = dns_layer(header, "udp")
    assert layer["malformed"] and layer["id"] == 0xABCD and layer["qr"] and layer["aa"] and layer["qname"] is None
