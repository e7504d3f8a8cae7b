"""DNS in reports: ladder labels and the delegation view, and the lab's offline check, on stored captures."""

import io
from pathlib import Path

from rich.console import Console

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from protolab.lab.offline import check_capture
from protolab.report import render_ladder
from protolab.report.delegation import exchanges, render_delegation, said
from protolab.report.labels import dns_labels
from protolab.topology import load

VECTORS = Path(__file__).parents[1] / "vectors/dns"
LAB = load_lab("dns")


def text(renderable, width=120) -> list[str]:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def shop():
    offline = check_capture(LAB, VECTORS / "www.shop.lab.pcapng", {"name": "www.shop.lab"})
    return offline.verdict, offline.trace


def test_a_stored_capture_passes_the_same_checks_offline():
    verdict, _ = shop()
    assert verdict.status is Status.PASS, verdict.explanations()
    assert [i.name for i in verdict.items][:4] == [
        "1. ask root about www.shop.lab. A", "1. root refers to lab.",
        "2. ask tld about www.shop.lab. A", "2. tld refers to shop.lab.",
    ]
    assert any("fact check" in n for n in verdict.notes)


def test_the_same_capture_fails_for_another_name():
    offline = check_capture(LAB, VECTORS / "www.shop.lab.pcapng", {"name": "www.example.lab"})
    verdict = offline.verdict
    assert verdict.status is Status.FAIL
    first = next(i for i in verdict.items if i.name == "1. ask root about www.example.lab. A")
    assert "dns.qname is 'www.shop.lab.', expected 'www.example.lab.'" in first.messages[0]


def test_truncation_and_the_tcp_retry_offline():
    offline = check_capture(LAB, VECTORS / "big.example.lab.pcapng", {"name": "big.example.lab", "qtype": "TXT"})
    verdict, trace = offline.verdict, offline.trace
    assert verdict.status is Status.PASS, verdict.explanations()
    over_tcp = next(i for i in verdict.items if i.name == "3. auth answers over TCP (AA)")
    assert trace[over_tcp.frames[0]].get("dns.transport") == "tcp"


def test_labels_say_what_each_message_is():
    _, trace = shop()
    labels = [dns_labels(f.layers["dns"])[0] for f in trace if f.has("dns") and f.sender in ("client", "root", "tld", "auth")]
    assert labels[0].startswith("query A www.shop.lab. id ")
    assert labels[1].startswith("referral → lab. NS ")
    assert any(label.startswith("answer AA: A 10.0.2.13 id ") for label in labels)
    assert said({"qr": True, "tc": True, "aa": True, "rcode": "NOERROR"}) == "truncated (TC=1) AA: ask again over TCP"
    assert said({"qr": True, "aa": True, "rcode": "NXDOMAIN", "authority": (("example.lab.", "SOA", "x"),)}) == "NXDOMAIN AA, SOA of example.lab."


def test_the_ladder_has_six_readable_lanes():
    verdict, trace = shop()
    lines = text(render_ladder(trace, verdict, LAB.columns), width=140)
    header = next(line for line in lines if "client" in line and "auth" in line)
    for name in ("client", "router", "root", "tld", "auth"):
        assert name in header
    assert any("referral → shop.lab." in line and "✔ 2. tld refers to shop.lab." in line for line in lines)


def test_the_delegation_view_walks_like_dig_trace():
    _, trace = shop()
    lines = text(LAB.views[0](trace, load()), width=120)
    client_part = lines[lines.index("client (10.0.1.10) asks:") + 1:lines.index("resolver (10.0.2.53) asks:")]
    heads = [line.split() for line in client_part if not line.strip().startswith("└")]
    assert [(h[0], h[1], h[4]) for h in heads[:6]] == [
        (".", "root", "www.shop.lab."), ("lab.", "tld", "www.shop.lab."),
        (".", "root", "dns.example.lab."), ("lab.", "tld", "dns.example.lab."),
        ("example.lab.", "auth", "dns.example.lab."), ("shop.lab.", "auth", "www.shop.lab."),
    ]
    saids = [line.strip() for line in client_part if line.strip().startswith("└")]
    assert saids[1] == "└ referral: shop.lab. NS dns.example.lab. (no glue)"
    assert saids[0] == "└ referral: lab. NS ns1.nic.lab. (glue ns1.nic.lab. A 10.0.2.12)"
    assert heads[6][0] == "recursive" and heads[6][-3] == "RD"


def test_each_question_is_counted_once_and_paired_with_its_response():
    _, trace = shop()
    owners = {"10.0.1.10": "client", "10.0.2.53": "resolver", "10.0.2.11": "root", "10.0.2.12": "tld", "10.0.2.13": "auth"}
    found = exchanges(trace, owners)
    assert all(e.response is not None for e in found)
    assert all(e.query.get("dns.id") == e.response.get("dns.id") for e in found)
    client = [e for e in found if e.asker == "client"]
    assert len(client) == 8  # six by hand, two to the resolver: none counted twice though each crossed two LANs
    assert render_delegation(trace.__class__(()), owners) is not None
