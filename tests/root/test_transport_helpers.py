"""The helpers the transport labs stand on, with real connections in real namespaces: what a server
application reads from a stream, data it sends as soon as it accepts a peer."""

from __future__ import annotations

import socket
import time

import pytest

from protolab.backends.netns import NetnsBackend
from protolab.servers.listener import TcpListener
from protolab.servers.tcpreads import SendOnAccept, accepted_from, queued_bytes, queued_reads
from protolab.topology import load

pytestmark = pytest.mark.root
PORT = 8181


@pytest.fixture(scope="module")
def deployment():
    d = NetnsBackend().deploy(load())
    try:
        yield d
    finally:
        d.teardown()


def connect(deployment, port: int = PORT) -> socket.socket:
    sock = deployment.node("client").socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(1.0)
    sock.connect((str(deployment.node("web").node.ip), port))
    return sock


def test_three_sends_are_one_read_once_queued(deployment):
    with TcpListener(deployment.node("web"), PORT) as listener, connect(deployment) as sock:
        for message in (b"one", b"two", b"three"):
            sock.send(message)
        accepted = accepted_from(listener, sock.getsockname(), timeout=0.5)
        assert accepted is not None and accepted.peer == sock.getsockname()
        assert queued_reads(accepted.conn, 11, timeout=0.5) == [b"onetwothree"]
        assert queued_bytes(accepted.conn) == 0


def test_reads_stop_at_what_is_queued_and_leave_out_end_of_file(deployment):
    with TcpListener(deployment.node("web"), PORT) as listener:
        sock = connect(deployment)
        sock.sendall(b"x" * 100)
        sock.close()  # its FIN follows the data
        accepted = accepted_from(listener, None, timeout=0.5)
        started = time.monotonic()
        assert queued_reads(accepted.conn, 1000, timeout=0.2) == [b"x" * 100]  # never 1000: waits 0.2 s, reads what is there
        assert time.monotonic() - started >= 0.2


def test_accepted_from_waits_for_that_peer_only(deployment):
    with TcpListener(deployment.node("web"), PORT) as listener, connect(deployment) as sock:
        assert accepted_from(listener, (sock.getsockname()[0], 1), timeout=0.1) is None
        assert accepted_from(listener, sock.getsockname(), timeout=0.5) is not None


def test_send_on_accept_writes_to_the_peer_as_soon_as_it_connects(deployment):
    with TcpListener(deployment.node("web"), PORT) as listener:
        sock = deployment.node("client").socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("0.0.0.0", 45123))
        with sock, SendOnAccept(listener, (str(deployment.node("client").node.ip), 45123), b"y" * 3000) as sender:
            sock.settimeout(1.0)
            sock.connect((str(deployment.node("web").node.ip), PORT))
            got = b""
            while len(got) < 3000:
                got += sock.recv(65536)
            assert got == b"y" * 3000 and sender.sent_at is not None and sender.error is None


def test_send_on_accept_sends_nothing_to_another_peer(deployment):
    with TcpListener(deployment.node("web"), PORT) as listener, \
            SendOnAccept(listener, ("10.0.1.99", 1), b"z") as sender, connect(deployment) as sock:
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(10)
    assert sender.sent_at is None
