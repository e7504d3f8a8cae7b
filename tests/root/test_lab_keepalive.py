"""The keepalive lab for real: three GETs on one HTTP/1.1 connection, three on HTTP/1.0 ones, TCP keepalive probes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from protolab.servers import webroot
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "keepalive"
CLIENT, WEB = "10.0.1.10", "10.0.2.80"
PATHS = [webroot.INDEX, webroot.BIG, webroot.CACHED]


@pytest.fixture(scope="module")
def lab():
    return load_lab("keepalive")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def messages(verdict, name) -> str:
    return " ".join(item(verdict, name).messages)


def wire_connections(pcap: Path) -> list[dict]:
    """Read independently of protolab's decoder (scapy): every connection to web:80, in order of its SYN,
    with the client's ISN, the request lines it carried, who sent the first FIN, and the client's empty ACKs
    with seq = ISN (keepalive probes) and web's ACKs of them (ack = ISN + 1). Each packet is counted once,
    however many links saw it (the copy on lan2 repeats the client's seq)."""
    from scapy.layers.inet import IP, TCP
    from scapy.utils import rdpcap

    conns: dict[int, dict] = {}
    seen: set[tuple] = set()
    for pkt in rdpcap(str(pcap)):
        if IP not in pkt or TCP not in pkt:
            continue
        ip, tcp = pkt[IP], pkt[TCP]
        if {ip.src, ip.dst} != {CLIENT, WEB} or 80 not in (tcp.sport, tcp.dport):
            continue
        data = bytes(tcp.payload)[:ip.len - ip.ihl * 4 - tcp.dataofs * 4]
        key = (ip.src, tcp.sport, tcp.dport, tcp.seq, tcp.ack, str(tcp.flags), ip.id, data)
        if key in seen:  # the same packet on the other link
            continue
        seen.add(key)
        up = tcp.dport == 80
        cport = tcp.sport if up else tcp.dport
        flags = str(tcp.flags)
        if up and flags == "S":
            conns[cport] = {"isn": tcp.seq, "up": {}, "fin": None, "probes": 0, "probe_acks": 0}
        conn = conns.get(cport)
        if conn is None:
            continue
        if up and data:
            conn["up"].setdefault(tcp.seq, data)
        if "F" in flags and conn["fin"] is None:
            conn["fin"] = "client" if up else "web"
        if up and flags == "A" and not data and tcp.seq == conn["isn"]:
            conn["probes"] += 1
        if not up and flags == "A" and not data and tcp.ack == conn["isn"] + 1 and conn["probes"]:
            conn["probe_acks"] += 1
    out = []
    for conn in conns.values():
        stream = b"".join(conn["up"][s] for s in sorted(conn["up"]))
        conn["requests"] = [m.decode() for m in re.findall(rb"^(GET \S+ HTTP/1\.[01])\r\n", stream, re.M)]
        out.append(conn)
    return out


def test_the_reference_passes_with_one_handshake_for_http11_and_three_for_http10(lab, tmp_path):
    result = run(lab, tmp_path)
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert result.facts["web.log(1.1)"] == [f"GET {p} HTTP/1.1 → 200, request {n} of its connection"
                                           for n, p in enumerate(PATHS, start=1)]
    assert result.facts["web.connections(1.0)"] == 3 and result.facts["wire.handshakes(1.0)"] == 3
    conns = wire_connections(result.pcap)
    assert [c["requests"] for c in conns] == [
        [f"GET {p} HTTP/1.1" for p in PATHS], *([f"GET {p} HTTP/1.0"] for p in PATHS), []]
    assert [c["fin"] for c in conns[:4]] == ["web"] * 4  # web closes first: Connection: close, and HTTP/1.0
    probe = conns[4]
    assert probe["probes"] >= 1 and probe["probe_acks"] >= 1, probe
    assert all(c["probes"] == 0 for c in conns[:4])
    total = sum(result.timings.values())
    print(f"\nkeepalive lab from nothing: {total * 1000:.0f} ms ("
          + ", ".join(f"{k} {s * 1000:.0f} ms" for k, s in result.timings.items())
          + "); the probe part alone waits keepidle + 0.2 = 1.2 s, and TCP_KEEPIDLE takes whole seconds")


def test_a_new_connection_per_request_is_three_handshakes(lab, tmp_path):
    result = run(lab, tmp_path, "new_connection_each.py")
    v = result.verdict
    assert messages(v, "HTTP/1.1 request 2: GET /big.html").startswith(
        "connection 1 (10.0.1.10:"), messages(v, "HTTP/1.1 request 2: GET /big.html")
    assert ("carries 1 request (GET /index.html HTTP/1.1), no 2nd one: client sent nothing after request 1 and "
            "closed the connection (FIN") in messages(v, "HTTP/1.1 request 2: GET /big.html")
    assert "Send every HTTP/1.1 request on the one connection you opened" in messages(v, "HTTP/1.1 request 2: GET /big.html")
    assert messages(v, "the HTTP/1.1 requests took 1 handshake on the wire") == "wire.handshakes(1.1) is 3, expected 1"
    assert item(v, "nginx served the HTTP/1.1 requests on 1 connection").messages[0] == \
        "web.connections(1.1) is 3, expected 1"
    conns = wire_connections(result.pcap)
    assert [len(c["requests"]) for c in conns[:3]] == [1, 1, 1]


def test_connection_close_on_the_first_request_ends_the_connection_there(lab, tmp_path):
    result = run(lab, tmp_path, "close_first.py")
    v = result.verdict
    assert ("request 1 is not the last: no Connection: close (it ends the connection after this response) — but "
            "header connection is 'close'") in messages(v, "HTTP/1.1 request 1: GET /index.html")
    assert item(v, "HTTP/1.1 response 1: 200").status is Status.PASS  # nginx answers it, then closes
    assert "no 2nd one" in messages(v, "HTTP/1.1 request 2: GET /big.html")
    assert "sent by web" in messages(v, "no reset of a connection")  # the second request hit a closed socket
    assert result.facts["web.log(1.1)"] == ["GET /index.html HTTP/1.1 → 200, request 1 of its connection"]
    # recv() after web's FIN gives b"" (the solution raises ConnectionError), or ECONNRESET once web's RST is in
    assert any(re.search(r"your visit\(\) raised Connection(Reset)?Error", note) for note in v.notes), v.notes


def test_reading_past_the_body_waits_for_nginx_to_drop_the_connection(lab, tmp_path):
    v = run(lab, tmp_path, "reads_past_body.py").verdict
    missing = messages(v, "HTTP/1.1 response 2: 200")
    assert missing.startswith("no response to request 2 (GET /big.html HTTP/1.1): web sent nothing after response 1 "
                              "and closed the connection (FIN, frame #"), missing
    assert re.search(r"\d\.\d\d s after its last response, before the request came", missing), missing
    assert "Read a body by its Content-Length, then send the next request at once" in missing
    assert item(v, "no reset of a connection").status is Status.FAIL


def test_so_keepalive_without_keepidle_sends_no_probe_in_time(lab, tmp_path):
    v = run(lab, tmp_path, "no_keepidle.py").verdict
    probe = messages(v, "TCP keepalive: a probe from the client")
    assert re.search(r"tcp\.seq is (\d+), expected probe isn = (\d+)\. No probe came: set SO_KEEPALIVE", probe), probe
    assert "without TCP_KEEPIDLE Linux waits 7200 s" in probe
    assert item(v, "TCP keepalive: web's kernel answers the probe").status is Status.SKIPPED
    failed = [i.name for i in v.items if i.status is Status.FAIL]
    assert failed == ["TCP keepalive: a probe from the client"], failed  # the HTTP parts were right


def test_an_http_keepalive_header_is_not_tcp_keepalive(lab, tmp_path):
    result = run(lab, tmp_path, "http_keepalive_header.py")
    v = result.verdict
    assert item(v, "TCP keepalive: a probe from the client").status is Status.FAIL
    assert messages(v, "the TCP keepalive connection carries no HTTP request: its probes are the kernel's, and "
                       "nginx never sees them") == "web.log(probe) is ['GET /index.html HTTP/1.1'], expected []"
    assert item(v, "nginx served the HTTP/1.1 requests on 1 connection").status is Status.PASS  # part 1 stays apart
