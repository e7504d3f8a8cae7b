"""dnsmasq's configuration from DhcpConfig, its checks, the lease file, and the kernel helpers' pure parts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from protolab.kernel.ping import echo_request, internet_checksum
from protolab.servers.dnsmasq import DhcpConfig, parse_leases
from protolab.servers.process import ServiceError
from protolab.topology import load

CONFIG = DhcpConfig("eth0", "10.0.1.0/24", "10.0.1.100", "10.0.1.149", "10.0.1.1", ("10.0.2.53",), "example.lab")


def test_for_node_takes_the_lan_the_gateway_and_the_resolver_from_the_topology():
    config = DhcpConfig.for_node(load(), "dhcp")
    assert config == CONFIG
    assert (config.mask, config.prefix, config.lease_time, config.authoritative) == ("255.255.255.0", 24, 120, True)
    assert config.in_pool("10.0.1.149") and not config.in_pool("10.0.1.50")


def test_the_rendered_config_serves_dhcp_only_on_one_interface_with_every_file_in_the_run_dir(tmp_path):
    text = CONFIG.render(tmp_path)
    lines = text.splitlines()
    for line in ("port=0", "interface=eth0", "no-ping", "log-dhcp", "dhcp-authoritative",
                 "dhcp-range=10.0.1.100,10.0.1.149,255.255.255.0,120", "dhcp-option=option:router,10.0.1.1",
                 "dhcp-option=option:dns-server,10.0.2.53", "dhcp-option=option:domain-name,example.lab",
                 f"dhcp-leasefile={tmp_path}/dnsmasq.leases", f"pid-file={tmp_path}/dnsmasq.pid",
                 f"log-facility={tmp_path}/dnsmasq.log"):
        assert line in lines
    paths = [line.split("=", 1)[1] for line in lines if line.split("=")[0] in ("pid-file", "dhcp-leasefile", "log-facility")]
    assert len(paths) == 3 and all(Path(p).parent == tmp_path for p in paths)
    assert "/var/lib/misc" not in text


def test_without_router_or_dns_none_is_offered_rather_than_dnsmasqs_own_address(tmp_path):
    text = DhcpConfig("eth0", "10.0.1.0/24", "10.0.1.100", "10.0.1.110", None, authoritative=False).render(tmp_path)
    assert "dhcp-option=option:router\n" in text and "dhcp-option=option:dns-server\n" in text
    assert "dhcp-authoritative" not in text and "domain-name" not in text


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="dnsmasq is not installed (scripts/bootstrap)")
@pytest.mark.parametrize("config", [CONFIG, DhcpConfig("eth1", "192.168.7.0/25", "192.168.7.10", "192.168.7.20", None,
                                                       lease_time=3600, authoritative=False)])
def test_dnsmasq_itself_accepts_the_rendered_config(tmp_path, config):
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(config.render(tmp_path))
    result = subprocess.run(["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert "syntax check OK" in result.stderr


@pytest.mark.parametrize("changes, message", [
    ({"pool_start": "10.0.2.100"}, "not inside 10.0.1.0/24"),
    ({"pool_start": "10.0.1.150"}, "ends .* before it starts"),
    ({"pool_start": "10.0.1.0"}, "network or broadcast address"),
    ({"router": "10.0.1.120"}, "inside the pool"),
    ({"router": "10.0.9.1"}, "not on 10.0.1.0/24"),
    ({"router": "gateway"}, "router 'gateway' is not an IPv4 address"),
    ({"dns": ("ns1",)}, "dns 'ns1' is not an IPv4 address"),
    ({"subnet": "10.0.1.0/33"}, "not an IPv4 subnet"),
    ({"lease_time": 60}, "lease_time must be 120 s"),
    ({"domain": "bad domain"}, "not a domain name"),
    ({"interface": "eth0; rm"}, "not an interface name"),
])
def test_a_config_dnsmasq_cannot_serve_is_refused_in_one_line(changes, message):
    fields = {"interface": "eth0", "subnet": "10.0.1.0/24", "pool_start": "10.0.1.100", "pool_end": "10.0.1.149",
              "router": "10.0.1.1"} | changes
    with pytest.raises(ServiceError, match=message):
        DhcpConfig(**fields)


def test_a_pool_outside_the_lan_is_refused_for_a_node():
    with pytest.raises(ServiceError, match="pool 10.0.1.100-10.0.2.44 is not inside 10.0.1.0/24"):
        DhcpConfig.for_node(load(), "dhcp", pool=(100, 300))


def test_the_lease_file_lines_are_read_and_a_half_written_line_is_not():
    text = ("1796198649 02:00:00:00:01:10 10.0.1.127 * *\n"
            "1796198650 02:00:00:00:01:20 10.0.1.131 peer 01:02:00:00:00:01:20\n"
            "duid 00:01:00:01\n"
            "1796198651 02:00:00:00:01:30 10.0.1")
    leases = parse_leases(text)
    assert [(le.mac, le.ip, le.hostname, le.client_id) for le in leases] == [
        ("02:00:00:00:01:10", "10.0.1.127", None, None), ("02:00:00:00:01:20", "10.0.1.131", "peer", "01:02:00:00:00:01:20")]
    assert leases[0].expiry == 1796198649


def test_the_echo_request_checksum_is_rfc_1071():
    packet = echo_request(0x1234, 1)
    assert internet_checksum(packet) == 0  # a packet with its checksum in place sums to zero
    assert internet_checksum(b"\x01") == 0xFEFF  # an odd byte is padded
