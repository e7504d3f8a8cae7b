"""dnsmasq on the dhcp node, asked by hand-made DHCP frames from the client LAN (raw Ethernet, 0.0.0.0:68 → 255.255.255.255:67)."""

from __future__ import annotations

import time

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from protolab.backends.netns import NetnsBackend
from protolab.backends.ledger import process_start_time
from protolab.kernel.addresses import addresses, configure, unconfigured
from protolab.kernel.neighbours import flush_neighbours, neighbour
from protolab.kernel.ping import ping
from protolab.kernel.routes import default_route, routes
from protolab.live.bare import BareHost
from protolab.live.dhcpclient import dora, options_of, release_frame
from protolab.live.host import Host
from protolab.servers.dnsmasq import DhcpConfig, DnsmasqServer
from protolab.servers.process import ServiceError
from protolab.topology import load

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def deployment():
    dep = NetnsBackend().deploy(load())
    try:
        yield dep
    finally:
        dep.teardown()


@pytest.fixture
def dhcp(deployment):
    with DnsmasqServer(deployment.node("dhcp")) as server:
        print(f"\ndnsmasq ready {server.ready_after * 1000:.1f} ms after launch")
        yield server


@pytest.fixture
def hosts(deployment):
    made = {name: Host(deployment.node(name)) for name in ("client", "peer")}
    yield made
    for host in made.values():
        host.close()


def test_dora_gets_an_address_of_the_pool_with_router_dns_domain_and_lease(dhcp, hosts):
    client = hosts["client"]
    answer = dora(client, xid=0x5EED)
    assert answer.kind == "ack", answer
    assert dhcp.config.in_pool(answer.address)
    assert answer.server_id == "10.0.1.2" and answer.server_mac == "02:00:00:00:01:02"
    o = answer.options
    assert (o["router"], o["name_server"], o["subnet_mask"], o["lease_time"]) == ("10.0.1.1", "10.0.2.53", "255.255.255.0", 120)
    assert o["domain"] == b"example.lab"
    lease = dhcp.wait_lease(client.mac)
    assert lease is not None and lease.ip == answer.address
    assert abs(lease.expiry - (time.time() + 120)) < 5
    assert "DHCPACK(eth0)" in dhcp.log() and answer.address in dhcp.log()


def test_the_offer_is_broadcast_and_echoes_the_xid(dhcp, hosts):
    client = hosts["client"]
    client.send(Ether(dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67)
                / BOOTP(op=1, xid=0xABCDEF, flags=0x8000, chaddr=bytes.fromhex(client.mac.replace(":", "")))
                / DHCP(options=[("message-type", "discover"), "end"]))
    offer = client.recv(lambda f: BOOTP in f and f[BOOTP].op == 2, timeout=1.0)
    assert offer is not None
    assert offer[BOOTP].xid == 0xABCDEF and offer[Ether].dst == "ff:ff:ff:ff:ff:ff" and offer[IP].dst == "255.255.255.255"
    assert (offer[IP].src, offer[UDP].sport, offer[UDP].dport) == ("10.0.1.2", 67, 68)
    assert options_of(offer)["message-type"] == "offer"
    assert dhcp.lease_of(client.mac) is None  # an offer reserves nothing in the lease file


def test_a_second_client_gets_another_address(dhcp, hosts):
    first, second = dora(hosts["client"], xid=1), dora(hosts["peer"], xid=2)
    assert first.kind == second.kind == "ack"
    assert first.address != second.address
    assert {lease.mac for lease in dhcp.leases()} == {hosts["client"].mac, hosts["peer"].mac}


def test_a_release_takes_the_lease_out_of_the_file(dhcp, hosts):
    client = hosts["client"]
    answer = dora(client, xid=7)
    assert dhcp.wait_lease(client.mac) is not None
    client.send(release_frame(client.mac, 8, answer.address, answer.server_id, answer.server_mac))
    assert dhcp.wait_lease(client.mac, present=False) is None
    assert "DHCPRELEASE(eth0)" in dhcp.log()


def test_a_request_for_an_address_outside_the_pool_is_refused_with_a_nak(dhcp, hosts):
    answer = dora(hosts["client"], xid=9, want="10.0.1.50")
    assert answer.kind == "nak" and answer.address is None
    assert dhcp.lease_of(hosts["client"].mac) is None


def test_it_stops_by_pid_and_leaves_nothing(deployment):
    with DnsmasqServer(deployment.node("dhcp")) as server:
        pid, directory = server.program.proc.pid, server.directory
        assert process_start_time(pid) is not None
        assert (directory / "dnsmasq.leases").exists() and (directory / "dnsmasq.pid").exists()
    assert process_start_time(pid) is None and not directory.exists()  # stopped and reaped


def test_a_config_the_node_cannot_serve_is_one_line(deployment):
    config = DhcpConfig("eth9", "10.0.1.0/24", "10.0.1.100", "10.0.1.110", "10.0.1.1")
    with pytest.raises(ServiceError, match="node dhcp has no interface eth9"):
        DnsmasqServer(deployment.node("dhcp"), config).__enter__()


def test_a_bare_client_gets_configured_proves_it_with_a_ping_and_is_put_back(dhcp, deployment):
    node = deployment.node("client")
    before_addresses, before_routes = addresses(node, "eth0"), routes(node)
    with unconfigured(node, "eth0"):
        assert addresses(node, "eth0") == [] and default_route(routes(node)) is None
        assert ping(node, "10.0.1.1", timeout=0.2) is None  # no address, no route: nothing leaves
        bare = BareHost(node)
        try:
            assert (bare.ip, bare.gateway) == ("0.0.0.0", None)
            assert bare.facts()["interfaces"][0][2] == "0.0.0.0"
            answer = dora(bare, xid=0x77)
        finally:
            bare.close()
        configure(node, "eth0", answer.address, 24, gateway=answer.options["router"])
        flush_neighbours(node)
        assert ping(node, "10.0.1.1") is not None
        assert neighbour(node, "10.0.1.1").mac == "02:00:00:00:01:01"  # resolved by ARP from the new address
        assert str(default_route(routes(node))) == "default via 10.0.1.1 dev eth0"
    assert addresses(node, "eth0") == before_addresses
    assert sorted(map(str, routes(node))) == sorted(map(str, before_routes))
    assert ping(node, "10.0.2.80") is not None  # the restored default route works across the router


def test_unconfigured_puts_the_setup_back_after_an_error(deployment):
    node = deployment.node("client")
    before = (addresses(node, "eth0"), sorted(map(str, routes(node))))
    with pytest.raises(RuntimeError):
        with unconfigured(node, "eth0"):
            configure(node, "eth0", "10.0.1.222", 25)
            raise RuntimeError("the lab failed")
    assert (addresses(node, "eth0"), sorted(map(str, routes(node)))) == before
