"""The route lab for real: namespaces, a forwarding router, hand-built frames, capture of both LANs."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from protolab.backends import get_backend
from protolab.backends.ledger import all_records
from protolab.backends.nsenter import entered
from protolab.expect import Status
from protolab.lab import runner
from protolab.lab.catalog import load_lab
from protolab.lab.offline import check_capture
from protolab.lab.runner import RunOptions, run_lab
from protolab.kernel.icmp_errors import IcmpCounters, icmp_counters
from protolab.kernel.neighbours import flush_neighbours, neighbours
from protolab.kernel.routes import routes
from protolab.topology import load
from protolab.live.host import Host
from tests.root.labrun import explain as text, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "route"
CLIENT, GW, WEB, FAR = "10.0.1.10", "10.0.1.1", "10.0.2.80", "192.0.2.1"
C_MAC, R1_MAC, R2_MAC, W_MAC = "02:00:00:00:01:10", "02:00:00:00:01:01", "02:00:00:00:02:01", "02:00:00:00:02:80"


@pytest.fixture(scope="module")
def lab():
    return load_lab("route")


@pytest.fixture
def deployment():
    """A topology of this test's own, torn down afterwards."""
    built = get_backend("netns").deploy(load())
    try:
        yield built
    finally:
        built.teardown()


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def run_on(deployment, monkeypatch, lab, out_dir):
    """Run the lab on `deployment` as on a topology brought up with `protolab up`."""

    @contextmanager
    def this_one(*_args, **_kwargs):
        yield deployment, True

    monkeypatch.setattr(runner, "_deployment", this_one)
    return run_lab(lab, RunOptions(out_dir=out_dir))


def echoes(trace, link, kind, dst=None, ttl=None):
    return [
        f for f in trace
        if f.link == link and f.has("icmp") and f.get("icmp.type") == kind
        and (dst is None or f.get("ip.dst") == dst) and (ttl is None or f.get("ip.ttl") == ttl)
    ]


# -- the reference solution --------------------------------------------------------------------


def test_reference_passes_and_each_link_shows_new_macs_and_the_same_ip_header(lab, tmp_path):
    result = run(lab, tmp_path)
    assert result.verdict.status is Status.PASS, text(result.verdict)
    trace = result.trace
    # the client asks ARP for its gateway, never for web
    client_arps = [f for f in trace if f.sender == "client" and f.has("arp")]
    assert client_arps and {f.get("arp.pdst") for f in client_arps} == {GW}
    assert trace[1].get("arp.pdst") == GW and trace[1].link == "lan1"
    # the request to web: one frame per link, new MACs, same IP header, TTL one lower
    (lan1,) = echoes(trace, "lan1", 8, WEB, ttl=64)
    (lan2,) = echoes(trace, "lan2", 8, WEB, ttl=63)
    assert (lan1.sender, lan1.get("eth.src"), lan1.get("eth.dst")) == ("client", C_MAC, R1_MAC)
    assert (lan2.sender, lan2.get("eth.src"), lan2.get("eth.dst")) == ("router", R2_MAC, W_MAC)
    assert (lan1.get("ip.src"), lan1.get("ip.dst"), lan1.get("ip.id")) == (lan2.get("ip.src"), lan2.get("ip.dst"), lan2.get("ip.id"))
    # the reply comes back the same way
    rep2, rep1 = echoes(trace, "lan2", 0)[0], echoes(trace, "lan1", 0)[0]  # the forward part runs first
    assert (rep2.sender, rep2.get("eth.src"), rep2.get("eth.dst"), rep2.get("ip.ttl")) == ("web", W_MAC, R2_MAC, 64)
    assert (rep1.sender, rep1.get("eth.src"), rep1.get("eth.dst"), rep1.get("ip.ttl")) == ("router", R1_MAC, C_MAC, 63)
    assert rep2.index < rep1.index
    # TTL 1 dies at the router, which answers; TTL 2 reaches web with TTL 1 left
    (exceeded,) = echoes(trace, "lan1", 11)
    assert (exceeded.get("ip.src"), exceeded.get("icmp.code"), exceeded.get("icmp.inner_dst")) == (GW, 0, WEB)
    assert echoes(trace, "lan1", 8, WEB, ttl=1) and not echoes(trace, "lan2", 8, WEB, ttl=0)
    assert len(echoes(trace, "lan2", 8, WEB, ttl=1)) == 1
    # the unroutable address: net unreachable from the router, nothing beyond lan1
    (unreachable,) = echoes(trace, "lan1", 3)
    assert (unreachable.get("ip.src"), unreachable.get("icmp.code"), unreachable.get("icmp.inner_dst")) == (GW, 0, FAR)
    assert [f.link for f in trace if f.get("ip.dst", None) == FAR] == ["lan1"]
    assert result.facts == {
        "router: default route": "none",
        "probe(10.0.2.80, ttl=64)": "10.0.2.80: echo reply (type 0, code 0)",
        "probe(10.0.2.80, ttl=1)": "10.0.1.1: time exceeded (type 11, code 0)",
        "probe(10.0.2.80, ttl=2)": "10.0.2.80: echo reply (type 0, code 0)",
        "probe(192.0.2.1, ttl=64)": "10.0.1.1: net unreachable (type 3, code 0)",
        "router: packets dropped for lack of a route": 1,
    }
    assert any("no default route" in line for line in result.narration)


def test_stored_capture_is_checked_offline(lab, tmp_path):
    result = run(lab, tmp_path)
    offline = check_capture(lab, result.pcap, {})
    verdict, trace = offline.verdict, offline.trace
    assert verdict.status is Status.PASS, text(verdict)
    assert len(trace) == len(result.trace)


def test_one_part_alone(lab, tmp_path):
    result = run(lab, tmp_path, part="ttl")
    assert result.verdict.status is Status.PASS, text(result.verdict)
    assert [i.name for i in result.verdict.items if i.kind == "step"] == [
        "TTL 1 leaves the client", "hop 1: router, time exceeded", "TTL 2 leaves the client",
        "TTL 2 crosses the router", "hop 2: web, echo reply",
    ]
    assert sorted(f.get("ip.ttl") for f in echoes(result.trace, "lan1", 8)) == [1, 2]
    assert not [f for f in result.trace if f.get("ip.dst", None) == FAR]


def test_on_a_topology_already_up_the_caches_are_emptied_and_the_router_left_as_it_was(lab, deployment, monkeypatch, tmp_path):
    client, router, web = (deployment.node(n) for n in ("client", "router", "web"))
    learned = ((client, GW, R1_MAC, "eth0"), (router, CLIENT, C_MAC, "eth0"), (router, WEB, W_MAC, "eth1"), (web, "10.0.2.1", R2_MAC, "eth0"))
    for node, ip, mac, dev in learned:
        done = node.run(["ip", "neigh", "replace", ip, "lladdr", mac, "dev", dev, "nud", "reachable"])
        assert done.returncode == 0, done.stderr
    assert [n.ip for n in neighbours(client)] == [GW]
    for attempt in range(2):
        result = run_on(deployment, monkeypatch, lab, tmp_path / str(attempt))
        assert result.reused and result.verdict.status is Status.PASS, text(result.verdict)
        assert result.trace[1].sender == "client" and result.trace[1].get("arp.pdst") == GW
        with entered(router.netns), open("/proc/sys/net/ipv4/icmp_ratemask") as f:
            assert f.read().strip() == "0"  # as the lab network was built: no ICMP error type is rate limited


# -- wrong solutions ---------------------------------------------------------------------------


def test_arping_for_web_gets_no_answer_and_is_explained(lab, tmp_path):
    result = run(lab, tmp_path, "arps_for_web.py")
    v = result.verdict
    assert v.status is Status.FAIL
    arp = item(v, "client ARPs for its gateway")
    assert arp.status is Status.FAIL
    message = " ".join(arp.messages)
    assert "ARP who-has 10.0.2.80 tell 10.0.1.10" in message
    assert "arp.pdst is '10.0.2.80', expected '10.0.1.1'" in message
    assert "web is on lan2, not in 10.0.1.0/24" in message and "nobody would answer for web" in message
    assert not [f for f in result.trace if f.has("arp") and f.get("arp.op") == 2 and f.get("arp.psrc") == WEB]
    assert not [f for f in result.trace if f.link == "lan2"]
    assert item(v, "router: gateway is-at its lan1 MAC").status is Status.FAIL
    assert result.facts["probe(10.0.2.80, ttl=64)"] == "no answer"


def test_a_frame_for_webs_mac_stays_on_lan1_and_is_explained(lab, tmp_path):
    result = run(lab, tmp_path, "frame_to_web_mac.py")
    v = result.verdict
    assert v.status is Status.FAIL
    step = item(v, "lan1: client → router's MAC")
    assert step.status is Status.FAIL
    message = " ".join(step.messages)
    assert "eth.dst is '02:00:00:00:02:80', expected '02:00:00:00:01:01'" in message
    assert "web is on lan2, so a frame for web's MAC 02:00:00:00:02:80 finds nobody on lan1" in message
    assert result.trace[step.frames[0]].get("eth.dst") == W_MAC
    assert not echoes(result.trace, "lan2", 8)  # the router never took it
    assert item(v, "client ARPs for its gateway").status is Status.FAIL
    assert result.facts["probe(10.0.2.80, ttl=1)"] == "no answer"


def test_a_traceroute_counting_from_ttl_zero_is_explained(lab, tmp_path):
    result = run(lab, tmp_path, "ttl_from_zero.py")
    v = result.verdict
    assert v.status is Status.FAIL
    first = item(v, "TTL 1 leaves the client")
    assert "the first probe of a traceroute has TTL 1" in first.messages[0] and "ip.ttl is 0, expected 1" in first.messages[0]
    assert "Hops are counted from 1" in " ".join(first.messages)
    assert "ip.ttl is 1, expected 2" in item(v, "TTL 2 leaves the client").messages[0]
    assert item(v, "TTL 2 crosses the router").status is Status.FAIL
    hop2 = item(v, "your probe() reports hop 2 = web 10.0.2.80 itself, with an echo reply")
    assert hop2.messages == (
        "probe(10.0.2.80, ttl=2) is '10.0.1.1: time exceeded (type 11, code 0)', expected '10.0.2.80: echo reply (type 0, code 0)'",
    )
    assert len(echoes(result.trace, "lan1", 11)) == 2  # both probes died at the router


def test_reading_the_hop_from_the_quote_reports_web_as_hop_one(lab, tmp_path):
    result = run(lab, tmp_path, "misreads_hop.py")
    v = result.verdict
    assert v.status is Status.FAIL
    assert all(i.status is Status.PASS for i in v.items if i.kind in ("step", "never")), text(v)  # the wire was right
    hop1 = item(v, "your probe() reports hop 1 = the router 10.0.1.1, 'time exceeded': "
                   "the sender of the ICMP error, not the address quoted inside it")
    assert hop1.messages == (
        "probe(10.0.2.80, ttl=1) is '10.0.2.80: time exceeded (type 11, code 0)', "
        "expected '10.0.1.1: time exceeded (type 11, code 0)'",
    )


def test_silence_taken_for_success_is_caught_on_the_unroutable_address(lab, tmp_path):
    result = run(lab, tmp_path, "silence_is_success.py")
    v = result.verdict
    assert v.status is Status.FAIL
    assert item(v, "router: net unreachable").status is Status.PASS  # the router did answer
    assert item(v, "nothing for 192.0.2.1 goes beyond lan1 (nothing leaves the lab)").status is Status.PASS
    (failure,) = v.failures()
    assert failure.messages == (
        "probe(192.0.2.1, ttl=64) is '192.0.2.1: echo reply (type 0, code 0)', "
        "expected '10.0.1.1: net unreachable (type 3, code 0)'",
    )
    assert "an error is an answer; silence is not success" in failure.name


def test_an_unknown_part_is_a_one_line_error_and_leaves_nothing(tmp_path):
    cli = Path(sys.executable).parent / "protolab"
    proc = subprocess.Popen([str(cli), "run", "route", "--fresh", "--set", "part=bogus", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert err.strip().splitlines() == [
        "error: parameter part='bogus': expected all, or one or more of forward, ttl, unroutable separated by commas"
    ]
    assert not [r for r in all_records() if r.owner_pid == proc.pid]


# -- the helpers, on real namespaces -----------------------------------------------------------


def test_routing_tables_are_read_as_ip_route_shows_them(deployment):
    assert [str(r) for r in routes(deployment.node("router"))] == ["10.0.1.0/24 dev eth0", "10.0.2.0/24 dev eth1"]
    assert [str(r) for r in routes(deployment.node("client"))] == ["default via 10.0.1.1 dev eth0", "10.0.1.0/24 dev eth0"]


def test_flush_removes_learned_entries_and_keeps_permanent_ones(deployment):
    client = deployment.node("client")
    for ip, mac, nud in (("10.0.1.1", R1_MAC, "reachable"), ("10.0.1.20", "02:00:00:00:01:20", "permanent")):
        assert client.run(["ip", "neigh", "replace", ip, "lladdr", mac, "dev", "eth0", "nud", nud]).returncode == 0
    assert flush_neighbours(client) == 1
    assert [(n.ip, n.state) for n in neighbours(client)] == [("10.0.1.20", "PERMANENT")]
    assert flush_neighbours(client) == 0


def test_the_router_rate_limits_no_icmp_error_and_its_counters_move(deployment):
    router = deployment.node("router")
    with entered(router.netns), open("/proc/sys/net/ipv4/icmp_ratemask") as f:
        assert f.read().strip() == "0"
    counted = icmp_counters(router)
    client = Host(deployment.node("client"))
    try:
        client.send(Ether(dst=R1_MAC) / IP(src=CLIENT, dst=FAR) / ICMP())
        error = client.recv(lambda f: ICMP in f and f[ICMP].type == 3, timeout=2.0)
    finally:
        client.close()
    assert error is not None and error[IP].src == GW
    assert icmp_counters(router) - counted == IcmpCounters(no_route=1, dest_unreachable_sent=1, time_exceeded_sent=0)


def test_a_net_unreachable_the_kernel_held_back_makes_the_run_inconclusive(lab, deployment, monkeypatch, tmp_path):
    """Linux sends at most one 'no route' error per second per sender (bursts of 5): runs
    in quick succession on one topology outrun it, and the lab must then not claim a FAIL.
    The test spends the burst first, with packets of its own for the unroutable address."""
    client = Host(deployment.node("client"))
    try:
        for _ in range(12):
            client.send(IP(dst="192.0.2.1") / ICMP())  # the lab's own unroutable address: the router drops it
    finally:
        client.close()
    statuses = [
        run_on(deployment, monkeypatch, lab, tmp_path / str(k)).verdict
        for k in range(3)
    ]
    held_back = [v for v in statuses if v.status is Status.INCONCLUSIVE]
    assert held_back, "runs right after a spent burst must find the kernel holding its errors back"
    assert all(any("held back the 'net unreachable'" in n for n in v.notes) for v in held_back)
    assert all(v.status in (Status.PASS, Status.INCONCLUSIVE) for v in statuses)
