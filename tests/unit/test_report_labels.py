from protolab.expect.trace import Frame, make_trace
from protolab.report.labels import Labeler, flag_words


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
        "ICMP dest unreachable (port)",
        "UDP 10.0.1.10:5353 → 10.0.2.53:53 len=3",
        "Ether / Raw",
    ]


def test_a_gratuitous_arp_is_labelled_as_an_announcement():
    from protolab.report.labels import arp_label

    announce = {"op": 1, "psrc": "10.0.1.10", "pdst": "10.0.1.10", "hwsrc": "02:00:00:01:01:10", "hwdst": "00:00:00:00:00:00"}
    assert arp_label(announce) == "ARP gratuitous: 10.0.1.10 is-at 02:00:00:01:01:10"
    question = {**announce, "pdst": "10.0.1.20"}
    assert arp_label(question) == "ARP who-has 10.0.1.20 tell 10.0.1.10"
