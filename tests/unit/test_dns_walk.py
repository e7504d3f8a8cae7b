"""The dns lab's reference walk (the student's part) on responses stored from the lab's real NSD.

A fake client hands out sockets that answer each question with the stored
response for (server, name, type, transport), under the question's own id, and
records every question asked: no network, no root."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path

import dns.flags
import dns.message
import dns.rdatatype
import pytest

from protolab.lab.catalog import load_lab, load_solution
from protolab.models.dnsplan import plan_walk
from protolab.models.zones import DnsData
from protolab.topology import load

VECTORS = json.loads((Path(__file__).parents[1] / "vectors/dns/responses.json").read_text())
STORED = {(v["server"], v["qname"], v["qtype"], v["transport"]): bytes.fromhex(v["wire"]) for v in VECTORS}
SOLUTIONS = Path(__file__).parents[1] / "root/solutions/dns"
LAB = load_lab("dns")
DATA = DnsData.from_topology(load())


class Asked(list):
    """(server, name, type, transport, rd) of every question, in order."""


def stored_answer(server: str, wire: bytes, transport: str, asked: Asked) -> bytes:
    query = dns.message.from_wire(wire)
    q = query.question[0]
    key = (server, q.name.to_text().lower(), dns.rdatatype.to_text(q.rdtype), transport)
    asked.append((*key, bool(query.flags & dns.flags.RD)))
    if key not in STORED:
        raise AssertionError(f"no stored response for {key}")
    return wire[:2] + STORED[key][2:]  # the stored answer, under this question's id


class FakeUdp:
    family = socket.AF_INET
    type = socket.SOCK_DGRAM

    def __init__(self, asked: Asked) -> None:
        self.mine, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.asked, self.server = asked, None

    def fileno(self) -> int:
        return self.mine.fileno()

    def sendto(self, data: bytes, destination) -> int:
        self.server = destination[0]
        self.theirs.send(stored_answer(self.server, data, "udp", self.asked))
        return len(data)

    def recvfrom(self, size: int):
        return self.mine.recv(size), (self.server, 53)

    def setblocking(self, flag: bool) -> None:
        self.mine.setblocking(flag)

    def close(self) -> None:
        self.mine.close()
        self.theirs.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeTcp(FakeUdp):
    type = socket.SOCK_STREAM

    def __init__(self, asked: Asked, server: str) -> None:
        self.mine, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.asked, self.server, self.buffer = asked, server, b""

    def send(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= 2 and len(self.buffer) - 2 >= struct.unpack("!H", self.buffer[:2])[0]:
            answer = stored_answer(self.server, self.buffer[2:], "tcp", self.asked)
            self.theirs.sendall(struct.pack("!H", len(answer)) + answer)
            self.buffer = b""
        return len(data)

    sendall = send

    def recv(self, size: int) -> bytes:
        return self.mine.recv(size)

    def settimeout(self, value) -> None:
        self.mine.settimeout(value)


class FakeClient:
    ip = "10.0.1.10"

    def __init__(self) -> None:
        self.asked = Asked()

    def udp_socket(self) -> FakeUdp:
        return FakeUdp(self.asked)

    def tcp_socket(self, server: str, port: int = 53, timeout: float = 1.0) -> FakeTcp:
        return FakeTcp(self.asked, server)


CASES = [("www.example.lab", "A"), ("www.shop.lab", "A"), ("alias.example.lab", "A"), ("nothere.example.lab", "A"), ("big.example.lab", "TXT")]


@pytest.mark.parametrize(("name", "qtype"), CASES)
def test_the_reference_walk_asks_what_the_plan_says_and_returns_the_zone_answer(name, qtype):
    client = FakeClient()
    rcode, records = LAB.student(client, "10.0.2.11", name, qtype)
    walk = plan_walk(DATA, name, qtype)
    expected_questions = []
    for e in walk.exchanges:
        expected_questions.append((e.server, e.qname, e.qtype, "udp", False))
        if e.truncated:
            expected_questions.append((e.server, e.qname, e.qtype, "tcp", False))
    assert client.asked == expected_questions
    assert rcode == walk.rcode
    assert tuple(sorted((o.lower(), t, v) for o, t, v in records)) == walk.answer()


def test_a_cname_chain_keeps_every_link():
    _, records = LAB.student(FakeClient(), "10.0.2.11", "alias.example.lab", "A")
    assert [r[1] for r in records] == ["CNAME", "CNAME", "A"]


def test_the_lab_compares_answers_whatever_their_order_and_case():
    text = LAB.expectation.__globals__["answer_text"]
    assert text(("NOERROR", [("WWW.example.lab", "a", "10.0.2.80")])) == "NOERROR: www.example.lab. A 10.0.2.80"
    two = [("x.lab.", "A", "10.0.0.2"), ("x.lab.", "A", "10.0.0.1")]
    assert text(("NOERROR", two)) == text(("NOERROR", two[::-1]))
    assert text(("NXDOMAIN", [])) == "NXDOMAIN: (none)"
    assert text(None).startswith("not an (rcode, records) pair")
    long = text(("NOERROR", [("t.lab.", "TXT", '"' + "x" * 100 + '"')]))
    assert "…" in long and "sha1" in long and long != text(("NOERROR", [("t.lab.", "TXT", '"' + "x" * 99 + 'y"')]))


def test_stopping_at_the_referral_returns_nothing():
    client = FakeClient()
    solution = load_solution(SOLUTIONS / "stops_at_referral.py", LAB)
    assert solution(client, "10.0.2.11", "www.example.lab", "A") == ("NOERROR", [])
    assert [q[0] for q in client.asked] == ["10.0.2.11"]


def test_ignoring_the_glue_keeps_asking_the_root():
    client = FakeClient()
    solution = load_solution(SOLUTIONS / "ignores_glue.py", LAB)
    with pytest.raises(RuntimeError, match="after 3 referrals"):
        solution(client, "10.0.2.11", "www.example.lab", "A")
    assert {q[0] for q in client.asked} == {"10.0.2.11"}


def test_rd_set_and_no_tcp_retry_are_visible_in_the_questions():
    client = FakeClient()
    load_solution(SOLUTIONS / "rd_to_root.py", LAB)(client, "10.0.2.11", "www.example.lab", "A")
    assert all(q[4] for q in client.asked)
    client = FakeClient()
    rcode, records = load_solution(SOLUTIONS / "no_tcp_retry.py", LAB)(client, "10.0.2.11", "big.example.lab", "TXT")
    assert (rcode, records) == ("NOERROR", []) and all(q[3] == "udp" for q in client.asked)
