"""The one home of TCP flag, ICMP and DNS words: the summaries and the ladder say the same."""

from __future__ import annotations

from protolab.expect.trace import Frame
from protolab.report.labels import Labeler
from protolab.wire.decode import summarize
from protolab.wire.words import canonical_flags, dns_labels, flag_words, icmp_name


def test_flag_letters_come_in_one_order_and_read_as_words():
    assert canonical_flags("AS") == "SA" and canonical_flags("APF") == "FPA" and canonical_flags("") == ""
    assert flag_words("SA") == "SYN-ACK" and flag_words("FPA") == "FIN-PSH-ACK" and flag_words("RA") == "RST-ACK"
    assert flag_words("") == "no flags" and flag_words("SX") == "SYN-X"  # an unknown letter is kept


def test_icmp_names_by_type_and_by_unreachable_code():
    assert icmp_name(0, 0) == "echo reply" and icmp_name(8, 0) == "echo request"
    assert icmp_name(11, 0) == "time exceeded" and icmp_name(11, 1) == "time exceeded"
    assert [icmp_name(3, c) for c in (0, 1, 3, 4)] == ["net unreachable", "host unreachable", "port unreachable",
                                                      "fragmentation needed"]
    assert icmp_name(3, 7) == "destination unreachable"  # a code without a name: the type's
    assert icmp_name(42, 1) == "type 42 code 1"


def test_a_frame_summary_and_its_ladder_label_use_the_same_words():
    tcp = {"ip": {"src": "10.0.1.10", "dst": "10.0.2.80"},
           "tcp": {"sport": 40000, "dport": 80, "seq": 7, "ack": 0, "flags": "", "len": 0}}
    icmp = {"ip": {"src": "10.0.1.1", "dst": "10.0.1.10", "proto": 1}, "icmp": {"type": 3, "code": 3}}
    dns = {"ip": {"src": "10.0.1.10", "dst": "10.0.2.11"}, "udp": {"sport": 5353, "dport": 53, "len": 30},
           "dns": {"id": 0x1AA7, "qr": False, "rd": False, "qname": "www.example.lab.", "qtype": "A", "transport": "udp"}}
    labeler = Labeler([])
    for layers, words in ((tcp, "no flags"), (icmp, "port unreachable"), (dns, "query A www.example.lab. id 0x1aa7")):
        assert words in summarize(layers)
        assert words in labeler.label(Frame(1, 0.0, "lan1", "a", "b", layers))


def test_a_dns_summary_names_its_transport_once():
    layer = {"id": 7, "qr": True, "aa": True, "rcode": "NOERROR", "transport": "tcp",
             "answers": (("big.example.lab.", "TXT", '"x"'),)}
    layers = {"ip": {"src": "10.0.2.13", "dst": "10.0.1.10"}, "tcp": {"sport": 53, "dport": 40000}, "dns": layer}
    assert dns_labels(layer)[0].endswith(" (TCP)")
    summary = summarize(layers)
    assert summary.startswith("TCP 10.0.2.13:53 → 10.0.1.10:40000 DNS answer AA") and "(TCP)" not in summary


def test_the_pure_wire_modules_import_without_scapy():
    """words and the TCP sequence arithmetic are for the scapy-free expectation core too."""
    import subprocess
    import sys

    code = ("import sys, protolab.wire.words, protolab.wire.tcp; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scapy', 'dns')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
