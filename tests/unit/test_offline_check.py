"""The offline check on capture files (no network): the run's own description,
drops and doubts kept, other labs named, foreign link types decoded, damage refused."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from protolab.capture.frames import CaptureResult, RawFrame
from protolab.capture.pcapng import write_pcapng
from protolab.capture.runinfo import RunInfo
from protolab.errors import LabError
from protolab.expect import Status
from protolab.lab.catalog import load_lab
from protolab.lab.offline import check_capture
from protolab.topology import load
from protolab.wire.decode import decode_layers

VECTORS = Path(__file__).parents[1] / "vectors" / "captures"
TOPO = load()
CLIENT, ROUTER, WEB = TOPO.node("client"), TOPO.node("router"), TOPO.node("web")
LAB = load_lab("handshake")


def handshake_frames(port: int = 80) -> list[RawFrame]:
    """A correct handshake on lan1 only, as the lab's capture has it (with 'sent by')."""
    out = Ether(src=CLIENT.mac, dst=ROUTER.interfaces[0].mac) / IP(src=str(CLIENT.ip), dst=str(WEB.ip))
    back = Ether(src=ROUTER.interfaces[0].mac, dst=CLIENT.mac) / IP(src=str(WEB.ip), dst=str(CLIENT.ip), ttl=63)
    segments = [("client", out / TCP(sport=40000, dport=port, flags="S", seq=1000)),
                ("router", back / TCP(sport=port, dport=40000, flags="SA", seq=5000, ack=1001)),
                ("client", out / TCP(sport=40000, dport=port, flags="A", seq=1001, ack=5001))]
    return [RawFrame(1_700_000_000_000_000_000 + i * 1000, "lan1", who, bytes(p)) for i, (who, p) in enumerate(segments)]


def write(tmp_path: Path, frames: list[RawFrame], info: RunInfo | None, drops: int = 0, name: str = "t.pcapng") -> Path:
    result = CaptureResult(tuple(frames), ("lan1",), len(frames), drops)
    return write_pcapng(tmp_path / name, result, [info.comment()] if info else [])


def run_info(**kwargs) -> RunInfo:
    params = {"port": "80", "client_port": "0", "guard": "true", **kwargs.pop("params", {})}
    return RunInfo("handshake", params, "r1", **kwargs)


def test_a_runs_capture_passes_with_its_own_parameters(tmp_path):
    pcap = write(tmp_path, handshake_frames(8123), run_info(params={"port": "8123"}))
    offline = check_capture(LAB, pcap, {})
    assert offline.verdict.status is Status.PASS, offline.verdict.explanations()
    assert offline.run.params["port"] == "8123" and offline.warnings == []


def test_an_inconclusive_run_stays_inconclusive_offline(tmp_path):
    doubt = "the kernel held back the SYN-ACK the lab relies on"
    pcap = write(tmp_path, handshake_frames(), run_info(doubts=(doubt,), status="INCONCLUSIVE"))
    verdict = check_capture(LAB, pcap, {}).verdict
    assert verdict.status is Status.INCONCLUSIVE and doubt in verdict.notes


def test_kernel_drops_in_the_interface_statistics_make_it_inconclusive(tmp_path):
    pcap = write(tmp_path, handshake_frames(), None, drops=4)  # no description: only Wireshark's counters
    verdict = check_capture(LAB, pcap, {}).verdict
    assert verdict.status is Status.INCONCLUSIVE
    assert "the kernel dropped 4 frame(s) during capture" in verdict.notes[0]


def test_a_capture_of_another_lab_is_named(tmp_path):
    pcap = write(tmp_path, handshake_frames(), run_info())
    offline = check_capture(load_lab("teardown"), pcap, {})
    assert offline.warnings[0].startswith("this capture was made by a run of the lab 'handshake', not 'teardown'")
    assert offline.verdict.status is Status.FAIL


def test_set_over_the_runs_own_parameters_is_said(tmp_path):
    pcap = write(tmp_path, handshake_frames(), run_info())
    offline = check_capture(LAB, pcap, {"port": "81"})
    assert "checked with port=81, but the run used port=80" in offline.warnings
    assert offline.verdict.status is Status.FAIL


def test_without_comments_senders_come_from_the_topologys_macs(tmp_path):
    frames = [RawFrame(f.time_ns, f.link, None, f.data) for f in handshake_frames()]
    path = tmp_path / "plain.pcap"
    wrpcap(str(path), [Ether(f.data) for f in frames])
    offline = check_capture(LAB, path, {})
    assert [f.sender for f in offline.trace] == ["client", "router", "client"]
    assert offline.verdict.status is Status.PASS, offline.verdict.explanations()


def test_gzip_and_classic_pcap_of_the_same_frames_agree(tmp_path):
    path = tmp_path / "plain.pcap"
    wrpcap(str(path), [Ether(f.data) for f in handshake_frames()])
    zipped = tmp_path / "plain.pcap.gz"
    zipped.write_bytes(gzip.compress(path.read_bytes()))
    plain, packed = check_capture(LAB, path, {}), check_capture(LAB, zipped, {})
    assert [f.summary for f in plain.trace] == [f.summary for f in packed.trace]
    assert packed.info.compressed and packed.verdict.status is Status.PASS


@pytest.mark.parametrize("name", ["sll.pcap", "sll2.pcap", "raw.pcap", "ipv4.pcap", "eth+sll2.pcapng", "eth+raw.pcapng"])
def test_every_link_type_of_the_vectors_decodes_to_ip(name):
    offline = check_capture(LAB, VECTORS / name, {}, roles=("client=10.99.0.1",))
    ipv4 = [f for f in offline.trace if f.has("ip")]
    assert ipv4 and all(f.has("udp") for f in ipv4)
    assert all(f.layers["checksum"]["ip"][0] == "ok" for f in ipv4)


def test_a_cooked_capture_names_the_sender_mac_and_broadcasts():
    frame = bytes.fromhex("0800" "0000" "00000002" "0001" "01" "06" "020000000001" "0000") + bytes(IP(src="10.0.0.1", dst="10.0.0.255"))
    layers = decode_layers(frame, 276)
    assert layers["eth"] == {"type": 0x0800, "pkttype": 1, "src": "02:00:00:00:00:01", "dst": "ff:ff:ff:ff:ff:ff"}
    assert layers["ip"]["src"] == "10.0.0.1"


def test_a_cut_frame_is_named_as_cut():
    offline = check_capture(LAB, VECTORS / "eth-cut.pcap", {}, roles=("client=10.99.0.1",))
    cut = [f for f in offline.trace if f.get("frame.cut", False)]
    assert cut and "[captured only 64 of 202 bytes]" in cut[0].summary
    assert cut[0].layers["checksum"].get("udp", ("unchecked",))[0] == "unchecked"


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"\x00" * 4096, "not a capture: it starts with 0x00000000, neither pcap nor pcapng"),
    (bytes(range(256)) * 4, "neither pcap nor pcapng"),
    (gzip.compress(b"hello")[:-4], "not a capture: it starts with 0x68656c6c"),  # what the stream holds is not one
    (gzip.compress(b"\xd4\xc3\xb2\xa1" + bytes(4000))[:30] + b"\xff" * 40, "gzip stream corrupt"),
])
def test_anything_else_is_a_one_line_error(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(LabError, match=message) as caught:
        check_capture(LAB, path, {})
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"cannot read {path}: ")
