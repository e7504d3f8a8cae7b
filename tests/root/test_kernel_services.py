"""The kernel helpers and services labs stand on, with real packets in real namespaces:
the neighbour cache and ARP settings, sysctls, an application on an accepted TCP
connection, free ports and retransmissions seen through sock_diag, and a DNS stub query."""

from __future__ import annotations

import socket
import time

import pytest

from protolab.backends.netns import NetnsBackend
from protolab.errors import BackendError
from protolab.kernel.guard import RstGuard
from protolab.kernel.neighbours import (
    arp_settings, emptied_caches, forget_neighbour, neighbour, neighbours, set_neighbour, wait_for_neighbour,
)
from protolab.kernel.sockstate import SockProbe
from protolab.kernel.sysctl import changed_sysctls
from protolab.kernel.tcpwatch import WatchedHost
from protolab.live.endpoint import Endpoint
from protolab.live.host import Host
from protolab.servers.listener import TcpListener
from protolab.servers.tcpapp import ConnectionApp
from protolab.topology import load

pytestmark = pytest.mark.root
PORT = 8080
FAKE_MAC = "02:00:00:00:09:99"


@pytest.fixture(scope="module")
def deployment():
    d = NetnsBackend().deploy(load())
    try:
        yield d
    finally:
        d.teardown()


def sysctl(node, name: str) -> str:
    return node.run(["sysctl", "-n", name]).stdout.strip()


def send_datagram(node, ip: str) -> None:
    """A UDP datagram from the node's kernel: it resolves `ip` with ARP first."""
    with node.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"x", (ip, 9))


# -- the neighbour cache -----------------------------------------------------------------------

def test_set_wait_forget_and_empty_the_neighbour_cache(deployment):
    client, peer = deployment.node("client"), deployment.node("peer")
    client_ip, peer_ip = str(client.node.ip), str(peer.node.ip)
    with emptied_caches([client, peer]):
        assert neighbours(client) == [] and neighbours(peer) == []  # emptied on entry
        set_neighbour(peer, client_ip, FAKE_MAC, "eth0", "STALE")
        entry = neighbour(peer, client_ip)
        assert (entry.mac, entry.state) == (FAKE_MAC, "STALE") and str(entry) == f"{client_ip} → {FAKE_MAC} STALE"
        set_neighbour(peer, client_ip, client.node.mac, "eth0", "PERMANENT")  # replaced, not added
        assert [(n.mac, n.state) for n in neighbours(peer)] == [(client.node.mac, "PERMANENT")]
        assert forget_neighbour(peer, client_ip) is True and neighbour(peer, client_ip) is None  # static ones too
        assert forget_neighbour(peer, client_ip) is False
        send_datagram(client, peer_ip)  # a real ARP exchange: the client learns peer's MAC
        learned = wait_for_neighbour(client, peer_ip, lambda e: e is not None and e.mac == peer.node.mac, timeout=1.0)
        assert learned is not None and learned.mac == peer.node.mac
        started = time.monotonic()
        assert wait_for_neighbour(client, "10.0.1.99", lambda e: False, timeout=0.05) is None
        assert time.monotonic() - started >= 0.05
    assert neighbours(client) == []  # emptied again on exit: nothing the block taught is left


def test_a_bad_neighbour_request_is_one_line(deployment):
    peer = deployment.node("peer")
    with pytest.raises(BackendError, match=r"cannot set 10.0.1.10 → .* in the neighbour cache of peer: "):
        set_neighbour(peer, "10.0.1.10", FAKE_MAC, "eth7")  # no such interface
    with pytest.raises(ValueError, match="not a neighbour state: SLEEPY"):
        set_neighbour(peer, "10.0.1.10", FAKE_MAC, "eth0", "SLEEPY")


def test_arp_settings_hold_for_the_block_and_are_written_back(deployment):
    peer = deployment.node("peer")
    before = {name: sysctl(peer, name) for name in ("net.ipv4.conf.all.arp_accept", "net.ipv4.conf.eth0.arp_accept")}
    assert peer.run(["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]).returncode == 0  # inherited, say
    try:
        with arp_settings(peer, "eth0", {"arp_accept": 1, "arp_ignore": 0}) as old:
            assert sysctl(peer, "net.ipv4.conf.eth0.arp_accept") == "1"
            assert sysctl(peer, "net.ipv4.conf.all.arp_accept") == "0" and sysctl(peer, "net.ipv4.conf.all.arp_ignore") == "0"
            assert old["net/ipv4/conf/all/arp_ignore"] == "1"
        assert sysctl(peer, "net.ipv4.conf.all.arp_ignore") == "1"
        assert {name: sysctl(peer, name) for name in before} == before
    finally:
        peer.run(["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=0"])
    with pytest.raises(ValueError, match="not an ARP setting: arp_announce"):
        arp_settings(peer, "eth0", {"arp_announce": 2})


def test_sysctls_are_read_in_the_namespace_the_thread_entered(deployment):
    from protolab.backends.node_init import check_sysctls
    from protolab.backends.nsenter import entered
    from protolab.kernel.sysctl import read_sysctl

    for name, forwarding in (("router", "1"), ("web", "0")):
        node = deployment.node(name)
        with entered(node.netns):
            assert read_sysctl("net.ipv4.ip_forward") == forwarding
            assert check_sysctls(node.node) == []  # what a container checks of its own settings
            other = deployment.node("web" if name == "router" else "router").node
            assert f"net.ipv4.ip_forward is {forwarding}, expected {'0' if forwarding == '1' else '1'}" in check_sysctls(other)


def test_changed_sysctls_refused_is_one_line_and_undoes_the_others(deployment):
    web = deployment.node("web")
    assert sysctl(web, "net.ipv4.ip_forward") == "0"
    with pytest.raises(BackendError, match=r"cannot set net.ipv4.no_such_knob=1 in web: No such file or directory"):
        with changed_sysctls(web, {"net.ipv4.ip_forward": 1, "net.ipv4.no_such_knob": 1}):
            pass
    assert sysctl(web, "net.ipv4.ip_forward") == "0"  # the first one was written back


# -- an application on an accepted connection --------------------------------------------------

def connected(deployment, listener: TcpListener) -> tuple[socket.socket, object]:
    """A kernel TCP connection from the client to web across the router, and web's accepted side."""
    sock = deployment.node("client").socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(2.0)
    sock.connect((str(deployment.node("web").node.ip), listener.port))
    accepted = listener.wait_accept(timeout=1.0)
    assert accepted is not None
    return sock, accepted


def test_the_app_reads_until_the_peers_fin_notes_it_and_closes(deployment):
    with TcpListener(deployment.node("web"), PORT) as listener:
        sock, accepted = connected(deployment, listener)
        with sock, ConnectionApp(accepted.conn, on_eof=lambda: "noted at end-of-file") as app:
            sock.sendall(b"hello, ")
            sock.sendall(b"web")
            sock.shutdown(socket.SHUT_WR)  # the client's FIN
            assert sock.recv(100) == b""  # the app closed in answer: web's FIN
            app.finish(grace=1.0)
        assert (bytes(app.read), app.eof, app.eof_note, app.closed) == (b"hello, web", True, "noted at end-of-file", True)


def test_the_app_closes_after_enough_bytes_or_on_command(deployment):
    with TcpListener(deployment.node("web"), PORT + 1) as listener:
        sock, accepted = connected(deployment, listener)
        with sock, ConnectionApp(accepted.conn, close_after=4) as app:
            before = time.monotonic()
            sock.sendall(b"abcd")
            assert sock.recv(100) == b""  # FIN once it had 4 bytes, though the client has not closed
            assert app.fin_at is not None and app.fin_at >= before and not app.eof
    with TcpListener(deployment.node("web"), PORT + 2) as listener:
        sock, accepted = connected(deployment, listener)
        with sock, ConnectionApp(accepted.conn) as app:
            sock.sendall(b"x")
            time.sleep(0.05)
            assert app.fin_at is None  # no limit, no FIN yet: it only reads
            app.close()
            assert sock.recv(100) == b""
        assert bytes(app.read) == b"x" and app.closed


def test_free_port_and_a_retransmitted_fin_seen_through_the_kernel(deployment):
    """A hand-made connection whose side never acknowledges web's FIN: web's kernel sends it again."""
    client_node, web_node = deployment.node("client"), deployment.node("web")
    web_ip = str(web_node.node.ip)
    with TcpListener(web_node, PORT + 3) as listener, SockProbe(web_node) as probe:
        client = WatchedHost(client_node, web_node)
        try:
            port = probe.free_port((web_ip, PORT + 3), client.ip)
            assert 40000 <= port < 61000 and probe.lookup((web_ip, PORT + 3), (client.ip, port)) is None
            assert probe.state((web_ip, PORT + 3), (client.ip, port)) == "gone"
            with RstGuard(client_node, client.ip, port, web_ip, PORT + 3):
                Endpoint(client, web_ip, PORT + 3, port).connect()
                accepted = listener.wait_accept(timeout=1.0)
                assert accepted is not None and accepted.peer == (client.ip, port)
                assert probe.state((web_ip, PORT + 3), (client.ip, port)) == "ESTABLISHED"
                with pytest.raises(BackendError, match="holds a socket .* for every port"):
                    probe.free_port((web_ip, PORT + 3), client.ip, ports=range(port, port + 1), tries=3)
                client.watch(port, (web_ip, PORT + 3))
                with ConnectionApp(accepted.conn) as app:
                    app.close()
                    deadline = time.monotonic() + 1.0
                    while (found := client.peer_conn()) is not None and found.state != "FIN_WAIT1" and time.monotonic() < deadline:
                        time.sleep(0.002)
                assert found is not None and found.state == "FIN_WAIT1" and found.timer == "retransmit"
                again = client.wait_for_retransmission(found)
                assert again is not None and again.retransmits > found.retransmits and again.state == "FIN_WAIT1"
        finally:
            client.close()


# -- a DNS question from a node ----------------------------------------------------------------

def test_a_stub_query_crosses_the_lab_and_retries_over_tcp_when_truncated(deployment):
    import dns.flags

    from protolab.models.answers import reply_result
    from protolab.servers import dnsclient
    from protolab.servers.hierarchy import DnsServers

    client = Host(deployment.node("client"))
    try:
        with DnsServers(deployment) as servers:
            resolver = servers.data.resolver_address
            reply = dnsclient.ask(client, resolver, "www.example.lab", "A")
            assert reply.flags & dns.flags.RA and reply_result(reply) == ("NOERROR", [("www.example.lab.", "A", "10.0.2.80")])
            auth = servers.address("auth")
            import dns.message
            import dns.query

            with client.udp_socket() as sock:  # over UDP alone the answer does not fit
                cut = dns.query.udp(dns.message.make_query("big.example.lab", "TXT"), auth, timeout=1.0, sock=sock)
            assert cut.flags & dns.flags.TC
            direct = dnsclient.ask(client, auth, "big.example.lab", "TXT", recursion=False)
            assert not direct.flags & dns.flags.TC and direct.flags & dns.flags.AA  # the TCP answer, whole
            assert not direct.flags & dns.flags.RD
            assert len(reply_result(direct)[1]) >= 1
    finally:
        client.close()


def test_a_command_sees_a_resolv_conf_of_its_own_and_the_host_keeps_its_own(deployment):
    from pathlib import Path

    from protolab.servers.resolvconf import with_resolver

    host_conf = Path("/etc/resolv.conf").read_bytes()
    client = deployment.node("client")
    result = client.run(with_resolver(client, ["cat", "/etc/resolv.conf"], ["10.0.2.53"]))
    assert (result.returncode, result.stdout) == (0, "nameserver 10.0.2.53\n"), result.stderr
    assert (deployment.workdir / "resolv.conf.client").is_file()  # in the run's directory, removed with it
    assert Path("/etc/resolv.conf").read_bytes() == host_conf
