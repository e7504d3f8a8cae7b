"""Pure helpers the labs use: DNS answers as one comparable line, sysctl names, ICMP counters."""

from __future__ import annotations

import dns.message
import dns.rrset
import pytest

from protolab.errors import LabError, TopologyError
from protolab.kernel.icmp_errors import IcmpCounters
from protolab.kernel.sysctl import sysctl_path
from protolab.models.answers import answer_text, check_question, reply_result, shortened
from protolab.models.zones import DnsData
from protolab.topology import load


def test_an_answer_is_one_line_whatever_the_order_case_and_length_of_its_records():
    assert answer_text(("noerror", [("WWW.example.lab", "a", "10.0.2.80")])) == "NOERROR: www.example.lab. A 10.0.2.80"
    two = [("x.lab.", "A", "10.0.0.2"), ("x.lab.", "A", "10.0.0.1")]
    assert answer_text(("NOERROR", two)) == answer_text(("NOERROR", two[::-1]))
    assert answer_text(("NXDOMAIN", [])) == "NXDOMAIN: (none)"
    long_a, long_b = '"' + "x" * 100 + '"', '"' + "x" * 99 + 'y"'
    assert "… [sha1 " in answer_text(("NOERROR", [("t.lab.", "TXT", long_a)]))
    assert answer_text(("NOERROR", [("t.lab.", "TXT", long_a)])) != answer_text(("NOERROR", [("t.lab.", "TXT", long_b)]))
    assert answer_text(None).startswith("not an (rcode, records) pair: None")
    assert answer_text(("NOERROR", [("only two",)])).startswith("not an (rcode, records) pair")


def test_a_reply_becomes_the_same_pair_a_student_returns():
    query = dns.message.make_query("www.example.lab", "A")
    reply = dns.message.make_response(query)
    reply.answer.append(dns.rrset.from_text("www.example.lab.", 300, "IN", "A", "10.0.2.80", "10.0.2.81"))
    assert reply_result(reply) == ("NOERROR", [("www.example.lab.", "A", "10.0.2.80"), ("www.example.lab.", "A", "10.0.2.81")])
    assert answer_text(reply_result(reply)) == answer_text(("NOERROR", [("www.example.lab", "A", "10.0.2.81"),
                                                                        ("www.example.lab", "A", "10.0.2.80")]))


def test_a_question_nobody_can_ask_is_a_one_line_lab_error():
    check_question("www.example.lab", "TXT")
    with pytest.raises(LabError, match=r"qtype='AX' is not a DNS record type"):
        check_question("www.example.lab", "AX")
    with pytest.raises(LabError, match=r"name='a\.\.b' is not a domain name"):
        check_question("a..b", "A")


def test_shortened_keeps_short_lines_and_cuts_long_ones_to_width():
    assert shortened("short") == "short"
    cut = shortened("y" * 200, width=20)
    assert len(cut) == 20 and cut.endswith("…")


def test_the_resolver_address_comes_from_the_topology():
    data = DnsData.from_topology(load())
    assert data.resolver_address == data.addresses[data.resolvers[0]] == str(load().node("resolver").ip)
    with pytest.raises(TopologyError, match="no DNS resolver"):
        DnsData(data.zones, (), data.addresses).resolver_address


def test_sysctl_names_dotted_or_with_slashes():
    assert sysctl_path("net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward"
    assert sysctl_path("net/ipv4/conf/eth0.5/arp_accept") == "/proc/sys/net/ipv4/conf/eth0.5/arp_accept"  # a dot in a name


def test_a_held_back_unreachable_is_a_drop_without_an_error_sent():
    assert (IcmpCounters(3, 1, 0) - IcmpCounters(2, 1, 0)).unreachable_held_back  # dropped, nothing sent
    assert not (IcmpCounters(3, 2, 0) - IcmpCounters(2, 1, 0)).unreachable_held_back  # dropped and answered
    assert not (IcmpCounters(2, 1, 5) - IcmpCounters(2, 1, 0)).unreachable_held_back  # nothing dropped
