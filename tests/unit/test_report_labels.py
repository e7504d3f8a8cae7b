from rich.cells import cell_len

from protolab.expect.trace import Frame, make_trace
from protolab.report.labels import Labeler, dns_labels, flag_words, shorter_forms


def seg(t, src, dst, sport, dport, seq, ack, flags, length=0, link="lan1"):
    return Frame(0, t, link, "a", "b", {
        "ip": {"src": src, "dst": dst},
        "tcp": {"sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags, "len": length},
    })


def labels(frames, **kw):
    trace = make_trace(frames)
    labeler = Labeler(trace.frames)
    return [labeler.label(f, **kw) for f in trace]


def test_flag_words():
    assert flag_words("S") == "SYN"
    assert flag_words("SA") == "SYN-ACK"
    assert flag_words("A") == "ACK"
    assert flag_words("PA") == "PSH-ACK"
    assert flag_words("FA") == "FIN-ACK"
    assert flag_words("R") == "RST"
    assert flag_words("RA") == "RST-ACK"
    assert flag_words("FPA") == "FIN-PSH-ACK"
    assert flag_words("") == "no flags"


def test_relative_numbers_per_direction_and_wrapping():
    base = 2**32 - 2
    got = labels([
        seg(0.0, "1.1.1.1", "2.2.2.2", 1, 80, base, 0, "S"),
        seg(0.1, "2.2.2.2", "1.1.1.1", 80, 1, 77, base + 1, "SA"),
        seg(0.2, "1.1.1.1", "2.2.2.2", 1, 80, base + 1, 78, "PA", 5),
        seg(0.3, "1.1.1.1", "2.2.2.2", 1, 80, (base + 6) % 2**32, 78, "FA"),
    ])
    assert got[0] == f"SYN seq=0 ({base})"
    assert got[1] == f"SYN-ACK seq=0 (77) ack=1 ({base + 1})"
    assert got[2] == f"PSH-ACK seq=1 ({base + 1}) ack=1 (78) len=5"
    assert got[3] == "FIN-ACK seq=6 (4) ack=1 (78)"


def test_without_syn_the_first_seq_is_the_base_and_unknown_directions_stay_absolute():
    got = labels([
        seg(0.0, "1.1.1.1", "2.2.2.2", 1, 80, 500, 9000, "A", 10),
        seg(0.1, "1.1.1.1", "2.2.2.2", 1, 80, 510, 9000, "A", 10),
    ])
    assert got == ["ACK seq=0 (500) ack=9000 len=10", "ACK seq=10 (510) ack=9000 len=10"]


def test_other_connections_have_their_own_bases():
    got = labels([
        seg(0.0, "1.1.1.1", "2.2.2.2", 1, 80, 100, 0, "S"),
        seg(0.1, "1.1.1.1", "2.2.2.2", 2, 80, 700, 0, "S"),
    ])
    assert got == ["SYN seq=0 (100)", "SYN seq=0 (700)"]


def test_retransmission_and_short_form():
    frames = [seg(0.0, "1.1.1.1", "2.2.2.2", 1, 80, 100, 0, "S"), seg(1.0, "1.1.1.1", "2.2.2.2", 1, 80, 100, 0, "S")]
    assert labels(frames) == ["SYN seq=0 (100)", "SYN seq=0 (100) [retransmission]"]
    assert labels(frames, absolute=False) == ["SYN seq=0", "SYN seq=0 [retransmission]"]


def test_other_protocols():
    arp_req = Frame(0, 0.0, "lan1", "a", None, {"arp": {"op": 1, "psrc": "10.0.1.10", "pdst": "10.0.1.1",
                                                         "hwsrc": "02:00:00:00:01:0a"}})
    arp_rep = Frame(0, 0.1, "lan1", "b", "a", {"arp": {"op": "is-at", "psrc": "10.0.1.1", "pdst": "10.0.1.10",
                                                        "hwsrc": "02:00:00:00:01:01"}})
    echo = Frame(0, 0.2, "lan1", "a", "b", {"ip": {}, "icmp": {"type": 8, "code": 0}})
    ttl = Frame(0, 0.3, "lan1", "b", "a", {"ip": {}, "icmp": {"type": 11, "code": 0, "inner_src": "10.0.1.10",
                                                              "inner_dst": "10.0.2.80"}})
    unreach = Frame(0, 0.4, "lan1", "b", "a", {"ip": {}, "icmp": {"type": 3, "code": 3}})
    udp = Frame(0, 0.5, "lan1", "a", "b", {"ip": {"src": "10.0.1.10", "dst": "10.0.2.53"},
                                           "udp": {"sport": 5353, "dport": 53, "payload": b"abc"}})
    other = Frame(0, 0.6, "lan1", "a", "b", {"eth": {"type": 0x88B5}}, summary="Ether / Raw")
    assert labels([arp_req, arp_rep, echo, ttl, unreach, udp, other]) == [
        "ARP who-has 10.0.1.1 tell 10.0.1.10",
        "ARP 10.0.1.1 is-at 02:00:00:00:01:01",
        "ICMP echo request",
        "ICMP time exceeded for 10.0.1.10 → 10.0.2.80",
        "ICMP port unreachable",
        "UDP 10.0.1.10:5353 → 10.0.2.53:53 len=3",
        "Ether / Raw",
    ]


def test_a_gratuitous_arp_is_labelled_as_an_announcement():
    from protolab.report.labels import arp_label

    announce = {"op": 1, "psrc": "10.0.1.10", "pdst": "10.0.1.10", "hwsrc": "02:00:00:01:01:10", "hwdst": "00:00:00:00:00:00"}
    assert arp_label(announce) == "ARP gratuitous: 10.0.1.10 is-at 02:00:00:01:01:10"
    question = {**announce, "pdst": "10.0.1.20"}
    assert arp_label(question) == "ARP who-has 10.0.1.20 tell 10.0.1.10"


# --- shorter forms, for narrow terminals ------------------------------------------------------


def variants(frames):
    trace = make_trace(frames)
    labeler = Labeler(trace.frames)
    return [labeler.variants(f) for f in trace]


def test_each_form_is_shorter_than_the_one_before_and_the_first_is_the_label():
    frames = [seg(0.0, "1.1.1.1", "2.2.2.2", 1, 80, 100, 0, "S"), seg(1.0, "1.1.1.1", "2.2.2.2", 1, 80, 100, 0, "S"),
              Frame(0, 2.0, "lan1", "a", "b", {"eth": {"type": 0x88B5}}, summary="Ether / Raw")]
    trace = make_trace(frames)
    labeler = Labeler(trace.frames)
    for frame in trace:
        forms = labeler.variants(frame)
        assert forms[0] == labeler.label(frame)
        assert all(cell_len(a) > cell_len(b) for a, b in zip(forms, forms[1:]))
    assert shorter_forms(["abc", "abc", "abcd", "a"]) == ("abc", "a")


def test_tcp_forms_keep_flags_and_numbers():
    got = variants([seg(0.0, "1.1.1.1", "2.2.2.2", 1, 80, 100, 0, "S"), seg(1.0, "1.1.1.1", "2.2.2.2", 1, 80, 100, 0, "S")])
    assert got[0] == ("SYN seq=0 (100)", "SYN seq=0")
    assert got[1] == ("SYN seq=0 (100) [retransmission]", "SYN seq=0 [retransmission]", "SYN seq=0 [retrans.]")


def test_arp_icmp_and_udp_forms():
    who = Frame(0, 0.0, "lan1", "a", None, {"arp": {"op": 1, "psrc": "10.0.1.10", "pdst": "10.0.1.1"}})
    at = Frame(0, 0.1, "lan1", "b", "a", {"arp": {"op": 2, "psrc": "10.0.1.1", "hwsrc": "02:00:00:00:01:01"}})
    ttl = Frame(0, 0.2, "lan1", "b", "a", {"ip": {}, "icmp": {"type": 11, "code": 0, "inner_src": "10.0.1.10",
                                                              "inner_dst": "10.0.2.80"}})
    udp = Frame(0, 0.3, "lan1", "a", "b", {"ip": {"src": "10.0.1.10", "dst": "10.0.2.53"},
                                           "udp": {"sport": 5353, "dport": 53, "len": 3}})
    assert variants([who, at, ttl, udp]) == [
        ("ARP who-has 10.0.1.1 tell 10.0.1.10", "ARP who-has 10.0.1.1"),
        ("ARP 10.0.1.1 is-at 02:00:00:00:01:01", "ARP 10.0.1.1 is-at"),
        ("ICMP time exceeded for 10.0.1.10 → 10.0.2.80", "ICMP time exceeded"),
        ("UDP 10.0.1.10:5353 → 10.0.2.53:53 len=3", "UDP → 10.0.2.53:53 len=3"),
    ]


def dns(**fields):
    base = {"id": 840, "qr": True, "aa": False, "tc": False, "rd": False, "rcode": "NOERROR",
            "qname": "www.example.lab.", "qtype": "A", "answers": (), "authority": (), "additional": (),
            "transport": "udp"}
    return {**base, **fields}


def test_dns_questions_keep_the_name_and_type_in_every_form():
    assert dns_labels(dns(qr=False, rd=True)) == (
        "query A www.example.lab. RD id 0x0348", "query A www.example.lab. RD", "A? www.example.lab. RD")
    assert dns_labels(dns(qr=False, transport="tcp", qtype="TXT")) == (
        "query TXT www.example.lab. id 0x0348 (TCP)", "query TXT www.example.lab. (TCP)", "TXT? www.example.lab. (TCP)")


def test_dns_responses_keep_the_kind_of_answer_in_every_form():
    referral = dns(authority=(("lab.", "NS", "ns1.nic.lab."), ("lab.", "NS", "ns2.nic.lab.")),
                   additional=(("ns1.nic.lab.", "A", "10.0.2.12"),))
    assert dns_labels(referral) == (
        "referral → lab. NS ns1.nic.lab., ns2.nic.lab. (glue 10.0.2.12) id 0x0348",
        "referral → lab. NS ns1.nic.lab., ns2.nic.lab. (glue 10.0.2.12)",
        "referral → lab. (glue)", "referral → lab.")
    assert dns_labels(dns(authority=(("shop.lab.", "NS", "dns.example.lab."),)))[-2:] == (
        "referral → shop.lab. (no glue)", "referral → shop.lab.")
    txt = "v=spf1 " + "x" * 80  # long values are not clipped: the ladder picks a form that fits
    answers = (("www.example.lab.", "CNAME", "web.example.lab."), ("web.example.lab.", "TXT", txt))
    assert dns_labels(dns(aa=True, answers=answers)) == (
        f"answer AA: CNAME web.example.lab., TXT {txt} id 0x0348", f"answer AA: CNAME web.example.lab., TXT {txt}",
        f"answer AA: TXT {txt} +1", "answer AA: 2 records", "answer AA")
    assert dns_labels(dns(answers=(("www.example.lab.", "A", "10.0.2.80"),)))[-2:] == ("answer: A 10.0.2.80", "answer")
    soa = (("example.lab.", "SOA", "ns1.example.lab. admin.example.lab. 1 3600 600 86400 300"),)
    assert dns_labels(dns(aa=True, rcode="NXDOMAIN", authority=soa)) == (
        "NXDOMAIN AA (SOA of example.lab.) id 0x0348", "NXDOMAIN AA (SOA of example.lab.)", "NXDOMAIN AA")
    assert dns_labels(dns(aa=True, authority=soa))[-1] == "no data AA"
    assert dns_labels(dns(tc=True, aa=True)) == (
        "truncated TC=1 AA: ask again over TCP id 0x0348", "truncated TC=1 AA: ask again over TCP", "truncated TC=1 AA")
    assert dns_labels(dns(rcode="SERVFAIL")) == ("SERVFAIL id 0x0348", "SERVFAIL")
    assert dns_labels(dns(malformed=True)) == ("DNS malformed id 0x0348", "DNS malformed")


def test_the_labeler_uses_the_dns_forms():
    frame = Frame(0, 0.0, "lan1", "a", "b", {"ip": {}, "udp": {"sport": 53, "dport": 4000},
                                             "dns": dns(authority=(("lab.", "NS", "ns1.nic.lab."),))})
    assert variants([frame])[0][0] == "referral → lab. NS ns1.nic.lab. (no glue) id 0x0348"
    assert Labeler([frame]).label(frame) == "referral → lab. NS ns1.nic.lab. (no glue) id 0x0348"
