"""The http lab for real: six requests written by hand to nginx on web, read back, checked on the wire."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from protolab.servers import webroot
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "http"
STATUSES = [200, 200, 200, 301, 404, 405]


@pytest.fixture(scope="module")
def lab():
    return load_lab("http")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def messages(verdict, name) -> str:
    return " ".join(item(verdict, name).messages)


def wire_exchanges(pcap: Path) -> tuple[list[str], list[int], int]:
    """Read independently of protolab's decoder (scapy): the request lines the client sent, the
    status codes web sent, and how many SYNs the client sent, all on the client's link."""
    from scapy.layers.inet import IP, TCP
    from scapy.utils import rdpcap

    up: dict[int, bytes] = {}
    down: dict[int, bytes] = {}
    syns: set[int] = set()  # one handshake: one client ISN (the router's copy on lan2 repeats it)
    for pkt in rdpcap(str(pcap)):
        if IP not in pkt or TCP not in pkt or pkt[IP].src not in ("10.0.1.10", "10.0.2.80"):
            continue
        tcp = pkt[TCP]
        if tcp.flags.S and not tcp.flags.A and tcp.dport == 80:
            syns.add(tcp.seq)
        data = bytes(tcp.payload)[:pkt[IP].len - pkt[IP].ihl * 4 - tcp.dataofs * 4]
        if data:
            (up if tcp.dport == 80 else down).setdefault(tcp.seq, data)  # each link's copy is the same bytes
    client = b"".join(up[s] for s in sorted(up))
    server = b"".join(down[s] for s in sorted(down))
    requests = [m.decode() for m in re.findall(rb"^([A-Z]+ \S+ HTTP/1\.1)\r\n", client, re.M)]
    statuses = [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", server)]
    return requests, statuses, len(syns)


def test_the_reference_passes_and_the_pcap_holds_the_six_exchanges(lab, tmp_path):
    result = run(lab, tmp_path)
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert result.facts["web.connections"] == 1
    assert result.facts["your.statuses"] == STATUSES
    assert result.facts["your.body_len(2)"] == len(webroot.files()[webroot.BIG]) == v.bindings["body_len 2"]
    big = item(v, "response 2: 200")
    assert len(big.frames) >= 3  # /big.html came in several segments
    requests, statuses, syns = wire_exchanges(result.pcap)
    assert requests == ["GET /index.html HTTP/1.1", "GET /big.html HTTP/1.1", "HEAD /index.html HTTP/1.1",
                        "GET /old HTTP/1.1", "GET /nowhere.html HTTP/1.1", "POST /index.html HTTP/1.1"]
    assert statuses == STATUSES and syns == 1
    total = sum(result.timings.values())
    print(f"\nhttp lab from nothing: {total * 1000:.0f} ms ("
          + ", ".join(f"{k} {s * 1000:.0f} ms" for k, s in result.timings.items()) + ")")


def test_bare_lf_line_ends_are_named_though_nginx_answers(lab, tmp_path):
    v = run(lab, tmp_path, "bare_lf.py").verdict
    first = messages(v, "request 1: GET /index.html")
    assert ("it must read as regular HTTP/1.1 — but the request line ends with a bare LF; header line 1 ('Host') "
            "ends with a bare LF; the blank line that ends the head is a bare LF") in first
    assert item(v, "response 1: 200").status is Status.PASS  # nginx's real answer: it reads LF too
    assert all(item(v, name).status is Status.FAIL for name in ("request 2: GET /big.html", "request 6: POST /index.html"))
    assert v.status is Status.FAIL

def test_no_host_header_gets_nginx_400(lab, tmp_path):
    result = run(lab, tmp_path, "no_host.py")
    v = result.verdict
    assert "it must read as regular HTTP/1.1 — but the HTTP/1.1 request has no Host header" in messages(
        v, "request 1: GET /index.html")
    assert "http.status is 400, expected 200" in messages(v, "response 1: 200")
    assert result.facts["web.log"][0] == "GET /index.html HTTP/1.1 → 400"


def test_a_head_without_its_empty_line_never_ends_and_nginx_gives_up(lab, tmp_path):
    result = run(lab, tmp_path, "no_blank_line.py")
    v = result.verdict
    assert "the request head" in messages(v, "request 1: GET /index.html")
    missing = messages(v, "response 1: 200")
    assert missing.startswith("no response to request 1 (GET /index.html HTTP/1.1): web sent nothing after the "
                              "handshake and closed the connection (FIN, frame #")
    assert re.search(r"\), (\d+ ms|\d\.\d\d s) after the request's last byte; the request itself: ", missing), missing
    assert result.facts["web.log"] == ["GET /index.html HTTP/1.1 → 408"]  # nginx's timeout, in its log


def test_a_malformed_request_line_gets_nginx_400(lab, tmp_path):
    result = run(lab, tmp_path, "bad_version.py")
    v = result.verdict
    assert ("but the request line 'GET /index.html HTTP1.1' is not METHOD TARGET HTTP/x.y"
            in messages(v, "request 1: GET /index.html"))
    assert "http.status is 400, expected 200" in messages(v, "response 1: 200")


def test_a_content_length_longer_than_the_body_is_named(lab, tmp_path):
    v = run(lab, tmp_path, "wrong_length.py").verdict
    last = messages(v, "request 6: POST /index.html")
    assert "Content-Length says 20 but the connection closed after 10 body bytes" in last
    assert "http.content_length is 20, expected 10" in last


def test_reading_until_close_stalls_and_finds_the_connection_gone(lab, tmp_path):
    v = run(lab, tmp_path, "reads_until_close.py").verdict
    missing = messages(v, "response 2: 200")
    assert missing.startswith("no response to request 2 (GET /big.html HTTP/1.1): web sent nothing after response 1 "
                              "and closed the connection (FIN, frame #")
    assert "before the request came" in missing and "Read a body by its Content-Length" in missing
    assert item(v, "no reset of the connection").status is Status.FAIL


def test_one_recv_per_response_cuts_the_big_body(lab, tmp_path):
    result = run(lab, tmp_path, "one_recv.py")
    v = result.verdict
    assert v.status is Status.FAIL
    big = item(v, "the body you return for GET /big.html is the one web sent, exactly Content-Length bytes")
    assert big.status is Status.FAIL
    assert re.fullmatch(r"your\.body_len\(2\) is \d+, expected body_len 2 = 8187", big.messages[0]), big.messages
    assert result.facts["your.body_len(2)"] < 8187
