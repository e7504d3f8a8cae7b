"""Zone data from topology files, authoritative lookups and the planned walk (pure, no root)."""

from pathlib import Path

import pytest

from protolab.errors import TopologyError
from protolab.models.dnsplan import PlanError, plan_walk
from protolab.models.zones import DnsData, zone_file_name, zones_dir
from protolab.topology import load, loads

DEFAULT = load()


@pytest.fixture(scope="module")
def data():
    return DnsData.from_topology(DEFAULT)


def test_the_default_topology_serves_four_zones_from_three_nodes(data):
    assert {z.origin: z.node for z in data.zones} == {".": "root", "lab.": "tld", "example.lab.": "auth", "shop.lab.": "auth"}
    assert data.servers == ("root", "tld", "auth") and data.resolvers == ("resolver",)
    assert data.root_hints() == (("a.root-servers.lab.", "10.0.2.11"),)
    assert zones_dir(DEFAULT) == Path(DEFAULT.source).parent / "zones"


def test_zone_file_names():
    assert zone_file_name(".") == "root.zone" and zone_file_name("example.lab.") == "example.lab.zone"


def test_root_refers_to_lab_with_glue(data):
    reply = data.lookup("root", "www.example.lab", "A")
    assert (reply.kind, reply.aa, reply.referral, reply.ns) == ("referral", False, "lab.", ("ns1.nic.lab.",))
    assert dict(reply.glue) == {"ns1.nic.lab.": ("10.0.2.12",)}
    assert reply.authority() == (("lab.", "NS", "ns1.nic.lab."),)


def test_lab_refers_to_shop_without_glue(data):
    reply = data.lookup("tld", "www.shop.lab.", "A")
    assert (reply.referral, reply.ns, dict(reply.glue)) == ("shop.lab.", ("dns.example.lab.",), {})


def test_an_answer_and_a_cname_chain_that_leaves_the_server(data):
    assert data.lookup("auth", "www.example.lab", "A").answers == (("www.example.lab.", "A", "10.0.2.80"),)
    chain = data.lookup("auth", "alias.example.lab", "A")
    assert chain.kind == "answer" and chain.aa
    assert chain.answers == (("alias.example.lab.", "CNAME", "web.example.lab."), ("web.example.lab.", "CNAME", "portal.lab."))
    assert chain.cname_target("alias.example.lab.", "A") == "portal.lab."
    assert chain.cname_target("alias.example.lab.", "CNAME") is None


def test_nxdomain_nodata_and_refused(data):
    missing = data.lookup("auth", "nothere.example.lab", "A")
    assert (missing.kind, missing.rcode, missing.aa) == ("nxdomain", "NXDOMAIN", True)
    assert missing.soa[:2] == ("example.lab.", "SOA") and missing.authority() == (missing.soa,)
    empty = data.lookup("auth", "www.example.lab", "MX")
    assert (empty.kind, empty.rcode, empty.answers) == ("nodata", "NOERROR", ())
    assert data.lookup("tld", "www.example.test", "A").kind == "refused"


def test_the_big_txt_does_not_fit_512_bytes_but_fits_one_tcp_segment(data):
    reply = data.lookup("auth", "big.example.lab", "TXT")
    assert len(reply.answers) == 10
    assert 1232 < reply.wire_size("big.example.lab.", "TXT") < 1448


def test_plan_of_the_plain_walk(data):
    walk = plan_walk(data, "www.example.lab")
    assert [(e.node, e.reply.kind) for e in walk.exchanges] == [("root", "referral"), ("tld", "referral"), ("auth", "answer")]
    assert walk.rcode == "NOERROR" and walk.answer() == (("www.example.lab.", "A", "10.0.2.80"),)
    assert not any(e.truncated for e in walk.exchanges)


def test_plan_resolves_a_server_name_without_glue_first(data):
    walk = plan_walk(data, "www.shop.lab")
    assert [(e.node, e.qname, e.purpose) for e in walk.exchanges] == [
        ("root", "www.shop.lab.", "question"),
        ("tld", "www.shop.lab.", "question"),
        ("root", "dns.example.lab.", "server address"),
        ("tld", "dns.example.lab.", "server address"),
        ("auth", "dns.example.lab.", "server address"),
        ("auth", "www.shop.lab.", "question"),
    ]
    assert walk.answer() == (("www.shop.lab.", "A", "10.0.2.80"),)  # the server's address is not part of it


def test_plan_follows_a_cname_chain_with_a_new_walk(data):
    walk = plan_walk(data, "alias.example.lab")
    assert [(e.node, e.qname) for e in walk.exchanges][-2:] == [("root", "portal.lab."), ("tld", "portal.lab.")]
    assert walk.exchanges[-1].purpose == "cname target"
    assert walk.answer() == (
        ("alias.example.lab.", "CNAME", "web.example.lab."),
        ("portal.lab.", "A", "10.0.2.80"),
        ("web.example.lab.", "CNAME", "portal.lab."),
    )


def test_plan_of_nxdomain_and_truncation(data):
    assert plan_walk(data, "nothere.example.lab").rcode == "NXDOMAIN"
    big = plan_walk(data, "big.example.lab", "TXT")
    assert [e.truncated for e in big.exchanges] == [False, False, True]
    assert plan_walk(data, "big.example.lab", "TXT", udp_limit=4096).exchanges[-1].truncated is False


# -- an instructor's own topology and zones ---------------------------------------------

TOPOLOGY = """
name = "mini"
[lans.lan1]
subnet = "10.9.0.0/24"
[nodes.a]
interfaces = [{ lan = "lan1", ip = "10.9.0.1", mac = "02:00:00:00:09:01" }]
services = [{ kind = "nsd", zones = ["."] }]
[nodes.b]
interfaces = [{ lan = "lan1", ip = "10.9.0.2", mac = "02:00:00:00:09:02" }]
services = [SERVICE_B]
"""

ROOT_ZONE = """$ORIGIN .
$TTL 60
@ SOA a.root. h.root. 1 1 1 1 1
@ NS a.root.
a.root. A 10.9.0.1
test. NS ns.test.
ns.test. A 10.9.0.2
"""


def mini(tmp_path, service_b='{ kind = "nsd", zones = ["test."] }', files=None):
    (tmp_path / "zones").mkdir()
    for name, text in (files or {"root.zone": ROOT_ZONE, "test.zone": "$ORIGIN test.\n@ 60 SOA ns h 1 1 1 1 1\n@ 60 NS ns\nns 60 A 10.9.0.2\nwww 60 A 10.9.0.9\n"}).items():
        (tmp_path / "zones" / name).write_text(text)
    path = tmp_path / "mini.toml"
    path.write_text(TOPOLOGY.replace("SERVICE_B", service_b))
    return DnsData.from_topology(load(path))


def test_a_new_domain_needs_only_zone_files_and_a_service_entry(tmp_path):
    data = mini(tmp_path)
    walk = plan_walk(data, "www.test", "A")
    assert [e.node for e in walk.exchanges] == ["a", "b"] and walk.answer() == (("www.test.", "A", "10.9.0.9"),)


@pytest.mark.parametrize(
    ("service", "files", "message"),
    [
        ('{ kind = "nsd" }', None, "'zones' must be a non-empty list"),
        ('{ kind = "nsd", zones = ["nothere."] }', None, "has no zone file"),
        ('{ kind = "nsd", zones = ["."] }', None, "served by both 'a' and 'b'"),
        ('{ kind = "nsd", zones = ["test."] }', {"root.zone": ROOT_ZONE, "test.zone": "$ORIGIN test.\n@ SOA broken"}, "zone file"),
    ],
)
def test_bad_dns_settings_are_one_line_errors(tmp_path, service, files, message):
    with pytest.raises(TopologyError, match=message) as info:
        mini(tmp_path, service, files)
    assert "\n" not in str(info.value)


def test_a_topology_without_a_root_server_is_refused(tmp_path):
    no_dns = TOPOLOGY.replace("SERVICE_B", '{ kind = "web" }').replace('{ kind = "nsd", zones = ["."] }', '{ kind = "web" }')
    assert DnsData.from_topology(loads(no_dns)).zones == ()  # a topology without DNS is fine
    (tmp_path / "zones").mkdir()
    (tmp_path / "zones" / "test.zone").write_text("$ORIGIN test.\n@ 60 SOA ns h 1 1 1 1 1\n@ 60 NS ns\nns 60 A 10.9.0.2\n")
    path = tmp_path / "noroot.toml"
    path.write_text(TOPOLOGY.replace("SERVICE_B", '{ kind = "nsd", zones = ["test."] }').replace('{ kind = "nsd", zones = ["."] }', '{ kind = "web" }'))
    with pytest.raises(TopologyError, match="no node serves the root zone"):
        DnsData.from_topology(load(path))


def test_a_delegation_loop_and_a_lame_delegation_are_reported(tmp_path):
    loop = ROOT_ZONE.replace("ns.test. A 10.9.0.2", "ns.test. A 10.9.0.1")  # the root refers test. to itself
    test_zone = "$ORIGIN test.\n@ 60 SOA ns h 1 1 1 1 1\n@ 60 NS ns\nns 60 A 10.9.0.2\n"
    data = mini(tmp_path, files={"root.zone": loop, "test.zone": test_zone})
    with pytest.raises(PlanError, match="delegation loop"):
        plan_walk(data, "www.test")
    other = tmp_path / "other"
    other.mkdir()
    lame = mini(other, '{ kind = "nsd", zones = ["other."] }', {"root.zone": ROOT_ZONE, "other.zone": test_zone.replace("test.", "other.")})
    with pytest.raises(PlanError, match="lame delegation"):
        plan_walk(lame, "www.test")
