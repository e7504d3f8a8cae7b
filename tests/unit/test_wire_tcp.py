"""The by-hand TCP endpoint: sequence arithmetic, and the segments it sends through a fake host."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from protolab.wire.tcp import SEQ_SPACE, Conn, ConnectError, Endpoint, payload_len, seq_add, seq_len

CLIENT, WEB = "10.0.1.10", "10.0.2.80"


def conn(seq: int = 1000, ack: int = 5001) -> Conn:
    return Conn(CLIENT, 40000, WEB, 80, seq=seq, ack=ack)


# -- arithmetic ------------------------------------------------------------


def test_seq_add_wraps_around_the_32_bit_space():
    assert seq_add(10, 5) == 15
    assert seq_add(SEQ_SPACE - 1, 1) == 0
    assert seq_add(SEQ_SPACE - 3, 10) == 7


@pytest.mark.parametrize(
    ("flags", "length", "uses"),
    [("S", 0, 1), ("SA", 0, 1), ("A", 0, 0), ("PA", 10, 10), ("FA", 0, 1), ("FPA", 5, 6), ("R", 0, 0)],
)
def test_a_segment_uses_its_data_bytes_plus_one_for_syn_and_one_for_fin(flags, length, uses):
    assert seq_len(flags, length) == uses


def test_sending_data_then_a_fin_moves_seq_by_the_length_then_by_one():
    c = conn(seq=1000)
    after_data = c.sent("PA", 10)
    assert after_data.seq == 1010
    after_fin = after_data.sent("FA")
    assert after_fin.seq == 1011
    assert after_fin.sent("A").seq == 1011  # a pure ACK uses no number
    assert after_fin.ack == c.ack  # sending never changes what we expect


def test_a_fin_at_the_top_of_the_number_space_wraps_to_zero():
    assert conn(seq=SEQ_SPACE - 1).sent("FA").seq == 0


def test_a_syn_from_the_peer_sets_ack_to_its_isn_plus_one():
    assert conn(ack=0).received(seq=7000, flags="SA").ack == 7001
    assert conn(ack=0).received(seq=SEQ_SPACE - 1, flags="SA").ack == 0


def test_in_order_data_and_fin_from_the_peer_move_ack():
    c = conn(ack=5001)
    assert c.received(5001, "PA", 20).ack == 5021
    assert c.received(5001, "FA").ack == 5002  # the peer's FIN: acknowledge its number + 1
    assert c.received(5001, "A").ack == 5001  # a pure ACK uses no number


@pytest.mark.parametrize("seq", [5000, 4990, 5002, 9000])
def test_old_or_early_segments_leave_ack_alone(seq):
    c = conn(ack=5001)
    assert c.received(seq, "FA").ack == 5001
    assert c.received(seq, "PA", 5).ack == 5001


# -- the endpoint, through a fake host ----------------------------------------


class FakeHost:
    """Records what is sent; answers recv() from a script of frames (like protolab's Host)."""

    ip = CLIENT

    def __init__(self, replies=()):
        self.sent: list = []
        self.replies = list(replies)

    def send(self, pkt):
        self.sent.append(IP(bytes(pkt)))

    def recv(self, match=None, timeout=1.0):
        for frame in list(self.replies):
            if match is None or match(frame):
                self.replies.remove(frame)
                return frame
        return None


def from_web(flags: str, seq: int, ack: int = 0, data: bytes = b"", dport: int = 40000, src: str = WEB) -> Ether:
    pkt = Ether() / IP(src=src, dst=CLIENT) / TCP(sport=80, dport=dport, flags=flags, seq=seq, ack=ack)
    return Ether(bytes(pkt / data if data else pkt))


def test_connect_sends_syn_then_an_ack_of_the_servers_isn_plus_one():
    host = FakeHost([from_web("SA", seq=7000, ack=1001)])
    ep = Endpoint(host, WEB, 80, 40000, isn=1000)
    c = ep.connect()
    syn, ack = host.sent
    assert (str(syn[TCP].flags), syn[TCP].seq, syn[TCP].ack) == ("S", 1000, 0)
    assert (str(ack[TCP].flags), ack[TCP].seq, ack[TCP].ack) == ("A", 1001, 7001)
    assert (c.seq, c.ack) == (1001, 7001)
    assert (syn[IP].dst, syn[TCP].sport, syn[TCP].dport) == (WEB, 40000, 80)


def test_connect_without_an_answer_raises():
    with pytest.raises(ConnectError, match="no SYN-ACK from 10.0.2.80:80"):
        Endpoint(FakeHost(), WEB, 80, 40000, isn=1).connect(timeout=0.01)


def test_data_fin_and_the_last_ack_carry_the_right_numbers():
    host = FakeHost([from_web("A", seq=7001, ack=1006), from_web("A", seq=7001, ack=1007), from_web("FA", seq=7001, ack=1007)])
    ep = Endpoint(host, WEB, 80, 40000)
    ep.conn = conn(seq=1001, ack=7001)
    ep.send(b"hello")
    assert ep.wait("A")[TCP].ack == 1006
    ep.fin()
    assert ep.wait("A")[TCP].ack == 1007
    fin = ep.wait("F")
    assert fin[TCP].seq == 7001 and ep.conn.ack == 7002
    ep.ack()
    data, fin_out, last = host.sent
    assert (str(data[TCP].flags), data[TCP].seq, data[TCP].ack, bytes(data[TCP].payload)) == ("PA", 1001, 7001, b"hello")
    assert (str(fin_out[TCP].flags), fin_out[TCP].seq, fin_out[TCP].ack) == ("FA", 1006, 7001)
    assert (str(last[TCP].flags), last[TCP].seq, last[TCP].ack) == ("A", 1007, 7002)


def test_wait_takes_only_segments_of_this_connection_with_the_flags_asked_for():
    other_port = from_web("FA", seq=1, dport=41000)
    other_host = from_web("FA", seq=1, src="10.0.2.53")
    plain_ack = from_web("A", seq=7001, ack=1001)
    fin = from_web("FA", seq=7001, ack=1001)
    host = FakeHost([other_port, other_host, plain_ack, fin])
    ep = Endpoint(host, WEB, 80, 40000)
    ep.conn = conn(seq=1001, ack=7001)
    assert ep.wait("F")[TCP].seq == 7001
    assert host.replies == [other_port, other_host, plain_ack]  # left for later, like protolab's Host does
    assert ep.wait("F", timeout=0.01) is None


def test_payload_length_comes_from_the_ip_header_not_the_padded_frame():
    frame = from_web("PA", seq=1, ack=1, data=b"abc")
    padded = Ether(bytes(frame) + b"\x00" * 20)
    assert payload_len(frame) == 3
    assert payload_len(padded) == 3
    assert payload_len(from_web("A", seq=1, ack=1)) == 0


# --- replies matched across the wrap of the sequence space ----------------------------------------

def test_a_syn_ack_answers_a_syn_whose_isn_is_the_last_number():
    from scapy.layers.inet import TCP

    from protolab.wire.tcp import tcp_answers

    syn = TCP(sport=40000, dport=80, flags="S", seq=2**32 - 1)
    synack = TCP(sport=80, dport=40000, flags="SA", seq=7, ack=0)  # ISN + 1 wrapped to 0
    assert tcp_answers(synack, syn)
    assert not synack.answers(syn)  # scapy's own rule compares plain integers


def test_the_wrap_aware_rule_agrees_with_scapy_where_nothing_wraps():
    import random

    from scapy.layers.inet import TCP

    from protolab.wire.tcp import tcp_answers

    rng = random.Random(5)
    flags = ["S", "SA", "A", "PA", "FA", "R", "RA", "F"]
    for _ in range(20000):
        seq, ack = rng.randrange(10, 2**31), rng.randrange(10, 2**31)
        question = TCP(sport=40000, dport=80, flags=rng.choice(flags), seq=seq, ack=ack) / (b"x" * rng.randrange(3))
        reply = TCP(sport=rng.choice([80, 81]), dport=rng.choice([40000, 40001]), flags=rng.choice(flags),
                    seq=ack + rng.randrange(-3, 4), ack=seq + rng.randrange(-3, 6))
        assert tcp_answers(reply, question) == bool(reply.answers(question)), (reply, question)


def test_seq_distance_is_circular():
    from protolab.wire.tcp import seq_distance

    assert seq_distance(0, 2**32 - 1) == 1 and seq_distance(2**32 - 1, 0) == -1 and seq_distance(5, 5) == 0
