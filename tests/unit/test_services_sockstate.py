"""sock_diag messages of the connection probe, built and parsed without a kernel."""

from __future__ import annotations

import socket
import struct

from protolab.kernel.sockstate import _request, parse_answer

LOCAL, PEER = ("10.0.2.80", 80), ("10.0.1.10", 45000)


def answer(state: int, timer: int = 0, expires: int = 0, retrans: int = 0, info: bytes | None = None) -> bytes:
    """An inet_diag_msg as the kernel sends it (the body after the netlink header)."""
    sockid = struct.pack("!HH16s16s", LOCAL[1], PEER[1], socket.inet_aton(LOCAL[0]) + bytes(12), socket.inet_aton(PEER[0]) + bytes(12))
    body = struct.pack("=BBBB", socket.AF_INET, state, timer, retrans) + sockid + struct.pack("=III", 2, 7, 0)
    body += struct.pack("=IIIII", expires, 0, 0, 0, 12345)
    if info is not None:
        body += struct.pack("=HH", 4 + len(info), 2) + info
    return body


def tcp_info(rto_us: int, segs_in: int) -> bytes:
    info = bytearray(232)
    struct.pack_into("=I", info, 8, rto_us)
    struct.pack_into("=I", info, 140, segs_in)
    return bytes(info)


def test_a_request_names_the_connection_by_its_four_tuple():
    msg = _request(LOCAL, PEER, seq=77)
    length, kind, flags, seq, _ = struct.unpack_from("=IHHII", msg)
    assert (length, kind, flags, seq) == (len(msg), 20, 1, 77)  # SOCK_DIAG_BY_FAMILY, a request, not a dump
    family, proto, ext, states = struct.unpack_from("=BBBxI", msg, 16)
    assert (family, proto, ext, states) == (socket.AF_INET, socket.IPPROTO_TCP, 2, 0xFFFFFFFF)
    sport, dport, src, dst = struct.unpack_from("!HH16s16s", msg, 24)
    assert (sport, dport, socket.inet_ntoa(src[:4]), socket.inet_ntoa(dst[:4])) == (80, 45000, LOCAL[0], PEER[0])


def test_a_full_socket_reports_state_timer_rto_and_segments_received():
    found = parse_answer(answer(9, timer=1, expires=204, retrans=1, info=tcp_info(204_000, 6)))
    assert (found.state, found.timer, found.expires_ms, found.retransmits) == ("LAST_ACK", "retransmit", 204, 1)
    assert (found.rto_ms, found.segs_in, found.peer) == (204, 6, PEER)


def test_a_time_wait_socket_has_its_timer_but_no_tcp_info():
    found = parse_answer(answer(6, timer=3, expires=59_870))
    assert (found.state, found.timer, found.expires_ms) == ("TIME_WAIT", "time-wait", 59_870)
    assert found.rto_ms is None and found.segs_in is None
