"""The lab's real DNS: NSD on root, tld and auth, Unbound on resolver, in real namespaces."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from protolab.backends import get_backend
from protolab.backends.ledger import process_start_time
from protolab.servers.hierarchy import DnsServers
from protolab.servers.process import NodeProgram, ServiceError
from protolab.servers.resolvconf import run_with_resolver
from protolab.models.zones import DnsData
from protolab.topology import load

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def deployment():
    dep = get_backend("netns").deploy(load())
    try:
        yield dep
    finally:
        dep.teardown()


@pytest.fixture
def servers(deployment):
    with DnsServers(deployment) as running:
        yield running


def dig(deployment, *args: str) -> str:
    result = deployment.node("client").run(["dig", "+time=1", "+tries=1", *args])
    assert result.returncode == 0, result.stderr
    return result.stdout


def flags(output: str) -> set[str]:
    return set(re.search(r";; flags: ([a-z ]+);", output).group(1).split())


def alive(pid: int, start: int) -> bool:
    return process_start_time(pid) == start and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_all_servers_start_in_their_nodes_and_are_recorded(deployment, servers):
    assert [(p.what, p.node.name) for p in servers.programs] == [
        ("nsd", "root"), ("nsd", "tld"), ("nsd", "auth"), ("unbound", "resolver")
    ]
    assert servers.ready_after is not None and all(p.ready_after is not None for p in servers.programs)
    recorded = {p.pid for p in deployment.record.processes}
    for program in servers.programs:
        assert program.proc.pid in recorded
        assert {pid for pid, _ in program.forked} <= recorded  # NSD's own children too
        # each runs in its node's network namespace, not the host's
        assert os.stat(f"/proc/{program.proc.pid}/ns/net").st_ino == os.stat(program.node.netns).st_ino
        assert os.stat(f"/proc/{program.proc.pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino  # the test runs in the host namespace
    assert (deployment.workdir / "dns" / "auth" / "nsd.conf").is_file()


def test_everything_stops_and_is_forgotten_when_the_block_ends(deployment):
    with DnsServers(deployment) as running:
        family = [(p.proc.pid, process_start_time(p.proc.pid)) for p in running.programs]
        family += [f for p in running.programs for f in p.forked]
    assert not any(alive(pid, start) for pid, start in family)
    assert deployment.record.processes == []
    assert not (deployment.workdir / "dns").exists()


def test_an_interrupt_stops_every_server(deployment):
    family = []
    with pytest.raises(KeyboardInterrupt):
        with DnsServers(deployment) as running:
            family = [(p.proc.pid, process_start_time(p.proc.pid)) for p in running.programs]
            raise KeyboardInterrupt
    assert family and not any(alive(pid, start) for pid, start in family)
    assert deployment.record.processes == []


def test_the_root_refers_without_authority_and_auth_answers_with_it(deployment, servers):
    referral = dig(deployment, "+norec", "+noedns", "@10.0.2.11", "www.example.lab")
    assert "aa" not in flags(referral) and "ANSWER: 0" in referral
    assert re.search(r"^lab\.\s+\d+\s+IN\s+NS\s+ns1\.nic\.lab\.$", referral, re.M)
    assert re.search(r"^ns1\.nic\.lab\.\s+\d+\s+IN\s+A\s+10\.0\.2\.12$", referral, re.M)
    answer = dig(deployment, "+norec", "@10.0.2.13", "www.example.lab")
    assert "aa" in flags(answer) and re.search(r"^www\.example\.lab\.\s+\d+\s+IN\s+A\s+10\.0\.2\.80$", answer, re.M)


def test_no_glue_for_a_server_named_outside_its_zone(deployment, servers):
    referral = dig(deployment, "+norec", "@10.0.2.12", "www.shop.lab")
    assert "shop.lab." in referral and "dns.example.lab." in referral and "ADDITIONAL: 1" in referral  # only the OPT record


def test_nxdomain_comes_with_the_soa(deployment, servers):
    out = dig(deployment, "+norec", "@10.0.2.13", "nothere.example.lab")
    assert "status: NXDOMAIN" in out and "aa" in flags(out)
    assert re.search(r"^example\.lab\.\s+\d+\s+IN\s+SOA\s+ns1\.example\.lab\. ", out, re.M)


def test_the_big_txt_is_truncated_over_udp_and_whole_over_tcp(deployment, servers):
    udp = dig(deployment, "+norec", "+noedns", "+ignore", "@10.0.2.13", "big.example.lab", "TXT")
    assert "tc" in flags(udp) and "ANSWER: 0" in udp
    tcp = dig(deployment, "+norec", "+tcp", "@10.0.2.13", "big.example.lab", "TXT")
    assert "tc" not in flags(tcp) and "ANSWER: 10" in tcp and "(TCP)" in tcp


def test_the_resolver_resolves_through_the_lab_root(deployment, servers):
    out = dig(deployment, "@10.0.2.53", "www.example.lab")
    assert {"rd", "ra"} <= flags(out) and re.search(r"www\.example\.lab\.\s+\d+\s+IN\s+A\s+10\.0\.2\.80", out)
    chain = dig(deployment, "+short", "@10.0.2.53", "alias.example.lab")
    assert chain.split() == ["web.example.lab.", "portal.lab.", "10.0.2.80"]
    assert dig(deployment, "+short", "@10.0.2.53", "www.shop.lab").split() == ["10.0.2.80"]


def test_dig_trace_walks_from_the_lab_root_with_a_resolv_conf_of_the_node(deployment, servers):
    host_conf = Path("/etc/resolv.conf").read_bytes()
    result = run_with_resolver(
        deployment.node("client"), ["dig", "+trace", "+time=1", "@10.0.2.11", "www.shop.lab"], ["10.0.2.53"], deployment.workdir
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for step in (r"^lab\.\s.*NS\s+ns1\.nic\.lab\.", r"^shop\.lab\.\s.*NS\s+dns\.example\.lab\.", r"^www\.shop\.lab\.\s.*A\s+10\.0\.2\.80"):
        assert re.search(step, out, re.M), out
    assert "from 10.0.2.13#53(dns.example.lab)" in out  # the server's name, resolved through the node's resolver
    assert Path("/etc/resolv.conf").read_bytes() == host_conf


def test_a_server_that_cannot_load_its_zone_is_an_error_and_nothing_is_left(deployment, tmp_path):
    data = DnsData.from_topology(deployment.topology)
    broken = tmp_path / "example.lab.zone"
    broken.write_text("$ORIGIN example.lab.\n@ 60 IN SOA ns1 h 1 1 1 1 1\n@ 60 IN NS ns1\nwww 60 IN A not-an-address\n")
    zones = tuple(replace(z, path=broken) if z.origin == "example.lab." else z for z in data.zones)
    with pytest.raises(ServiceError) as info:
        with DnsServers(deployment, replace(data, zones=zones), ready_timeout=1.0):
            pass
    assert "nsd in node auth was not ready within 1 s" in str(info.value) and "\n" not in str(info.value)
    assert deployment.record.processes == []
    assert not (deployment.workdir / "dns").exists()


def test_a_program_that_exits_at_start_is_reported_with_its_last_words(deployment, tmp_path):
    program = NodeProgram(deployment.node("root"), ["nsd", "-d", "-c", str(tmp_path / "missing.conf")], what="nsd",
                          log=tmp_path / "nsd.log", probe=lambda: False)
    with pytest.raises(ServiceError, match=r"nsd in node root exited at start \(.*missing\.conf"):
        with program:
            pass
    assert deployment.record.processes == []
