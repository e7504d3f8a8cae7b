"""UdpService and PortUnreachableGuard with real datagrams between real namespaces."""

from __future__ import annotations

import time

import pytest
from scapy.layers.inet import ICMP, IP, UDP, UDPerror

from protolab.backends.netns import NetnsBackend
from protolab.errors import BackendError
from protolab.kernel.udpguard import PortUnreachableGuard
from protolab.live.host import Host
from protolab.servers.process import ServiceError
from protolab.servers.udp import UdpService
from protolab.topology import load

pytestmark = pytest.mark.root
PORT = 7007


@pytest.fixture(scope="module")
def net():
    deployment = NetnsBackend().deploy(load())
    client, web = Host(deployment.node("client")), Host(deployment.node("web"))
    try:
        yield deployment, client, web
    finally:
        client.close()
        web.close()
        deployment.teardown()


def port_unreachable_from(client_ip: str, sport: int):
    """A match for web's side: the client kernel's port unreachable about a datagram to client:sport."""
    def match(frame) -> bool:
        return (IP in frame and frame[IP].src == client_ip and ICMP in frame and frame[ICMP].type == 3
                and frame[ICMP].code == 3 and UDPerror in frame and frame[UDPerror].dport == sport)
    return match


def datagram(client: Host, web: Host, sport: int, payload: bytes):
    return IP(dst=web.ip) / UDP(sport=sport, dport=PORT) / payload


def test_the_service_records_each_datagram_and_echoes_it_to_its_sender(net):
    deployment, client, web = net
    with UdpService(deployment.node("web"), PORT, echo=True) as service:
        for n, payload in enumerate((b"one", b"two")):
            answer = client.sr1(datagram(client, web, 41000 + n, payload), timeout=1.0)
            assert answer is not None and UDP in answer
            assert (answer[UDP].sport, answer[UDP].dport, bytes(answer[UDP].payload)) == (PORT, 41000 + n, payload)
        got = service.wait_for(2, timeout=1.0)
    assert [(d.source, d.payload, d.echoed) for d in got] == [
        ((client.ip, 41000), b"one", True), ((client.ip, 41001), b"two", True)]
    assert got[0].time <= got[1].time
    # after exit the port is closed again: web's kernel answers port unreachable
    answer = client.sr1(datagram(client, web, 41002, b"late"), timeout=1.0)
    assert answer is not None and ICMP in answer and (answer[ICMP].type, answer[ICMP].code) == (3, 3)


def test_a_recording_service_does_not_echo(net):
    deployment, client, web = net
    with UdpService(deployment.node("web"), PORT) as service:
        client.send(datagram(client, web, 41010, b"quiet"))
        got = service.wait_for(1, timeout=1.0)
        assert client.recv(lambda f: UDP in f and f[UDP].sport == PORT, timeout=0.3) is None
    assert [(d.payload, d.echoed) for d in got] == [(b"quiet", False)]


def test_a_port_already_taken_is_one_line_error(net):
    deployment, _, _ = net
    with UdpService(deployment.node("web"), PORT):
        with pytest.raises(ServiceError, match=f"cannot serve UDP on 0.0.0.0:{PORT} in node web: Address already in use"):
            UdpService(deployment.node("web"), PORT).__enter__()


def test_the_guard_drops_exactly_the_client_kernels_port_unreachable_for_its_flow(net):
    deployment, client, web = net
    node = deployment.node("client")
    with UdpService(deployment.node("web"), PORT, echo=True):
        # without a guard the client kernel answers web's echo: nothing listens on the client's port
        client.send(datagram(client, web, 42000, b"unguarded"))
        assert web.recv(port_unreachable_from(client.ip, 42000), timeout=1.0) is not None
        time.sleep(1.1)  # the kernel sends at most about one ICMP error per second to a peer
        with PortUnreachableGuard(node, client.ip, 42001, web.ip, PORT) as guard:
            client.send(datagram(client, web, 42001, b"guarded"))
            assert client.recv(lambda f: UDP in f and f[UDP].dport == 42001, timeout=1.0) is not None  # the echo came
            assert web.recv(port_unreachable_from(client.ip, 42001), timeout=0.5) is None
            assert guard.dropped() == 1
            # another flow is not the guard's: its error still leaves
            client.send(datagram(client, web, 42002, b"other"))
            assert web.recv(port_unreachable_from(client.ip, 42002), timeout=1.0) is not None
            table = guard.table
        assert table not in node.run(["nft", "list", "tables"]).stdout


def test_the_guard_is_removed_after_an_error_too(net):
    deployment, client, web = net
    node = deployment.node("client")
    guard = PortUnreachableGuard(node, client.ip, 42003, web.ip, PORT)
    with pytest.raises(RuntimeError, match="the lab failed"):
        with guard:
            assert guard.table in node.run(["nft", "list", "tables"]).stdout
            raise RuntimeError("the lab failed")
    assert guard.table not in node.run(["nft", "list", "tables"]).stdout


def test_a_bad_port_is_refused_before_nft_runs(net):
    deployment, client, web = net
    with pytest.raises(BackendError, match="port 0 is not 1 to 65535"):
        PortUnreachableGuard(deployment.node("client"), client.ip, 0, web.ip, PORT).__enter__()
