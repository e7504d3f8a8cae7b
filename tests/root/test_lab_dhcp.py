"""The DHCP lab for real: DORA by hand against dnsmasq, the address applied and proved, a second client, a release."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from protolab.backends.netns import NetnsBackend
from protolab.capture.reader import open_capture
from protolab.expect import Status
from protolab.kernel.addresses import addresses
from protolab.kernel.routes import routes
from protolab.lab.catalog import load_lab
from protolab.lab.runner import RunOptions, run_lab
from protolab.topology import load
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "dhcp"
XID = 0x3903F326


@pytest.fixture(scope="module")
def lab():
    return load_lab("dhcp")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def dhcp_messages(pcap: Path) -> list[tuple[int, int, str]]:
    """(xid, option 53, yiaddr) of every BOOTP message in the capture, read with struct, not protolab's decoder."""
    out = []
    with open_capture(pcap) as capture:
        for frame in capture:
            data = frame.data
            if data[12:14] != b"\x08\x00" or data[23] != 17:
                continue
            ihl = (data[14] & 0x0F) * 4
            udp = 14 + ihl
            sport, dport = struct.unpack_from("!HH", data, udp)
            if {sport, dport} != {67, 68}:
                continue
            bootp = udp + 8
            xid = struct.unpack_from("!I", data, bootp + 4)[0]
            yiaddr = ".".join(str(b) for b in data[bootp + 16:bootp + 20])
            opts, kind = bootp + 240, None
            while opts < len(data) and data[opts] != 255:
                if data[opts] == 0:
                    opts += 1
                    continue
                if data[opts] == 53:
                    kind = data[opts + 2]
                opts += 2 + data[opts + 1]
            out.append((xid, kind, yiaddr))
    return out


def test_the_reference_passes_with_dora_on_one_xid_and_the_address_proved(lab, tmp_path):
    started = time.monotonic()
    result = run(lab, tmp_path)
    print(f"\ndhcp lab from nothing: {time.monotonic() - started:.2f} s ({result.timings})")
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    address = result.facts["returned.address"]
    assert result.facts["returned"] == {"address": address, "prefix": 24, "router": "10.0.1.1", "dns": ["10.0.2.53"]}
    assert 100 <= int(address.rsplit(".", 1)[1]) <= 149 and result.facts["lease"] == address
    assert result.facts["peer.address"] not in (None, address)
    assert result.facts["lease.after_release"] is None and result.facts["gateway.reached"] is True
    # independently of protolab's decoder: the client's DORA is one transaction, the xid the lab gave
    ours = [(kind, yiaddr) for xid, kind, yiaddr in dhcp_messages(result.pcap) if xid == XID]
    assert ours == [(1, "0.0.0.0"), (2, address), (3, "0.0.0.0"), (5, address)]
    kinds = [kind for _xid, kind, _y in dhcp_messages(result.pcap)]
    assert kinds.count(7) == 1  # one DHCPRELEASE


def test_a_request_outside_the_pool_is_refused_with_a_nak(lab, tmp_path):
    result = run(lab, tmp_path, ask="10.0.1.50")
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert item(v, "NAK").status is Status.PASS
    assert result.facts["returned"] is None and result.facts["lease"] is None
    nak = result.trace[item(v, "NAK").frames[0]]
    assert (nak.get("dhcp.type"), nak.get("bootp.xid"), nak.get("dhcp.server_id")) == ("NAK", XID, "10.0.1.2")


def test_a_new_xid_for_the_request_is_explained(lab, tmp_path):
    v = run(lab, tmp_path, "wrong_xid.py").verdict
    assert v.status is Status.FAIL
    request = item(v, "REQUEST")
    assert request.status is Status.FAIL
    assert "the REQUEST carries the xid of the DISCOVER and the OFFER" in request.messages[0]
    assert f"bootp.xid is {XID + 1}, expected xid = {XID}" in request.messages[0]
    assert item(v, "DISCOVER").status is Status.PASS and item(v, "OFFER").status is Status.PASS


def test_a_request_without_the_server_id_is_explained(lab, tmp_path):
    v = run(lab, tmp_path, "no_server_id.py").verdict
    request = item(v, "REQUEST")
    assert request.status is Status.FAIL
    assert "option 54 names the server whose offer the client takes" in request.messages[0]
    assert "dhcp.server_id is None, expected server = '10.0.1.2'" in request.messages[0]


def test_a_unicast_discover_is_explained_and_gets_no_offer(lab, tmp_path):
    v = run(lab, tmp_path, "unicast_discover.py").verdict
    discover = item(v, "DISCOVER")
    assert discover.status is Status.FAIL
    text = " ".join(discover.messages)
    assert "eth.dst is '02:00:00:00:01:02', expected 'ff:ff:ff:ff:ff:ff'" in text
    assert "ip.dst is '10.0.1.2', expected '255.255.255.255'" in text
    offer = item(v, "OFFER")
    assert offer.status is Status.FAIL and "its kernel drops it" in " ".join(offer.messages)
    assert item(v, "REQUEST").status is Status.SKIPPED


def test_a_request_for_another_address_is_explained(lab, tmp_path):
    result = run(lab, tmp_path, "other_address.py")
    v = result.verdict
    request = item(v, "REQUEST")
    assert request.status is Status.FAIL
    assert "option 50 asks for the offered address" in request.messages[0]
    assert "the acknowledged address is the offered one" in item(v, "ACK").messages[0]
    # the server gave what was asked (it was free): the rest follows the address leased
    assert item(v, "ping the gateway").status is Status.PASS and item(v, "RELEASE").status is Status.PASS


def test_on_a_network_kept_up_the_client_gets_its_address_back(lab, tmp_path):
    deployment = NetnsBackend().deploy(load())
    try:
        node = deployment.node("client")
        before = (addresses(node, "eth0"), sorted(map(str, routes(node))))
        for solution in (None, SOLUTIONS / "unicast_discover.py"):  # a pass and a failure
            result = run_lab(lab, RunOptions(solution=solution, out_dir=tmp_path, deployment=deployment))
            assert result.reused
            assert (addresses(node, "eth0"), sorted(map(str, routes(node)))) == before
        assert [str(a) for a in before[0]] == ["10.0.1.10/24 dev eth0"]
    finally:
        deployment.teardown()
