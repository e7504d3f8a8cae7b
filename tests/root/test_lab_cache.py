"""The cache lab for real: five openings of a page against nginx, 304s without a body, no request while fresh."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from protolab.servers import webroot
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "cache"
CLIENT, WEB = "10.0.1.10", "10.0.2.80"
ETAG1 = '"6553f100-c03"'  # /index.html as webroot writes it (MTIME, 3075 bytes)


@pytest.fixture(scope="module")
def lab():
    return load_lab("cache")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def messages(verdict, name) -> str:
    return " ".join(item(verdict, name).messages)


def wire_exchanges(pcap: Path) -> list[tuple[float, str, int, bytes]]:
    """Read independently of protolab's decoder (scapy): each request line the client sent, with its time,
    the status of the response after it on the same connection, and what followed that response's head
    before the next response (its body). Each packet counts once, however many links saw it."""
    from scapy.layers.inet import IP, TCP
    from scapy.utils import rdpcap

    up: dict[int, dict[int, tuple[float, bytes]]] = {}
    down: dict[int, dict[int, bytes]] = {}
    for pkt in rdpcap(str(pcap)):
        if IP not in pkt or TCP not in pkt or {pkt[IP].src, pkt[IP].dst} != {CLIENT, WEB}:
            continue
        ip, tcp = pkt[IP], pkt[TCP]
        data = bytes(tcp.payload)[:ip.len - ip.ihl * 4 - tcp.dataofs * 4]
        if not data:
            continue
        if tcp.dport == 80:
            up.setdefault(tcp.sport, {}).setdefault(tcp.seq, (float(pkt.time), data))
        else:
            down.setdefault(tcp.dport, {}).setdefault(tcp.seq, data)
    out = []
    for port in sorted(up, key=lambda p: min(t for t, _ in up[p].values())):
        times = sorted(up[port].items())
        stream = b"".join(d for _, (_, d) in times)
        when = [t for _, (t, _) in times]
        answers = b"".join(down.get(port, {})[s] for s in sorted(down.get(port, {})))
        heads = list(re.finditer(rb"HTTP/1\.1 (\d{3}) [^\r]*\r\n(?:[^\r]+\r\n)*\r\n", answers))
        for n, request in enumerate(re.findall(rb"^(GET \S+ HTTP/1\.1)\r\n", stream, re.M)):
            head = heads[n]
            after = answers[head.end():heads[n + 1].start() if n + 1 < len(heads) else len(answers)]
            out.append((when[min(n, len(when) - 1)], request.decode(), int(head.group(1)), after))
    return out


def test_the_reference_passes_and_the_pcap_holds_bodiless_304s_and_no_request_while_fresh(lab, tmp_path):
    result = run(lab, tmp_path)
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert result.facts["your.etag(1)"] == ETAG1 and result.facts["your.etag(4)"] != ETAG1
    exchanges = wire_exchanges(result.pcap)
    assert [(r, s) for _, r, s, _ in exchanges] == [
        ("GET /index.html HTTP/1.1", 200), ("GET /cached/style.css HTTP/1.1", 200),
        ("GET /index.html HTTP/1.1", 304), ("GET /index.html HTTP/1.1", 304), ("GET /index.html HTTP/1.1", 200),
        ("GET /index.html HTTP/1.1", 304), ("GET /cached/style.css HTTP/1.1", 304)]
    for _, _, status, after in exchanges:
        assert (after == b"") == (status == 304)  # a 304 is a head alone; a 200 carries the file
    style = [t for t, r, _, _ in exchanges if webroot.CACHED in r]
    assert style[1] - style[0] >= 1.0  # max_age=1: nothing for the stylesheet in between
    total = sum(result.timings.values())
    print(f"\ncache lab from nothing: {total * 1000:.0f} ms ("
          + ", ".join(f"{k} {s * 1000:.0f} ms" for k, s in result.timings.items())
          + "); the fifth opening must wait for max_age=1 s (+0.1 s) after the first")


def test_an_etag_without_its_quotes_is_never_matched(lab, tmp_path):
    result = run(lab, tmp_path, "unquoted_etag.py")
    v = result.verdict
    assert (f"quotes included: If-None-Match: {ETAG1} — but header if-none-match is '6553f100-c03'"
            in messages(v, "opening 2: /index.html revalidated with If-None-Match"))
    assert "http.status is 200, expected 304" in messages(v, "opening 2: 304, no body")
    assert messages(v, "opening 1 keeps the page's ETag, exactly as web sent it") == \
        f"your.etag(1) is '6553f100-c03', expected '{ETAG1}'"
    assert result.facts["web.log"][2] == "GET /index.html → 200"  # nginx's real answer: a full page again


def test_revalidating_a_fresh_copy_is_seen_on_the_wire(lab, tmp_path):
    result = run(lab, tmp_path, "refetch_while_fresh.py")
    v = result.verdict
    fresh = item(v, "while the stylesheet's copy is fresh (1 s after its 200) the browser sends no request for "
                    "it: it shows the copy")
    assert fresh.status is Status.FAIL
    assert re.match(r"wire\.while_fresh is \['GET /cached/style\.css HTTP/1\.1 \(request 2 of connection 2\), "
                    r"0\.\d\d s after the 200'", fresh.messages[0]), fresh.messages
    assert len(result.facts["wire.while_fresh"]) == 3  # openings 2, 3 and 4
    assert all(i.status is Status.PASS for i in v.items if i.kind == "step")  # each request itself was right


def test_a_304_taken_for_a_new_copy_shows_an_empty_page(lab, tmp_path):
    v = run(lab, tmp_path, "ignores_304.py").verdict
    assert messages(v, "opening 2 shows each file whole: from the copies (a 304 has no body)") == (
        "your.pages(2) is {'/index.html': 0, '/cached/style.css': 65}, "
        "expected {'/index.html': 3075, '/cached/style.css': 65}")
    assert item(v, "opening 2: 304, no body").status is Status.PASS  # the wire was right; the cache was not


def test_the_time_of_download_is_not_last_modified(lab, tmp_path):
    v = run(lab, tmp_path, "date_of_download.py").verdict
    revalidation = messages(v, "opening 3: /index.html revalidated with If-Modified-Since")
    assert "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT — but header if-modified-since is '" in revalidation
    assert "http.status is 200, expected 304" in messages(v, "opening 3: 304, no body")  # nginx compares exactly


def test_a_copy_kept_for_ever_never_sees_the_change(lab, tmp_path):
    result = run(lab, tmp_path, "never_revalidates.py")
    v = result.verdict
    missing = messages(v, "opening 2: /index.html revalidated with If-None-Match")
    assert "http.target is '/cached/style.css', expected '/index.html'" in missing
    assert "Revalidate /index.html at every opening" in missing
    assert result.facts["your.pages(4)"]["/index.html"] == len(webroot.files()[webroot.INDEX])  # the old page
