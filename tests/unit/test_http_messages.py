"""HTTP/1.1 messages (protolab.wire.http) read from reassembled TCP streams of hand-built frames."""

from __future__ import annotations

import pytest

from protolab.wire import http

from .test_streams import CLIENT, SERVER, Capture, Flow

GET = b"GET /index.html HTTP/1.1\r\nHost: www.lab\r\nUser-Agent: t\r\n\r\n"


def ok(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(h + "\r\n" for h in headers)
    return head.encode() + b"\r\n" + body


def flow() -> tuple[Capture, Flow]:
    cap = Capture()
    f = Flow(cap)
    f.handshake()
    return cap, f


def one(cap: Capture) -> http.HttpConnection:
    conns = http.connections(cap.frames)
    assert len(conns) == 1
    return conns[0]


def test_request_split_across_four_segments():
    cap, f = flow()
    frames = f.send(CLIENT, GET, size=15)  # 57 bytes: 4 segments
    assert len(frames) == 4
    conn = one(cap)
    req = conn.requests[0]
    assert (req.method, req.target, req.version) == ("GET", "/index.html", "1.1")
    assert req.headers == (("Host", "www.lab"), ("User-Agent", "t"))
    assert req.header("host") == "www.lab" and req.header("HOST") == "www.lab" and req.header("etag") is None
    assert (req.start, req.end) == (0, len(GET))
    assert req.frames == tuple(frames) and req.segments == 4
    assert (req.first_frame, req.last_frame) == (frames[0], frames[-1])
    assert req.complete and req.problems == () and req.body_len == 0
    assert conn.client == CLIENT and conn.server == SERVER
    assert conn.exchange(1).request is req and conn.exchange(1).response is None
    with pytest.raises(IndexError, match="no exchange #2"):
        conn.exchange(2)


def test_response_body_read_by_content_length_across_segments():
    cap, f = flow()
    f.send(CLIENT, GET)
    body = bytes(range(256)) * 12  # 3072 bytes
    frames = f.send(SERVER, ok(body, "Content-Length: 3072", 'ETag: "abc"'))
    conn = one(cap)
    resp = conn.exchange(1).response
    assert (resp.status, resp.reason, resp.version) == (200, "OK", "1.1")
    assert resp.body == body and resp.body_len == 3072 and resp.header("etag") == '"abc"'
    assert resp.frames == tuple(frames) and resp.segments == 3 and resp.answers == 1
    assert resp.complete and resp.problems == () and conn.problems == ()


def test_chunked_body_is_decoded():
    cap, f = flow()
    f.send(CLIENT, GET)
    chunked = b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
    f.send(SERVER, ok(chunked, "Transfer-Encoding: chunked"), size=20)
    resp = one(cap).responses[0]
    assert resp.chunked and resp.body == b"hello, world" and resp.complete
    assert resp.end == len(ok(chunked, "Transfer-Encoding: chunked"))


def test_head_and_304_have_no_body_even_with_content_length():
    cap, f = flow()
    f.send(CLIENT, b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
                   b"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n\r\n"
                   b"GET /204 HTTP/1.1\r\nHost: a\r\n\r\n")
    head = ok(b"", "Content-Length: 500")
    not_modified = ok(b"", "Content-Length: 500", 'ETag: "x"', status="304 Not Modified")
    no_content = ok(b"", status="204 No Content")
    f.send(SERVER, head + not_modified + no_content)
    conn = one(cap)
    assert [r.method for r in conn.requests] == ["HEAD", "GET", "GET"]
    assert [(r.status, r.body_len, r.answers) for r in conn.responses] == [(200, 0, 1), (304, 0, 2), (204, 0, 3)]
    assert conn.responses[1].start == len(head) and conn.responses[2].end == len(head + not_modified + no_content)
    assert all(r.complete for r in conn.responses) and conn.problems == ()


def test_pipelined_requests_and_their_responses_pair_in_order():
    cap, f = flow()
    reqs = [f"GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n".encode() for i in range(3)]
    sent = f.send(CLIENT, b"".join(reqs))  # all three in one segment
    f.send(SERVER, b"".join(ok(f"body{i}".encode(), "Content-Length: 5") for i in range(3)))
    conn = one(cap)
    assert [r.target for r in conn.requests] == ["/0", "/1", "/2"]
    assert all(r.frames == tuple(sent) for r in conn.requests)
    assert [(e.request.target, e.response.body) for e in conn.exchanges] == [
        ("/0", b"body0"), ("/1", b"body1"), ("/2", b"body2")]
    assert [e.number for e in conn.exchanges] == [1, 2, 3]


def test_keep_alive_three_requests_then_connection_close():
    cap, f = flow()
    for i in range(3):
        close = "Connection: close\r\n" if i == 2 else ""
        f.send(CLIENT, f"GET /{i} HTTP/1.1\r\nHost: a\r\n{close}\r\n".encode())
        f.send(SERVER, ok(b"x" * i, f"Content-Length: {i}", *(["Connection: close"] if i == 2 else [])))
    f.fin(SERVER)
    f.fin(CLIENT)
    conn = one(cap)
    assert len(conn.exchanges) == 3
    assert [e.request.keep_alive for e in conn.exchanges] == [True, True, False]
    assert [e.response.keep_alive for e in conn.exchanges] == [True, True, False]
    assert conn.tcp.closed_by == "server" and conn.problems == ()


def test_bytes_after_connection_close_are_not_read():
    cap, f = flow()
    second = b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
    f.send(CLIENT, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + second)
    conn = one(cap)
    assert len(conn.requests) == 1
    assert conn.problems == (f"{len(second)} bytes follow request 1, which was the last its side may send"
                             " (Connection: close): not read",)


def test_http_1_0_response_runs_until_the_close():
    cap, f = flow()
    f.send(CLIENT, b"GET / HTTP/1.0\r\n\r\n")
    f.send(SERVER, b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\n" + b"y" * 3000)
    f.fin(SERVER)
    conn = one(cap)
    req, resp = conn.exchange(1).request, conn.exchange(1).response
    assert req.version == "1.0" and not req.keep_alive and req.problems == ()  # no Host needed in 1.0
    assert resp.version == "1.0" and resp.body == b"y" * 3000 and resp.complete and not resp.keep_alive


def test_http_1_0_response_cut_by_the_end_of_the_capture():
    cap, f = flow()
    f.send(CLIENT, b"GET / HTTP/1.0\r\n\r\n")
    f.send(SERVER, b"HTTP/1.0 200 OK\r\n\r\n" + b"y" * 10)
    resp = one(cap).responses[0]
    assert not resp.complete and resp.body == b"y" * 10
    assert resp.problems == ("the body runs until the connection closes, and the capture ends first (10 bytes of it)",)


def test_100_continue_belongs_to_the_same_exchange():
    cap, f = flow()
    f.send(CLIENT, b"POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata")
    f.send(SERVER, b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"", "Content-Length: 0", status="201 Created"))
    conn = one(cap)
    assert conn.requests[0].body == b"data"
    assert [(r.status, r.answers) for r in conn.responses] == [(100, 1), (201, 1)]
    ex = conn.exchange(1)
    assert ex.response.status == 201 and [m.status for m in ex.informational] == [100]


def test_bare_lf_is_read_but_named():
    cap, f = flow()
    f.send(CLIENT, b"GET / HTTP/1.1\nHost: a\r\n\r\n")
    req = one(cap).requests[0]
    assert req.complete and req.method == "GET"
    assert req.problems == ("the request line ends with a bare LF",)


def test_every_line_bare_lf():
    cap, f = flow()
    f.send(CLIENT, b"GET / HTTP/1.1\nHost: a\nAccept: */*\n\n")
    assert one(cap).requests[0].problems == (
        "the request line ends with a bare LF", "header line 1 ('Host') ends with a bare LF",
        "header line 2 ('Accept') ends with a bare LF", "the blank line that ends the head is a bare LF")


def test_bad_request_line():
    cap, f = flow()
    f.send(CLIENT, b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n")
    conn = one(cap)
    req = conn.requests[0]
    assert not req.complete and req.method is None
    assert req.problems == ("the request line 'GET /a b HTTP/1.1' is not METHOD TARGET HTTP/x.y",)
    assert conn.problems == ("request 1 could not be read: " + req.problems[0],)
    assert str(req).startswith("unreadable request (bytes 0–")


def test_bad_header_line_and_status_line():
    cap, f = flow()
    f.send(CLIENT, b"GET / HTTP/1.1\r\nHost: a\r\nNo Colon Here\r\n\r\n")
    f.send(SERVER, b"HTTP/1.1 2000 OK\r\n\r\n")
    conn = one(cap)
    assert conn.requests[0].problems == ("the header line 'No Colon Here' is not NAME: VALUE",)
    assert conn.responses[0].problems == ("the status line 'HTTP/1.1 2000 OK' is not HTTP/x.y CODE REASON",)
    assert conn.responses[0].answers == 1  # the request it answers could not be read, but it was there


def test_content_length_longer_than_the_body_before_close():
    cap, f = flow()
    f.send(CLIENT, b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 120\r\n\r\n" + b"x" * 80)
    f.fin(CLIENT)
    req = one(cap).requests[0]
    assert not req.complete and req.method == "POST" and req.body_len == 80
    assert req.problems == ("Content-Length says 120 but the connection closed after 80 body bytes",)


def test_content_length_longer_than_the_capture():
    cap, f = flow()
    f.send(CLIENT, GET)
    f.send(SERVER, ok(b"z" * 50, "Content-Length: 100"))
    resp = one(cap).responses[0]
    assert resp.problems == ("Content-Length says 100 but the capture ends after 50 body bytes",)


def test_request_that_never_ends():
    cap, f = flow()
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: "
    f.send(CLIENT, head)
    req = one(cap).requests[0]
    assert not req.complete and req.method is None
    assert req.problems == (f"the request head never ends: the capture ends after {len(head)} bytes without the blank"
                            " line that ends it",)


def test_request_head_cut_by_the_close():
    cap, f = flow()
    head = b"GET / HTTP/1.1\r\nHost: a\r\n"
    f.send(CLIENT, head)
    f.fin(CLIENT)
    assert one(cap).requests[0].problems == (
        f"the connection closed in the middle of the request head ({len(head)} bytes, without the blank line that ends it)",)


def test_missing_host_conflicting_lengths_bad_chunk():
    cap, f = flow()
    f.send(CLIENT, b"GET / HTTP/1.1\r\n\r\n")
    f.send(SERVER, ok(b"", "Content-Length: 1", "Content-Length: 2"))
    conn = one(cap)
    assert conn.requests[0].problems == ("the HTTP/1.1 request has no Host header",)
    assert conn.responses[0].problems == ("its Content-Length headers disagree",)
    cap, f = flow()
    f.send(CLIENT, GET)
    f.send(SERVER, ok(b"5\r\nhello\r\nzz\r\n", "Transfer-Encoding: chunked"))
    resp = one(cap).responses[0]
    assert resp.body == b"hello" and resp.problems == ("the chunk size line 'zz' is not a hexadecimal size",)


def test_a_hole_inside_a_message_is_named_not_guessed():
    cap, f = flow()
    f.send(CLIENT, GET)
    response = ok(b"b" * 4000, "Content-Length: 4000")
    f.at(SERVER, 0, response[:1448])
    f.at(SERVER, 2896, response[2896:])  # 1448–2895 were never captured
    conn = one(cap)
    resp = conn.responses[0]
    assert resp.status == 200 and not resp.complete and resp.body_len == 1448 - response.index(b"\r\n\r\n") - 4
    assert resp.problems == ("the stream has a hole at bytes 1448–2895 (never captured), so the response cannot be"
                             " read whole",)
    assert resp.end == len(response)


def test_a_hole_between_messages_stops_the_reading():
    cap, f = flow()
    first = f.at(CLIENT, 0, GET)
    f.at(CLIENT, len(GET) + 10, GET)
    conn = one(cap)
    assert [r.complete for r in conn.requests] == [True, False]
    assert conn.requests[0].frames == (first,)
    assert conn.requests[1].method is None and conn.requests[1].start == len(GET)
    assert conn.requests[1].problems == (
        f"the stream has a hole at bytes {len(GET)}–{len(GET) + 9} (never captured), so the request cannot be read",)


def test_retransmitted_segment_of_a_response_is_named_once():
    cap, f = flow()
    f.send(CLIENT, GET)
    response = ok(b"r" * 2000, "Content-Length: 2000")
    first = f.at(SERVER, 0, response[:1448])
    again = f.at(SERVER, 0, response[:1448])
    last = f.at(SERVER, 1448, response[1448:])
    resp = one(cap).responses[0]
    assert resp.complete and resp.frames == (first, last) and resp.retransmissions == (again,)


def test_blank_lines_before_a_request_are_skipped():
    cap, f = flow()
    f.send(CLIENT, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\n" + GET)
    conn = one(cap)
    assert [r.method for r in conn.requests] == ["POST", "GET"] and conn.requests[1].problems == ()


def test_no_data_no_messages():
    cap, f = flow()
    f.fin(CLIENT)
    conn = one(cap)
    assert conn.requests == () and conn.responses == () and conn.exchanges == () and conn.problems == ()


def test_port_filter_and_switching_protocols():
    cap, f = flow()
    f.send(CLIENT, b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
    f.send(SERVER, ok(b"\x81\x02hi", "Connection: upgrade", "Upgrade: websocket", status="101 Switching Protocols"))
    other = Flow(cap, client=("10.0.1.10", 40999), server=("10.0.2.80", 53))
    other.handshake()
    assert len(http.connections(cap.frames)) == 2
    (conn,) = http.connections(cap.frames, port=80)
    assert conn.responses[0].status == 101 and conn.responses[0].answers == 1
    assert conn.problems == ("the connection switched protocols (websocket) after response 1: the rest is not"
                             " HTTP/1.1 and is not read",)


def test_routed_exchange_decoded_from_bytes_counts_each_packet_once():
    """Real frame bytes through decode.py and the trace builder: the router's copy on the
    second LAN (same IP id, TTL one less, other MACs) is not a second segment."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    from protolab.capture.frames import RawFrame
    from protolab.topology import load
    from protolab.wire.decode import build_trace, decode_all

    c, s = "10.0.1.10", "10.0.2.80"
    body = b"<p>hi</p>" * 300  # 2700 bytes: 2 segments
    response = ok(body, f"Content-Length: {len(body)}", 'ETag: "v1"')
    packets = [  # (sender's side, ip id, TCP)
        ("c", 1, TCP(sport=40000, dport=80, seq=100, flags="S")),
        ("s", 1, TCP(sport=80, dport=40000, seq=900, ack=101, flags="SA")),
        ("c", 2, TCP(sport=40000, dport=80, seq=101, ack=901, flags="A")),
        ("c", 3, TCP(sport=40000, dport=80, seq=101, ack=901, flags="PA") / GET),
        ("s", 2, TCP(sport=80, dport=40000, seq=901, ack=101 + len(GET), flags="A") / response[:1448]),
        ("s", 3, TCP(sport=80, dport=40000, seq=901 + 1448, ack=101 + len(GET), flags="PA") / response[1448:]),
    ]
    raw, t = [], 0
    for side, ip_id, tcp in packets:
        src, dst, near, far = (c, s, "lan1", "lan2") if side == "c" else (s, c, "lan2", "lan1")
        for link, ttl in ((near, 64), (far, 63)):  # seen where it was sent, then where the router put it
            t += 1000
            frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src, dst=dst, id=ip_id, ttl=ttl) / tcp
            raw.append(RawFrame(t, link, None, bytes(frame)))
    trace = build_trace(decode_all(raw), load(), ("lan1", "lan2"))
    assert len(trace) == 12
    (conn,) = http.connections(trace.frames)
    assert conn.tcp.copies == (2, 4, 6, 8, 10, 12)
    ex = conn.exchange(1)
    assert ex.request.target == "/index.html" and ex.request.frames == (7,)
    assert ex.response.header("ETag") == '"v1"' and ex.response.body == body
    assert ex.response.frames == (9, 11) and ex.response.retransmissions == ()
