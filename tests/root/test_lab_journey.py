"""The journey lab for real: from no address to the page by hand, every phase with its own result, then again from the caches."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap

from protolab.expect import Status
from protolab.lab.catalog import load_lab
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "journey"
CLIENT_MAC, ROUTER1, ROUTER2, WEB_MAC = "02:00:00:00:01:10", "02:00:00:00:01:01", "02:00:00:00:02:01", "02:00:00:00:02:80"
RESOLVER, ROOT, TLD, AUTH, WEB = "10.0.2.53", "10.0.2.11", "10.0.2.12", "10.0.2.13", "10.0.2.80"
PHASES = ["1 DHCP: an address", "2 ARP: the gateway's MAC", "3 DNS: the name's address", "4 TCP: the handshake",
          "5 HTTP: GET and the page", "6 close", "7 the second fetch: from the caches"]


@pytest.fixture(scope="module")
def lab():
    return load_lab("journey")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def phases(verdict) -> dict[str, Status]:
    return {p.name: p.status for p in verdict.phases()}


def journey_events(pcap: Path) -> list[tuple[str, int]]:
    """(event, position) of each stage of the journey in the capture, read with scapy's rdpcap, not protolab's decoder."""
    out = []
    for n, pkt in enumerate(rdpcap(str(pcap))):
        link = getattr(pkt, "sniffed_on", None)
        if BOOTP in pkt and DHCP in pkt:
            kind = dict(o[:2] for o in pkt[DHCP].options if isinstance(o, tuple)).get("message-type")
            out.append((f"dhcp {kind}", n))
        elif ARP in pkt and pkt[ARP].op == 1 and pkt[Ether].src == CLIENT_MAC:
            out.append(("client arp", n))
        elif DNS in pkt and UDP in pkt and link == "lan1":
            out.append(("dns answer" if pkt[DNS].qr else "dns query", n))
        elif DNS in pkt and pkt[IP].src == RESOLVER and pkt[IP].dst in (ROOT, TLD, AUTH) and not pkt[DNS].qr:
            out.append((f"walk {pkt[IP].dst}", n))
        elif TCP in pkt and link == "lan1":
            tcp, data = pkt[TCP], bytes(pkt[TCP].payload)
            if str(tcp.flags) == "S":
                out.append(("syn", n))
            elif str(tcp.flags) == "SA":
                out.append(("syn-ack", n))
            elif data.startswith(b"GET "):
                out.append(("get", n))
            elif data.startswith(b"HTTP/1.1 200"):
                out.append(("200", n))
            elif "F" in str(tcp.flags):
                out.append(("fin", n))
    return out


def same_syn_on_both_links(pcap: Path) -> list[tuple[Ether, Ether]]:
    """Each SYN to web as captured on lan1 and on lan2 (paired by its sequence number)."""
    seen: dict[int, dict[str, Ether]] = {}
    for pkt in rdpcap(str(pcap)):
        if TCP in pkt and str(pkt[TCP].flags) == "S" and pkt[IP].dst == WEB:
            seen.setdefault(pkt[TCP].seq, {})[getattr(pkt, "sniffed_on", "?")] = pkt
    return [(links["lan1"], links["lan2"]) for links in seen.values() if {"lan1", "lan2"} <= set(links)]


def test_the_reference_passes_every_phase_and_the_capture_tells_the_journey_in_order(lab, tmp_path):
    started = time.monotonic()
    result = run(lab, tmp_path)
    print(f"\njourney lab from nothing: {time.monotonic() - started:.2f} s ({result.timings})")
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert list(phases(v)) == PHASES and set(phases(v).values()) == {Status.PASS}
    assert result.facts["first.status"] == result.facts["second.status"] == 200
    assert result.facts["router.learned"] == CLIENT_MAC and result.facts["lease"].startswith("10.0.1.1")

    events = journey_events(result.pcap)
    names = [e for e, _ in events]
    # first fetch: every stage, in the order of the story
    order = ["dhcp 1", "dhcp 2", "dhcp 3", "dhcp 5", "client arp", "dns query", f"walk {ROOT}", f"walk {TLD}",
             f"walk {AUTH}", "dns answer", "syn", "syn-ack", "get", "200", "fin"]
    positions = [names.index(e) for e in order]
    assert positions == sorted(positions), events
    # second fetch: a query answered from the resolver's cache, a new connection; no DHCP, ARP or walk
    second = names[names.index("syn") + 1:]
    second = second[second.index("dns query"):]
    assert second[:2] == ["dns query", "dns answer"] and "get" in second and "200" in second
    assert not any(e.startswith(("dhcp", "walk", "client arp")) for e in second), second
    # the router rewrites the MACs and leaves the IP header as it was, but for the TTL
    pairs = same_syn_on_both_links(result.pcap)
    assert len(pairs) == 2
    for lan1, lan2 in pairs:
        assert (lan1.src, lan1.dst, lan2.src, lan2.dst) == (CLIENT_MAC, ROUTER1, ROUTER2, WEB_MAC)
        assert (lan1[IP].src, lan1[IP].dst, lan1[IP].id) == (lan2[IP].src, lan2[IP].dst, lan2[IP].id)
        assert lan2[IP].ttl == lan1[IP].ttl - 1


def test_the_steps_an_instructor_gives_carry_a_solution_that_writes_only_the_http(lab, tmp_path):
    result = run(lab, tmp_path, "uses_given.py", given="dhcp,arp,dns,tcp")
    assert result.verdict.status is Status.PASS, explain(result.verdict)


def test_a_step_not_given_is_refused_in_the_student_s_words(lab, tmp_path):
    v = run(lab, tmp_path, "uses_given.py", given="dhcp").verdict
    assert any("NotGiven: the instructor has not given the arp step (given: dhcp): write it yourself" in n for n in v.notes)
    assert phases(v)["1 DHCP: an address"] is Status.PASS and phases(v)["2 ARP: the gateway's MAC"] is Status.FAIL


def test_a_made_up_mac_instead_of_arp_is_named_in_the_arp_and_the_dns_phase(lab, tmp_path):
    v = run(lab, tmp_path, "made_up_mac.py").verdict
    assert phases(v)["1 DHCP: an address"] is Status.PASS
    assert phases(v)["2 ARP: the gateway's MAC"] is Status.FAIL
    arp = item(v, "who-has the gateway")
    assert arp.status is Status.FAIL and "ask who-has the router" in arp.messages[0]
    query = item(v, "query to the resolver")
    assert query.status is Status.FAIL
    assert "in a frame to the router's MAC 02:00:00:00:01:01 (learned by ARP) — but eth.dst is '02:00:00:00:00:01'" \
        in query.messages[0]


def test_asking_the_root_instead_of_the_resolver_is_explained(lab, tmp_path):
    v = run(lab, tmp_path, "asks_root.py").verdict
    query = item(v, "query to the resolver")
    assert query.status is Status.FAIL
    assert "asks the resolver the DHCP ACK named (10.0.2.53), not a server of the hierarchy" in query.messages[0]
    assert "ip.dst is '10.0.2.11', expected '10.0.2.53'" in query.messages[0]
    assert phases(v)["2 ARP: the gateway's MAC"] is Status.PASS and phases(v)["3 DNS: the name's address"] is Status.FAIL


def test_a_request_before_the_handshake_completes_fails_the_tcp_phase(lab, tmp_path):
    v = run(lab, tmp_path, "early_request.py").verdict
    assert phases(v)["3 DNS: the name's address"] is Status.PASS
    assert phases(v)["4 TCP: the handshake"] is Status.FAIL
    early = item(v, "no data before the handshake is complete")
    assert early.status is Status.FAIL and "The request left before the handshake was complete" in early.messages[0]
    reset = item(v, "no reset")
    assert reset.status is Status.FAIL and "sent by web" in reset.messages[0]


def test_a_request_without_host_fails_the_http_phase_with_nginx_s_400(lab, tmp_path):
    v = run(lab, tmp_path, "no_host.py").verdict
    assert phases(v)["4 TCP: the handshake"] is Status.PASS and phases(v)["6 close"] is Status.PASS
    assert phases(v)["5 HTTP: GET and the page"] is Status.FAIL
    request = item(v, "GET /")
    assert any("Host: www.example.lab names the site" in m for m in request.messages)
    assert "http.status is 400, expected 200" in item(v, "200 OK").messages[0]


def test_an_arp_question_from_0_0_0_0_leaves_the_router_unable_to_answer(lab, tmp_path):
    v = run(lab, tmp_path, "arp_from_nothing.py").verdict
    arp = item(v, "who-has the gateway")
    assert arp.status is Status.FAIL and "arp.psrc is '0.0.0.0', expected leased" in arp.messages[0]
    answer = item(v, "the resolver's answer")  # the resolver answered; the router had nowhere to send it
    assert answer.status is Status.FAIL and "it learned it from the client's who-has" in answer.messages[0]
    assert item(v, "the router learned the client's MAC (from its ARP question)").status is Status.FAIL


def test_a_second_fetch_that_kept_nothing_shows_dhcp_and_arp_again(lab, tmp_path):
    v = run(lab, tmp_path, "keeps_nothing.py").verdict
    assert [s for n, s in phases(v).items() if n != PHASES[-1]] == [Status.PASS] * 6
    assert phases(v)[PHASES[-1]] is Status.FAIL
    dhcp = item(v, "no DHCP the second time")
    assert dhcp.status is Status.FAIL and "The lease runs 120 s" in dhcp.messages[0]
    assert item(v, "no ARP from the client the second time").status is Status.FAIL
    assert item(v, "no walk from the resolver the second time").status is Status.PASS


def test_a_page_over_many_segments_whose_last_carries_web_s_fin_passes(lab, tmp_path):
    result = run(lab, tmp_path, url="http://www.example.lab/big.html")
    assert result.verdict.status is Status.PASS, explain(result.verdict)
    assert item(result.verdict, "200 OK").frames and len(item(result.verdict, "200 OK").frames) > 3
