"""Every lab's capture, read by Wireshark's tshark (the independent oracle): no bad
checksum anywhere, and the frame numbers of the verdict are tshark's frame numbers.

Also: the run's pcapng describes itself (lab, parameters, drops), so the offline
check needs no --set, and a capture checked as another lab says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from protolab.capture.reader import open_capture
from protolab.capture.runinfo import parse_run_info
from protolab.expect import Status
from protolab.lab.catalog import lab_names, load_lab
from protolab.lab.offline import check_capture
from tests.root.labrun import explain, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions"
STATUS = {"0": "bad", "1": "good", "2": "unverified"}  # tshark's *.checksum.status values
FIELDS = ("frame.number", "eth.src", "ip.src", "arp.src.proto_ipv4", "tcp.seq_raw", "ip.checksum.status",
          "tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status", "icmp.type")
CHECKSUMS = FIELDS[5:9]
# an ICMP error quotes at most 576 bytes of the packet it answers: tshark checks a quoted segment's
# checksum over the part quoted (a router's "fragmentation needed" for a 1500-byte segment), not a wire error
QUOTED = {"tcp.checksum.status", "udp.checksum.status"}
ICMP_ERRORS = {"3", "4", "5", "11", "12"}


def tshark(pcap: Path) -> list[dict[str, str]]:
    argv = ["tshark", "-r", str(pcap), "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
            "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "occurrence=f"]
    for name in FIELDS:
        argv += ["-e", name]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines()]


@pytest.fixture(scope="module", params=sorted(lab_names()))
def run(request, tmp_path_factory):
    lab = load_lab(request.param)
    return run_fresh(lab, tmp_path_factory.mktemp(request.param), SOLUTIONS)


def test_tshark_finds_no_bad_checksum(run):
    rows = tshark(run.pcap)
    assert len(rows) == len(run.trace) > 0
    bad = [(row["frame.number"], key) for row in rows for key in CHECKSUMS if STATUS.get(row[key]) == "bad"
           and not (key in QUOTED and row["icmp.type"] in ICMP_ERRORS)]
    # Wireshark calls 0xFFFF for a zero sum illegal; Linux writes it now and then, every receiver takes it,
    # and protolab names it "other-zero" (wire/checksums.py): the two still agree on what the field holds
    bad = [(n, key) for n, key in bad if _ours(run, int(n), key) != "other-zero"]
    assert bad == []
    checked = sum(1 for row in rows for key in CHECKSUMS if STATUS.get(row[key]) == "good")
    assert checked >= len([f for f in run.trace if f.has("ip")])  # at least the IP header of every IP frame


def _ours(run, number: int, key: str) -> str | None:
    """protolab's checksum status of frame `number` for tshark's `key` ("tcp.checksum.status" → tcp)."""
    state = run.trace[number].layers.get("checksum", {}).get(key.split(".")[0])
    return state[0] if state else None


def test_the_verdicts_frame_numbers_are_tsharks(run):
    rows = {int(row["frame.number"]): row for row in tshark(run.pcap)}
    assert sorted(rows) == [f.index for f in run.trace]
    for frame in run.trace:
        row = rows[frame.index]
        assert row["eth.src"] == frame.get("eth.src")
        assert row["ip.src"] == frame.get("ip.src", "") and row["arp.src.proto_ipv4"] == frame.get("arp.psrc", "")
        assert row["tcp.seq_raw"] == str(frame.get("tcp.seq", ""))
    named = [n for item in run.verdict.items for n in item.frames]
    assert named and all(n in rows for n in named)


def test_the_capture_says_which_run_made_it_and_the_offline_check_uses_it(run):
    with open_capture(run.pcap) as capture:
        list(capture)
        info = capture.info
    described = parse_run_info(info.comments)
    assert described is not None and described.lab == run.lab.name and described.run_id == run.run_id
    assert described.status == run.verdict.status.value and info.drops == 0
    assert info.application and info.application.startswith("protolab")
    offline = check_capture(run.lab, run.pcap, {})
    assert offline.verdict.status is Status.PASS, explain(offline.verdict)
    assert offline.warnings == []


def test_a_capture_checked_as_another_lab_says_so(run):
    other = next(name for name in sorted(lab_names()) if name != run.lab.name)
    offline = check_capture(load_lab(other), run.pcap, {})
    assert f"this capture was made by a run of the lab '{run.lab.name}', not '{other}'" in offline.warnings[0]
    assert offline.verdict.notes[-1] == offline.warnings[0]


# --- the report page of real runs, in a real browser ------------------------------------------------


def rendered(page: Path):
    from tests.unit.test_report_browser import CHROMIUM, dom

    return dom(CHROMIUM, page)


def test_the_report_page_draws_one_arrow_per_captured_frame(run):
    page = rendered(run.html)
    assert page.one(tag="html").attrs.get("data-ready") == "yes"
    arrows = page.one(tag="svg", id="ladder").find(cls="frame")
    assert [int(a.attrs["data-number"]) for a in arrows] == [f.index for f in run.trace]
    items = page.find(tag="li", cls="item")
    assert [i.attrs["data-status"] for i in items] == [i.status.value for i in run.verdict.items]


def test_a_failing_runs_page_shows_the_failed_item(tmp_path):
    lab = load_lab("teardown")
    result = run_fresh(lab, tmp_path, SOLUTIONS / "teardown", "no_final_ack.py")
    assert result.verdict.status is Status.FAIL
    page = rendered(result.html)
    failed = [i for i in page.find(tag="li", cls="item") if i.attrs["data-status"] == "FAIL"]
    assert failed and all(i.attrs.get("data-visible") == "yes" for i in failed)
    first = next(i for i in result.verdict.items if i.status is Status.FAIL)
    assert first.name in failed[0].all_text()
