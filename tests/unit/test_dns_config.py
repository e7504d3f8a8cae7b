"""Server configurations written per run: NSD, Unbound, root hints, resolv.conf (pure text)."""

from pathlib import Path

from protolab.servers.nsd import nsd_conf
from protolab.servers.resolvconf import resolv_conf
from protolab.servers.unbound import root_hints, unbound_conf
from protolab.models.zones import DnsData
from protolab.topology import load

DATA = DnsData.from_topology(load())


def settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and not line.lstrip().startswith("#"):
            out.setdefault(key, []).append(value.strip())
    return out


def test_nsd_serves_the_nodes_zones_from_its_own_directory():
    conf = nsd_conf(Path("/run/x/dns/auth"), DATA.served_by("auth"))
    s = settings(conf)
    assert s["name"] == ['"example.lab."', '"shop.lab."']
    assert s["zonefile"] == ['"example.lab.zone"', '"shop.lab.zone"']
    assert s["zonesdir"] == ['"/run/x/dns/auth"'] and s["pidfile"] == ['"/run/x/dns/auth/nsd.pid"']
    assert s["username"] == ['""'] and s["chroot"] == ['""'] and s["database"] == ['""']
    assert s["rrl-size"] == ["1000"] and s["do-ip6"] == ["no"] and s["control-enable"] == ["no"]
    assert s["xfrd-tcp-max"] == ["1"]
    assert all("/run/x/dns/auth" in v for k in ("zonelistfile", "xfrdfile", "xfrdir") for v in s[k])


def test_unbound_knows_only_the_lab_root_and_does_not_validate():
    directory = Path("/run/x/dns/resolver")
    s = settings(unbound_conf(directory, ["10.0.1.0/24", "10.0.2.0/24"]))
    assert s["do-daemonize"] == ["no"] and s["module-config"] == ['"iterator"'] and s["do-ip6"] == ["no"]
    assert s["root-hints"] == ['"/run/x/dns/resolver/root.hints"']
    assert s["access-control"] == ["127.0.0.0/8 allow", "10.0.1.0/24 allow", "10.0.2.0/24 allow"]
    assert s["qname-minimisation"] == ["no"] and s["control-enable"] == ["no"]
    assert "auto-trust-anchor-file" not in s and "forward-zone" not in s


def test_root_hints_name_the_root_zone_servers():
    assert root_hints(DATA.root_hints()).splitlines() == [
        ".  3600000  IN  NS  a.root-servers.lab.",
        "a.root-servers.lab.  3600000  IN  A  10.0.2.11",
    ]


def test_resolv_conf_for_a_node():
    assert resolv_conf(["10.0.2.53"]) == "nameserver 10.0.2.53\n"
    assert resolv_conf(["10.0.2.53", "10.0.2.54"], ["lab"]).splitlines()[-1] == "search lab"
