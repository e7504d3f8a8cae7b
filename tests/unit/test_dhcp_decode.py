"""BOOTP/DHCP decoding: the header and options a lab checks, the same on both decoding paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from protolab.capture.reader import open_capture
from protolab.wire.decode import scapy_layers, summarize
from protolab.wire.dhcpmsg import bootp_layers, dhcp_layer, is_bootp

VECTOR = Path(__file__).resolve().parents[1] / "vectors" / "dhcp" / "dora.pcap"


def frames() -> list[bytes]:
    with open_capture(VECTOR) as capture:
        return [f.data for f in capture]


def test_the_offer_carries_every_option_a_client_configures_itself_with():
    offer = scapy_layers(frames()[1])
    assert offer["bootp"] == {"op": 2, "xid": 0x5EED, "flags": 0x8000, "broadcast": True, "ciaddr": "0.0.0.0",
                              "yiaddr": "10.0.1.123", "siaddr": "10.0.1.2", "giaddr": "0.0.0.0",
                              "chaddr": "02:00:00:00:01:10"}
    assert offer["dhcp"] == {"type": "OFFER", "options": (53, 54, 51, 1, 3, 6, 15), "server_id": "10.0.1.2",
                             "requested": None, "lease": 120, "mask": "255.255.255.0", "router": ("10.0.1.1",),
                             "dns": ("10.0.2.53", "10.0.2.54"), "domain": "example.lab"}
    assert summarize(offer) == "DHCP OFFER 10.0.1.123 xid=0x00005eed chaddr 02:00:00:00:01:10"


def test_a_request_names_the_address_and_the_server():
    request = scapy_layers(frames()[2])["dhcp"]
    assert (request["type"], request["requested"], request["server_id"]) == ("REQUEST", "10.0.1.123", "10.0.1.2")


def test_plain_bootp_has_no_dhcp_layer_and_a_cut_option_is_malformed():
    plain, cut = scapy_layers(frames()[5]), scapy_layers(frames()[6])
    assert "bootp" in plain and "dhcp" not in plain
    assert cut["dhcp"]["malformed"] is True and cut["dhcp"]["type"] == "DISCOVER"


def test_too_short_for_a_header_is_no_layer_and_only_the_bootp_ports_count():
    assert bootp_layers(b"\x01" * 235) == {}
    assert is_bootp(68, 67) and is_bootp(67, 68) and is_bootp(67, 67) and not is_bootp(68, 68)
    assert dhcp_layer(b"\x00\x00\xff\x35\x01\x05")["type"] is None  # after END nothing counts


def test_a_repeated_option_continues_the_first():
    assert dhcp_layer(b"\x06\x04\x0a\x00\x02\x35\x06\x04\x0a\x00\x02\x36\xff")["dns"] == ("10.0.2.53", "10.0.2.54")


def test_the_fast_path_gives_the_scapy_paths_layers_while_scapy_has_no_dhcp_bound():
    # once scapy.layers.dhcp is imported the fast path leaves these frames to scapy; before, it reads them itself
    code = (
        "import sys; from protolab.wire import fastdecode; from protolab.wire.decode import scapy_layers\n"
        "from protolab.capture.reader import open_capture\n"
        f"frames = [f.data for f in open_capture({str(VECTOR)!r})]\n"
        "assert 'scapy.layers.dhcp' not in sys.modules\n"
        "fast = [fastdecode.fast_layers(f) for f in frames]\n"
        "assert all(x is not None and 'bootp' in x for x in fast), fast\n"
        "assert fast == [scapy_layers(f) for f in frames]\n"
        "print(len(fast))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "7"


def test_the_ladder_names_dhcp_messages_and_shortens_them_keeping_the_kind():
    from protolab.capture.frames import RawFrame
    from protolab.report.labels import Labeler
    from protolab.topology import load
    from protolab.wire.decode import decode_trace

    raw = [RawFrame(i * 1000, "lan1", None, data) for i, data in enumerate(frames()[:4])]
    trace = decode_trace(raw, load(), ("lan1",), 0)
    labeler = Labeler(trace.frames)
    offer = trace.frames[1]
    assert labeler.label(offer) == "DHCP OFFER 10.0.1.123 xid=0x00005eed chaddr 02:00:00:00:01:10"
    forms = labeler.variants(offer)
    assert forms[-1] == "DHCP OFFER 10.0.1.123" and all(len(a) > len(b) for a, b in zip(forms, forms[1:]))
    assert [labeler.label(f).split()[1] for f in trace.frames] == ["DISCOVER", "OFFER", "REQUEST", "NAK"]  # the vector ends with a NAK
