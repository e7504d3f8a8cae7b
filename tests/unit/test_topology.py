"""Topology files: the packaged default, the immutable model, and every rejection rule."""

from __future__ import annotations

import dataclasses
import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from protolab.errors import ProtolabError, TopologyError
from protolab.topology import (
    Interface,
    Lan,
    Node,
    Service,
    Topology,
    default_path,
    load,
    loads,
    validate,
)

SOURCE = "t.toml"
VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "topologies"

# A small valid two-LAN topology; rejection cases are single, checked edits of it.
BASE = """\
name = "small"

[lans.lan1]
subnet = "10.0.1.0/24"

[lans.lan2]
subnet = "10.0.2.0/24"

[nodes.client]
gateway = "10.0.1.1"
interfaces = [{ lan = "lan1", ip = "10.0.1.10", mac = "02:00:00:00:01:10" }]

[nodes.router]
role = "router"
forwarding = true
interfaces = [
    { lan = "lan1", ip = "10.0.1.1", mac = "02:00:00:00:01:01" },
    { lan = "lan2", ip = "10.0.2.1", mac = "02:00:00:00:02:01" },
]

[nodes.web]
gateway = "10.0.2.1"
interfaces = [{ lan = "lan2", ip = "10.0.2.80", mac = "02:00:00:00:02:80" }]
services = [{ kind = "tcp-listener", port = 80 }]
"""

CLIENT_IFACE = '{ lan = "lan1", ip = "10.0.1.10", mac = "02:00:00:00:01:10" }'
ROUTER_ETH1 = '{ lan = "lan2", ip = "10.0.2.1", mac = "02:00:00:00:02:01" }'
WEB_SERVICE = '{ kind = "tcp-listener", port = 80 }'

MINIMAL = """\
[lans.net]
subnet = "192.168.5.0/29"

[nodes.alice]
interfaces = [{ lan = "net", ip = "192.168.5.1", mac = "02:aa:00:00:00:01" }]

[nodes.bob]
interfaces = [{ lan = "net", ip = "192.168.5.6", mac = "02:aa:00:00:00:06" }]
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    """Replace one exact, unique fragment of text (fails loudly if the fragment is not there)."""
    assert text.count(old) == 1, f"fragment {old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def add(extra: str) -> str:
    return BASE + "\n" + extra


def extra_node(name: str, ip: str, mac: str, lan: str = "lan1", gateway: str = "10.0.1.1") -> str:
    return add(
        f'[nodes.{name}]\ngateway = "{gateway}"\n'
        f'interfaces = [{{ lan = "{lan}", ip = "{ip}", mac = "{mac}" }}]\n'
    )


def reject(text: str, source: str = SOURCE) -> str:
    with pytest.raises(TopologyError) as info:
        loads(text, source=source)
    return str(info.value)


def test_base_fixture_is_valid():
    topology = loads(BASE, source=SOURCE)
    assert [n.name for n in topology.nodes] == ["client", "router", "web"]
    assert topology.name == "small"


# (id, text, fragments the message must contain)
REJECTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    # --- syntax and structure
    ("invalid-toml", "[lans.lan1\nsubnet = 1\n", ("not valid TOML", "line 1")),
    ("invalid-toml-value", edit('name = "small"', "name = small"), ("not valid TOML",)),
    ("duplicate-toml-table", add('[lans.lan1]\nsubnet = "10.0.9.0/24"\n'), ("not valid TOML",)),
    ("unknown-top-level-key", 'colour = "red"\n' + BASE, ("top level", "unknown key 'colour'", "allowed:")),
    ("unknown-top-level-key-singular", edit("[lans.lan1]", "[lan.lan1]"), ("top level", "unknown key 'lan'")),
    ("lans-not-a-table", "lans = 5\n", ("'lans' must be a table",)),
    ("nodes-not-a-table", "nodes = []\n", ("'nodes' must be a table",)),
    ("lan-not-a-table", '[lans]\nlan1 = "10.0.1.0/24"\n', ("lan 'lan1' must be a table",)),
    ("node-not-a-table", BASE + '[nodes]\nstray = "x"\n', ("node 'stray' must be a table",)),
    (
        "unknown-node-key-typo",
        edit('gateway = "10.0.1.1"', 'gatway = "10.0.1.1"'),
        ("node 'client'", "unknown key 'gatway'", "gateway"),
    ),
    (
        "unknown-lan-key",
        edit('subnet = "10.0.2.0/24"', 'subnet = "10.0.2.0/24"\nvlan = 2'),
        ("lan 'lan2'", "unknown key 'vlan'"),
    ),
    (
        "unknown-interface-key",
        edit(CLIENT_IFACE, CLIENT_IFACE.replace(" }", ', mtu = 1500 }')),
        ("node 'client' eth0", "unknown key 'mtu'"),
    ),
    # --- lans and subnets
    ("lan-without-subnet", edit('subnet = "10.0.2.0/24"', 'description = "servers"'), ("lan 'lan2' has no subnet",)),
    (
        "subnet-host-bits-set",
        edit('"10.0.1.0/24"', '"10.0.1.5/24"'),
        ("lan 'lan1'", "bad subnet '10.0.1.5/24'", "host bits set"),
    ),
    ("subnet-garbage", edit('"10.0.1.0/24"', '"banana"'), ("lan 'lan1'", "bad subnet 'banana'")),
    ("subnet-prefix-too-long", edit('"10.0.1.0/24"', '"10.0.1.0/33"'), ("lan 'lan1'", "bad subnet '10.0.1.0/33'")),
    ("subnet-two-slashes", edit('"10.0.1.0/24"', '"10.0.1.0/24/8"'), ("lan 'lan1'", "bad subnet '10.0.1.0/24/8'")),
    ("subnet-ipv6", edit('"10.0.1.0/24"', '"fd00::/64"'), ("lan 'lan1'", "bad subnet 'fd00::/64'")),
    (
        "overlapping-lans",
        edit('"10.0.2.0/24"', '"10.0.0.0/16"'),
        ("lans 'lan1' (10.0.1.0/24) and 'lan2' (10.0.0.0/16) overlap",),
    ),
    (
        "identical-lans",
        edit('"10.0.2.0/24"', '"10.0.1.0/24"'),
        ("'lan1'", "'lan2'", "overlap"),
    ),
    # --- interfaces
    (
        "interfaces-not-a-list",
        edit(f"interfaces = [{CLIENT_IFACE}]", f"interfaces = {CLIENT_IFACE}"),
        ("node 'client': interfaces must be a list",),
    ),
    ("interface-not-a-table", edit(f"[{CLIENT_IFACE}]", '["lan1"]'), ("node 'client' eth0 must be a table",)),
    ("interface-missing-lan", edit(CLIENT_IFACE, CLIENT_IFACE.replace('lan = "lan1", ', "")), ("node 'client' eth0 has no lan",)),
    ("interface-missing-ip", edit(CLIENT_IFACE, CLIENT_IFACE.replace('ip = "10.0.1.10", ', "")), ("node 'client' eth0 has no ip",)),
    (
        "interface-missing-mac",
        edit(CLIENT_IFACE, CLIENT_IFACE.replace(', mac = "02:00:00:00:01:10"', "")),
        ("node 'client' eth0 has no mac",),
    ),
    (
        "second-interface-missing-mac",
        edit(ROUTER_ETH1, ROUTER_ETH1.replace(', mac = "02:00:00:00:02:01"', "")),
        ("node 'router' eth1 has no mac",),
    ),
    ("ip-octet-too-big", edit('"10.0.1.10"', '"10.0.1.300"'), ("node 'client' eth0 ip", "'10.0.1.300'", "not an IPv4 address")),
    ("ip-garbage", edit('"10.0.1.10"', '"client"'), ("node 'client' eth0 ip", "'client'", "not an IPv4 address")),
    ("ip-with-prefix", edit('"10.0.1.10"', '"10.0.1.10/24"'), ("node 'client' eth0 ip", "'10.0.1.10/24'")),
    ("ip-empty", edit('"10.0.1.10"', '""'), ("node 'client' eth0 ip", "''", "not an IPv4 address")),
    ("ip-integer", edit('"10.0.1.10"', "167772426"), ("node 'client' eth0 ip", "167772426", "not an IPv4 address")),
    ("ip-ipv6", edit('"10.0.1.10"', '"fd00::10"'), ("node 'client' eth0 ip", "'fd00::10'")),
    (
        "duplicate-ip-across-nodes",
        extra_node("other", "10.0.1.10", "02:00:00:00:01:99"),
        ("node 'other' eth0", "address 10.0.1.10 is already used by node 'client' eth0"),
    ),
    (
        "duplicate-router-ip",
        extra_node("other", "10.0.2.1", "02:00:00:00:02:99", lan="lan2", gateway="10.0.2.1"),
        ("node 'other' eth0", "address 10.0.2.1 is already used by node 'router' eth1"),
    ),
    (
        "duplicate-mac",
        extra_node("other", "10.0.1.99", "02:00:00:00:01:10"),
        ("node 'other' eth0", "MAC 02:00:00:00:01:10 is already used by node 'client' eth0"),
    ),
    (
        "duplicate-mac-different-case",
        extra_node("other", "10.0.1.99", "02:00:00:00:01:1A")
        + '\n[nodes.more]\ngateway = "10.0.1.1"\n'
        'interfaces = [{ lan = "lan1", ip = "10.0.1.98", mac = "02:00:00:00:01:1a" }]\n',
        ("node 'more' eth0", "MAC 02:00:00:00:01:1a is already used by node 'other' eth0"),
    ),
    ("multicast-mac", edit('"02:00:00:00:01:10"', '"03:00:00:00:01:10"'), ("node 'client' eth0", "MAC 03:00:00:00:01:10 is a multicast address")),
    ("ipv4-multicast-mac", edit('"02:00:00:00:01:10"', '"01:00:5e:00:00:01"'), ("node 'client' eth0", "01:00:5e:00:00:01", "multicast")),
    ("broadcast-mac", edit('"02:00:00:00:01:10"', '"ff:ff:ff:ff:ff:ff"'), ("node 'client' eth0", "ff:ff:ff:ff:ff:ff", "multicast")),
    ("mac-five-bytes", edit('"02:00:00:00:01:10"', '"02:00:00:00:01"'), ("node 'client' eth0", "MAC '02:00:00:00:01'", "six colon-separated hex bytes")),
    ("mac-seven-bytes", edit('"02:00:00:00:01:10"', '"02:00:00:00:01:10:ff"'), ("node 'client' eth0", "'02:00:00:00:01:10:ff'", "six")),
    ("mac-dashes", edit('"02:00:00:00:01:10"', '"02-00-00-00-01-10"'), ("node 'client' eth0", "'02-00-00-00-01-10'", "six")),
    ("mac-cisco-dots", edit('"02:00:00:00:01:10"', '"0200.0000.0110"'), ("node 'client' eth0", "'0200.0000.0110'")),
    ("mac-non-hex", edit('"02:00:00:00:01:10"', '"02:00:00:00:01:1g"'), ("node 'client' eth0", "'02:00:00:00:01:1g'")),
    ("mac-single-digit-bytes", edit('"02:00:00:00:01:10"', '"2:0:0:0:1:10"'), ("node 'client' eth0", "'2:0:0:0:1:10'")),
    ("mac-empty", edit('"02:00:00:00:01:10"', '""'), ("node 'client' eth0", "MAC ''")),
    ("mac-trailing-newline", edit('"02:00:00:00:01:10"', '"02:00:00:00:01:10\\n"'), ("node 'client' eth0", "six colon-separated")),
    (
        "address-outside-lan",
        edit('"10.0.1.10"', '"10.0.2.10"'),
        ("node 'client' eth0", "address 10.0.2.10 is outside lan 'lan1' (10.0.1.0/24)"),
    ),
    (
        "network-address",
        edit('"10.0.1.10"', '"10.0.1.0"'),
        ("node 'client' eth0", "address 10.0.1.0 is the network or broadcast address of 10.0.1.0/24"),
    ),
    (
        "broadcast-address",
        edit('"10.0.1.10"', '"10.0.1.255"'),
        ("node 'client' eth0", "address 10.0.1.255 is the network or broadcast address of 10.0.1.0/24"),
    ),
    ("link-to-unknown-lan", edit('lan = "lan1", ip = "10.0.1.10"', 'lan = "lan3", ip = "10.0.1.10"'), ("node 'client' eth0", "unknown lan 'lan3'")),
    (
        "two-interfaces-same-lan",
        edit(ROUTER_ETH1, '{ lan = "lan1", ip = "10.0.1.2", mac = "02:00:00:00:01:02" }'),
        ("node 'router' eth1", "two interfaces on lan 'lan1'"),
    ),
    ("node-without-interfaces", add('[nodes.lonely]\nrole = "host"\n'), ("node 'lonely' has no interfaces",)),
    ("node-with-empty-interfaces", add("[nodes.lonely]\ninterfaces = []\n"), ("node 'lonely' has no interfaces",)),
    # --- nodes as a whole
    ("no-nodes", '[lans.lan1]\nsubnet = "10.0.1.0/24"\n', ("t.toml: no nodes",)),
    ("empty-file", "", ("t.toml: no nodes",)),
    ("forwarding-not-bool", edit("forwarding = true", 'forwarding = "false"'), ("node 'router'", "forwarding must be true or false", "'false'")),
    ("forwarding-integer", edit("forwarding = true", "forwarding = 1"), ("node 'router'", "forwarding must be true or false")),
    # --- gateways
    (
        "host-without-gateway",
        edit('gateway = "10.0.1.1"\n', ""),
        ("node 'client' has no gateway", "lan2", "only reachable through one"),
    ),
    ("gateway-not-an-address", edit('gateway = "10.0.1.1"', 'gateway = "router"'), ("node 'client' gateway", "'router'", "not an IPv4 address")),
    (
        "gateway-not-on-own-lans",
        edit('gateway = "10.0.1.1"', 'gateway = "10.0.2.1"'),
        ("node 'client'", "gateway 10.0.2.1 is on none of its lans"),
    ),
    (
        "gateway-is-own-address",
        edit('gateway = "10.0.1.1"', 'gateway = "10.0.1.10"'),
        ("node 'client'", "gateway 10.0.1.10 is the node's own address"),
    ),
    (
        "gateway-owned-by-no-node",
        edit('gateway = "10.0.1.1"', 'gateway = "10.0.1.254"'),
        ("node 'client'", "gateway 10.0.1.254 belongs to no node"),
    ),
    (
        "gateway-node-does-not-forward",
        edit("forwarding = true", "forwarding = false"),
        ("node 'client'", "gateway 10.0.1.1 is node 'router', which does not forward"),
    ),
    (
        "gateway-is-another-host",
        extra_node("other", "10.0.2.7", "02:00:00:00:02:07", lan="lan2", gateway="10.0.2.80"),
        ("node 'other'", "gateway 10.0.2.80 is node 'web', which does not forward"),
    ),
    # --- names
    ("node-name-upper-case", edit("[nodes.client]", "[nodes.Client]"), ("node name 'Client'", "1-12 lower-case letters/digits")),
    ("node-name-too-long", edit("[nodes.client]", "[nodes.clientmachine1]"), ("node name 'clientmachine1'", "1-12")),
    ("node-name-13-chars", edit("[nodes.client]", "[nodes.abcdefghijklm]"), ("node name 'abcdefghijklm'",)),
    ("node-name-leading-digit", edit("[nodes.client]", "[nodes.1client]"), ("node name '1client'", "starting with a letter")),
    ("node-name-hyphen", edit("[nodes.client]", "[nodes.web-1]"), ("node name 'web-1'",)),
    ("node-name-underscore", edit("[nodes.client]", "[nodes.web_1]"), ("node name 'web_1'",)),
    ("node-name-empty", edit("[nodes.client]", '[nodes.""]'), ("node name ''",)),
    ("node-name-trailing-newline", edit("[nodes.client]", '[nodes."client\\n"]'), ("node name 'client\\n'",)),
    ("lan-name-upper-case", edit("[lans.lan2]", "[lans.LAN2]"), ("lan name 'LAN2'", "1-12")),
    ("lan-name-too-long", edit("[lans.lan2]", "[lans.serverlan12345]"), ("lan name 'serverlan12345'",)),
    ("lan-name-leading-digit", edit("[lans.lan2]", "[lans.2lan]"), ("lan name '2lan'",)),
    (
        "same-name-lan-and-node",
        add('[lans.web]\nsubnet = "10.0.3.0/24"\n'),
        ("name 'web' is used by both a lan and a node",),
    ),
    # --- services
    (
        "tcp-listener-without-port",
        edit(WEB_SERVICE, '{ kind = "tcp-listener" }'),
        ("node 'web'", "a tcp-listener needs a port"),
    ),
    ("service-without-kind", edit(WEB_SERVICE, "{ port = 80 }"), ("node 'web'", "a service has no kind")),
    ("service-not-a-table", edit(f"[{WEB_SERVICE}]", '["http"]'), ("node 'web' service must be a table",)),
    ("services-not-a-list", edit(f"services = [{WEB_SERVICE}]", 'services = "http"'), ("node 'web': services must be a list",)),
    ("services-a-table", edit(f"services = [{WEB_SERVICE}]", f"services = {WEB_SERVICE}"), ("node 'web': services must be a list",)),
]

PORT_OUT_OF_RANGE = ["0", "-1", "65536", "100000", '"80"', "80.0", "true"]


@pytest.mark.parametrize(("text", "fragments"), [c[1:] for c in REJECTIONS], ids=[c[0] for c in REJECTIONS])
def test_rejection(text: str, fragments: tuple[str, ...]):
    message = reject(text)
    assert message.startswith(f"{SOURCE}: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "\n" not in message and "\r" not in message


def test_rejection_ids_are_unique():
    ids = [c[0] for c in REJECTIONS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("port", PORT_OUT_OF_RANGE)
def test_service_port_out_of_range(port: str):
    message = reject(edit("port = 80", f"port = {port}"))
    assert message.startswith(f"{SOURCE}: node 'web': service port ")
    assert "is not 1-65535" in message


@pytest.mark.parametrize("port", [1, 80, 65535])
def test_service_port_bounds_accepted(port: int):
    topology = loads(edit("port = 80", f"port = {port}"), source=SOURCE)
    assert topology.node("web").services[0].port == port


def test_every_error_message_is_a_single_line():
    """Every rejection above, plus names and values that carry line breaks, gives one line."""
    texts = [c[1] for c in REJECTIONS] + [edit("port = 80", f"port = {p}") for p in PORT_OUT_OF_RANGE]
    texts += [
        '[lans."a\\nb"]\n',  # lan without subnet, name with a newline
        '[nodes."x\\ny"]\nrole = 5\nbogus = 1\n',  # unknown key on an oddly named node
        edit('lan = "lan1", ip = "10.0.1.10"', 'lan = "lan\\n1", ip = "10.0.1.10"'),
        edit('"10.0.1.10"', '"10.0.1.\\n10"'),
        edit('"10.0.1.0/24"', '"10.0.1.0/\\n24"'),
        edit('gateway = "10.0.1.1"', 'gateway = "10.0.1.1\\r\\n"'),
        edit('"02:00:00:00:01:10"', '"02:00:00:00:01:10\\r\\n"'),
        "[nodes\n",
        'name = """a\nb\n',
    ]
    messages = []
    for text in texts:
        messages.append(reject(text))
    assert len(messages) == len(texts)
    for message in messages:
        assert message.startswith(f"{SOURCE}: "), message
        assert "\n" not in message and "\r" not in message, repr(message)


def test_message_names_the_given_source():
    message = reject("", source="labs/odd.toml")
    assert message == "labs/odd.toml: no nodes"


def test_default_source_label():
    with pytest.raises(TopologyError, match=r"^<topology>: no nodes$"):
        loads("")


def test_topology_error_is_a_protolab_error():
    assert issubclass(TopologyError, ProtolabError)
    assert not issubclass(TopologyError, OSError)


# ---------------------------------------------------------------- the packaged default


@pytest.fixture(scope="module")
def default() -> Topology:
    return load()


def test_default_path_is_the_packaged_file():
    path = default_path()
    assert path.name == "default.toml"
    assert path.is_file()


def test_default_identity(default: Topology):
    assert default.name == "default"
    assert default.description


def test_default_node_names(default: Topology):
    assert [n.name for n in default.nodes] == [
        "client", "peer", "dhcp", "router", "web", "resolver", "root", "tld", "auth",
    ]


def test_default_lans(default: Topology):
    assert [(lan.name, lan.subnet) for lan in default.lans] == [
        ("lan1", IPv4Network("10.0.1.0/24")),
        ("lan2", IPv4Network("10.0.2.0/24")),
    ]


def test_default_router(default: Topology):
    router = default.node("router")
    assert router.forwarding is True
    assert router.role == "router"
    assert router.gateway is None
    assert [(i.name, i.lan, i.ip) for i in router.interfaces] == [
        ("eth0", "lan1", IPv4Address("10.0.1.1")),
        ("eth1", "lan2", IPv4Address("10.0.2.1")),
    ]


def test_default_only_router_forwards(default: Topology):
    assert [n.name for n in default.nodes if n.forwarding] == ["router"]


@pytest.mark.parametrize(
    ("name", "lan", "ip"),
    [
        ("client", "lan1", "10.0.1.10"),
        ("peer", "lan1", "10.0.1.20"),
        ("dhcp", "lan1", "10.0.1.2"),
        ("web", "lan2", "10.0.2.80"),
        ("resolver", "lan2", "10.0.2.53"),
        ("root", "lan2", "10.0.2.11"),
        ("tld", "lan2", "10.0.2.12"),
        ("auth", "lan2", "10.0.2.13"),
    ],
)
def test_default_host_addresses_and_gateways(default: Topology, name: str, lan: str, ip: str):
    node = default.node(name)
    assert node.forwarding is False
    assert [(i.name, i.lan) for i in node.interfaces] == [("eth0", lan)]
    assert node.ip == IPv4Address(ip)
    # The gateway is on the host's own LAN and is the router's address there.
    assert node.gateway is not None
    assert node.gateway in default.lan(lan).subnet
    assert node.gateway == default.node("router").interface_on(lan).ip
    assert default.node_by_ip(node.gateway).name == "router"


def test_default_macs_unique_lower_case_unicast(default: Topology):
    macs = [i.mac for n in default.nodes for i in n.interfaces]
    assert len(macs) == 10
    assert len(set(macs)) == len(macs)
    for mac in macs:
        assert mac == mac.lower()
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac), mac
        first = int(mac[:2], 16)
        assert not first & 1, f"{mac} is multicast"
        assert first & 2, f"{mac} is not locally administered"


def test_default_macs_follow_the_address_convention(default: Topology):
    # The last two bytes repeat the LAN number and the host number (see default.toml).
    for node in default.nodes:
        for iface in node.interfaces:
            lan_no, host_no = str(iface.ip).split(".")[2:]
            assert iface.mac.split(":")[4:] == [f"{int(lan_no):02d}", f"{int(host_no):02d}"], iface


def test_default_ips_unique_and_inside_their_lans(default: Topology):
    ips = [i.ip for n in default.nodes for i in n.interfaces]
    assert len(set(ips)) == len(ips)
    for node in default.nodes:
        for iface in node.interfaces:
            subnet = default.lan(iface.lan).subnet
            assert iface.ip in subnet
            assert iface.ip not in (subnet.network_address, subnet.broadcast_address)


def test_default_web_service(default: Topology):
    web = default.node("web")
    assert len(web.services) == 1
    service = web.services[0]
    assert service.kind == "tcp-listener"
    assert service.port == 80
    assert dict(service.options) == {}


def test_default_services(default: Topology):
    assert {n.name: [s.kind for s in n.services] for n in default.nodes if n.services} == {
        "web": ["tcp-listener"], "resolver": ["unbound"], "root": ["nsd"], "tld": ["nsd"], "auth": ["nsd"],
    }


def test_default_roles(default: Topology):
    assert {n.name: n.role for n in default.nodes} == {
        "client": "host",
        "peer": "host",
        "dhcp": "dhcp-server",
        "router": "router",
        "web": "host",
        "resolver": "dns-resolver",
        "root": "dns-root",
        "tld": "dns-tld",
        "auth": "dns-auth",
    }


def test_default_validates_again(default: Topology):
    assert validate(default, "again") is None


def test_load_none_path_and_text_agree(default: Topology):
    assert load(default_path()) == default
    assert loads(default_path().read_text(encoding="utf-8"), source="x.toml") == default


# ---------------------------------------------------------------- immutability


def test_topology_is_frozen(default: Topology):
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.nodes = ()  # type: ignore[misc]
    assert isinstance(default.nodes, tuple)
    assert isinstance(default.lans, tuple)


def test_lan_is_frozen(default: Topology):
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.lan("lan1").subnet = IPv4Network("10.9.0.0/16")  # type: ignore[misc]


def test_node_is_frozen(default: Topology):
    node = default.node("client")
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.gateway = IPv4Address("10.0.1.2")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.forwarding = True  # type: ignore[misc]
    assert isinstance(node.interfaces, tuple)
    assert isinstance(node.services, tuple)


def test_interface_is_frozen(default: Topology):
    iface = default.node("client").interfaces[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        iface.ip = IPv4Address("10.0.1.99")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        iface.mac = "02:00:00:00:00:01"  # type: ignore[misc]


def test_service_is_frozen_and_options_read_only(default: Topology):
    service = default.node("web").services[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        service.port = 8080  # type: ignore[misc]
    with pytest.raises(TypeError):
        service.options["root"] = "/srv"  # type: ignore[index]


def test_service_options_keep_extra_keys_read_only():
    text = edit(WEB_SERVICE, '{ kind = "nginx", port = 8080, root = "/srv/www", workers = 2 }')
    service = loads(text, source=SOURCE).node("web").services[0]
    assert service.kind == "nginx"
    assert service.port == 8080
    assert dict(service.options) == {"root": "/srv/www", "workers": 2}
    with pytest.raises(TypeError):
        service.options["root"] = "/tmp"  # type: ignore[index]
    with pytest.raises(TypeError):
        del service.options["workers"]  # type: ignore[attr-defined]
    assert service.options["root"] == "/srv/www"


def test_service_without_port_other_than_tcp_listener_is_allowed():
    text = edit(WEB_SERVICE, '{ kind = "nsd", zone = "lab." }')
    service = loads(text, source=SOURCE).node("web").services[0]
    assert service.port is None
    assert service.options["zone"] == "lab."


def test_default_service_options_are_read_only():
    service = Service(kind="x")
    with pytest.raises(TypeError):
        service.options["a"] = 1  # type: ignore[index]
    assert Service(kind="y").options == {}


# ---------------------------------------------------------------- helpers


def test_node_lookup(default: Topology):
    assert default.node("web").name == "web"
    assert isinstance(default.node("web"), Node)
    with pytest.raises(KeyError):
        default.node("nope")
    with pytest.raises(KeyError):
        default.node("lan1")  # a lan is not a node


def test_lan_lookup(default: Topology):
    lan = default.lan("lan2")
    assert isinstance(lan, Lan)
    assert lan.subnet == IPv4Network("10.0.2.0/24")
    assert lan.description == "server LAN"
    with pytest.raises(KeyError):
        default.lan("lan3")
    with pytest.raises(KeyError):
        default.lan("web")  # a node is not a lan


@pytest.mark.parametrize(
    ("mac", "expected"),
    [
        ("02:00:00:00:02:80", "web"),
        ("02:00:00:00:01:01", "router"),
        ("02:00:00:00:02:01", "router"),
        ("02:00:00:00:01:10", "client"),
        ("02:00:00:00:09:99", None),
        ("ff:ff:ff:ff:ff:ff", None),
    ],
)
def test_node_by_mac(default: Topology, mac: str, expected: str | None):
    node = default.node_by_mac(mac)
    assert (node.name if node else None) == expected


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("10.0.1.10", "client"),
        (IPv4Address("10.0.1.10"), "client"),
        ("10.0.1.1", "router"),
        ("10.0.2.1", "router"),
        ("10.0.2.53", "resolver"),
        ("10.0.2.13", "auth"),
        ("10.0.1.254", None),
        ("10.0.3.1", None),
    ],
)
def test_node_by_ip(default: Topology, ip, expected: str | None):
    node = default.node_by_ip(ip)
    assert (node.name if node else None) == expected


def test_node_by_ip_rejects_garbage(default: Topology):
    with pytest.raises(ValueError):
        default.node_by_ip("not-an-ip")


def test_members(default: Topology):
    lan1 = default.members("lan1")
    assert [(n.name, i.name, str(i.ip)) for n, i in lan1] == [
        ("client", "eth0", "10.0.1.10"),
        ("peer", "eth0", "10.0.1.20"),
        ("dhcp", "eth0", "10.0.1.2"),
        ("router", "eth0", "10.0.1.1"),
    ]
    lan2 = default.members("lan2")
    assert [n.name for n, _ in lan2] == ["router", "web", "resolver", "root", "tld", "auth"]
    assert all(i.lan == "lan2" for _, i in lan2)
    assert dict((n.name, i.name) for n, i in lan2)["router"] == "eth1"
    assert default.members("nope") == ()
    assert isinstance(lan1, tuple)


def test_interface_on(default: Topology):
    router = default.node("router")
    on1 = router.interface_on("lan1")
    on2 = router.interface_on("lan2")
    assert isinstance(on1, Interface)
    assert (on1.name, on1.ip, on1.mac) == ("eth0", IPv4Address("10.0.1.1"), "02:00:00:00:01:01")
    assert (on2.name, on2.ip, on2.mac) == ("eth1", IPv4Address("10.0.2.1"), "02:00:00:00:02:01")
    assert router.interface_on("lan3") is None
    assert default.node("client").interface_on("lan2") is None
    assert default.node("client").interface_on("lan1").ip == IPv4Address("10.0.1.10")


def test_node_ip_and_mac_are_the_first_interface(default: Topology):
    router = default.node("router")
    assert router.ip == IPv4Address("10.0.1.1")
    assert router.mac == "02:00:00:00:01:01"


def test_with_prefix(default: Topology):
    iface = default.node("web").interfaces[0]
    assert iface.with_prefix(default.lan("lan2").subnet) == IPv4Interface("10.0.2.80/24")


# ---------------------------------------------------------------- loading from files


def test_load_from_tmp_file(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(BASE, encoding="utf-8")
    topology = load(path)
    assert topology.name == "small"
    assert [n.name for n in topology.nodes] == ["client", "router", "web"]
    assert load(str(path)) == topology


def test_load_name_defaults_to_file_stem(tmp_path: Path):
    path = tmp_path / "campus.toml"
    path.write_text(edit('name = "small"\n', ""), encoding="utf-8")
    assert load(path).name == "campus"
    assert loads(MINIMAL, source="dir/other.toml").name == "other"


def test_load_missing_file(tmp_path: Path):
    path = tmp_path / "absent.toml"
    with pytest.raises(TopologyError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert "cannot read topology" in message
    assert "No such file" in message
    assert not isinstance(info.value, FileNotFoundError)
    assert "\n" not in message


def test_load_directory(tmp_path: Path):
    with pytest.raises(TopologyError) as info:
        load(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert "\n" not in str(info.value)


def test_load_not_utf8(tmp_path: Path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('description = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(TopologyError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert "UTF-8" in message
    assert "\n" not in message


def test_load_bad_file_names_the_path(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text(edit('gateway = "10.0.1.1"', 'gateway = "10.0.1.254"'), encoding="utf-8")
    with pytest.raises(TopologyError) as info:
        load(path)
    assert str(info.value) == f"{path}: node 'client': gateway 10.0.1.254 belongs to no node"


def _stored_vectors() -> list[Path]:
    return sorted(VECTORS.glob("*.toml"))


def test_stored_vectors_exist():
    assert len(_stored_vectors()) >= 3


@pytest.mark.parametrize("path", _stored_vectors(), ids=lambda p: p.stem)
def test_stored_bad_topologies(path: Path):
    """Each stored file names its expected message fragment on its first line: `# expect: ...`."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks an '# expect:' line"
    expected = first.removeprefix("# expect: ")
    with pytest.raises(TopologyError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


# ---------------------------------------------------------------- valid variations


def test_minimal_topology():
    topology = loads(MINIMAL, source="min.toml")
    assert topology.name == "min"
    assert topology.description == ""
    assert [lan.name for lan in topology.lans] == ["net"]
    alice, bob = topology.nodes
    assert (alice.name, bob.name) == ("alice", "bob")
    assert alice.gateway is None and bob.gateway is None
    assert alice.role == "host" and alice.forwarding is False and alice.services == ()
    assert bob.ip == IPv4Address("192.168.5.6")
    assert [n.name for n, _ in topology.members("net")] == ["alice", "bob"]


def test_minimal_topology_with_single_node():
    text = MINIMAL.split("[nodes.bob]")[0]
    assert [n.name for n in loads(text, source=SOURCE).nodes] == ["alice"]


def test_upper_case_mac_is_normalised():
    text = edit('"02:aa:00:00:00:01"', '"02:AA:00:00:00:01"', MINIMAL)
    topology = loads(text, source=SOURCE)
    assert topology.node("alice").mac == "02:aa:00:00:00:01"
    assert topology.node_by_mac("02:AA:00:00:00:01").name == "alice"


@pytest.mark.parametrize("name", ["a", "abcdefghijkl", "h1", "lan9node"])
def test_boundary_node_names_accepted(name: str):
    topology = loads(edit("[nodes.alice]", f"[nodes.{name}]", MINIMAL), source=SOURCE)
    assert topology.nodes[0].name == name


def test_the_switch_name_is_reserved():
    # the netns backend names the switch namespace plab-RUN-sw: a node 'sw' would share it
    with pytest.raises(TopologyError, match="node name 'sw' is reserved"):
        loads(edit("[nodes.alice]", "[nodes.sw]", MINIMAL), source=SOURCE)


def test_twelve_char_lan_name_accepted():
    text = MINIMAL.replace('"net"', '"abcdefghijkl"').replace("[lans.net]", "[lans.abcdefghijkl]")
    assert loads(text, source=SOURCE).lans[0].name == "abcdefghijkl"


def test_forwarding_host_needs_no_gateway():
    text = edit('gateway = "10.0.1.1"\n', "forwarding = true\n")
    assert loads(text, source=SOURCE).node("client").forwarding is True


def test_host_on_every_lan_needs_no_gateway():
    text = add(
        "[nodes.multi]\ninterfaces = [\n"
        '    { lan = "lan1", ip = "10.0.1.50", mac = "02:00:00:00:01:50" },\n'
        '    { lan = "lan2", ip = "10.0.2.50", mac = "02:00:00:00:02:50" },\n]\n'
    )
    multi = loads(text, source=SOURCE).node("multi")
    assert multi.gateway is None
    assert [i.name for i in multi.interfaces] == ["eth0", "eth1"]


def test_gateway_may_be_a_forwarding_host():
    text = edit('role = "router"\n', 'role = "host"\n')
    assert loads(text, source=SOURCE).node("client").gateway == IPv4Address("10.0.1.1")


def test_descriptions_are_kept():
    text = edit('subnet = "10.0.1.0/24"', 'subnet = "10.0.1.0/24"\ndescription = "clients"')
    text = edit('[nodes.web]\n', '[nodes.web]\ndescription = "web server"\n', text)
    topology = loads(text, source=SOURCE)
    assert topology.lan("lan1").description == "clients"
    assert topology.node("web").description == "web server"


# ---------------------------------------------------------------- validate() on its own


def test_validate_on_a_hand_built_topology():
    lan = Lan("net", IPv4Network("10.5.0.0/24"))
    node = Node("solo", "host", (Interface("eth0", "net", IPv4Address("10.5.0.9"), "02:00:00:00:00:09"),))
    assert validate(Topology("hand", (lan,), (node,)), "hand") is None
    with pytest.raises(TopologyError, match=r"^hand: no nodes$"):
        validate(Topology("hand", (lan,), ()), "hand")


def test_validate_uses_its_source_label(default: Topology):
    broken = dataclasses.replace(default, lans=default.lans[:1])
    with pytest.raises(TopologyError) as info:
        validate(broken, "edited")
    message = str(info.value)
    assert message.startswith("edited: node 'router' eth1")
    assert "unknown lan 'lan2'" in message
