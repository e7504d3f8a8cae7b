"""The HTML report in a real headless browser (Debian's chromium): what the page's
script renders, not just what Python wrote.

`--dump-dom` prints the DOM after the script ran (the virtual time budget lets
it run), so the script writes what only a browser knows — whether an item is
rendered at all (data-visible), which frame the panel shows (data-frame) — as
attributes the dump carries. Screenshots are checked by decoding the top of
the PNG with zlib: the size, that it is not one flat colour, and that the
status badge's colour is there.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from protolab.expect.trace import make_trace
from protolab.expect.verdict import Status, Verdict
from protolab.report import write_html
from tests.unit.report_samples import COLUMNS, sample_trace, sample_verdict
from tests.unit.test_report_html import HOSTILE, hostile_trace, hostile_verdict, parse

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT = 90
WINDOW = (1400, 1000)
BADGE = {"PASS": (0x15, 0x80, 0x3D), "FAIL": (0xB9, 0x1C, 0x1C)}  # --pass and --fail in the page's CSS


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(scripts/bootstrap --test installs it, or: apt-get install chromium)", pytrace=False)
    return CHROMIUM


def run_chromium(chromium: Path, url: str, *extra: str) -> str:
    """Run headless chromium on `url` with a fresh profile; its stdout. Leaves no process behind.

    HOME and the XDG folders point into the same fresh directory, so every process
    of this run, crash handlers included (they leave the process group), names it
    on its command line: that is how its leftovers, and only its, are found."""
    with tempfile.TemporaryDirectory(prefix="protolab-chromium-") as root:
        env = {**os.environ, "HOME": root, "XDG_CONFIG_HOME": f"{root}/config", "XDG_CACHE_HOME": f"{root}/cache"}
        args = [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={root}/profile", "--virtual-time-budget=2000", *extra, url]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)  # its own process group: ours to kill, nobody else's
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"chromium did not finish within {TIMEOUT} s on {url}")
        finally:
            left = _leftovers(root)
        assert not left, f"chromium left processes behind (killed now): {left}"
        assert proc.returncode == 0, f"chromium exited {proc.returncode}: {err[-2000:]}"
        return out


def _leftovers(root: str, grace: float = 5.0) -> list[int]:
    """Processes of this run still alive after `grace` seconds; they are killed before returning."""
    deadline = time.monotonic() + grace
    while (left := _processes_using(root)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def _processes_using(root: str) -> list[int]:
    """Live processes naming `root` on their command line (only this run's do)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if root.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def dom(chromium: Path, page: Path, fragment: str = ""):
    text = run_chromium(chromium, page.resolve().as_uri() + fragment, "--dump-dom")
    assert "<html" in text, text[:500]
    return parse(text)


def report(tmp_path: Path, name: str, **kw) -> Path:
    args = dict(title="TCP through a router", trace=sample_trace(), verdict=sample_verdict(), columns=COLUMNS,
                pcap="trace.pcapng", lab="handshake", run_id="run-1", narration=("client connects",))
    args.update(kw)
    return write_html(tmp_path / name / "report.html", **args)


def passing() -> Verdict:
    verdict = sample_verdict()
    return replace(verdict, status=Status.PASS, notes=(),
                   items=tuple(i for i in verdict.items if i.status is Status.PASS))


@pytest.fixture(scope="module")
def failing_dom(chromium, tmp_path_factory):
    return dom(chromium, report(tmp_path_factory.mktemp("html"), "failing"))


def test_the_script_ran(failing_dom):
    root = failing_dom.one(tag="html")
    assert root.attrs.get("data-ready") == "yes", "the page's script did not finish (blocked by its CSP?)"


def test_failed_item_is_present_and_visible(failing_dom):
    items = failing_dom.find(tag="li", cls="item")
    assert len(items) == len(sample_verdict().items)
    failed = [i for i in items if i.attrs["data-status"] == "FAIL"]
    assert len(failed) == 1 and "no retransmission" in failed[0].all_text()
    assert failed[0].attrs.get("data-visible") == "yes"
    assert all(i.attrs.get("data-visible") == "yes" for i in items)
    assert "no retransmission" in failing_dom.one(cls="misses").all_text()


def test_one_arrow_per_frame(failing_dom):
    arrows = failing_dom.one(tag="svg", id="ladder").find(cls="frame")
    assert [int(a.attrs["data-number"]) for a in arrows] == list(range(1, len(sample_trace()) + 1))
    assert failing_dom.one(tag="html").attrs["data-frames"] == str(len(sample_trace()))  # counted by the page
    assert failing_dom.one(id="details").attrs.get("data-frame") == ""  # nothing selected without #frame-N


def test_fragment_selects_that_frame(chromium, tmp_path):
    page = dom(chromium, report(tmp_path, "hash"), "#frame-3")
    details = page.one(id="details")
    assert details.attrs["data-frame"] == "3"
    text = details.all_text()
    assert "Frame #3" in text and "SYN seq=0 (1000)" in text
    tcp = details.one(tag="table", data_layer="tcp")
    fields = {tr.find(tag="th")[0].all_text(): tr.find(tag="td")[0].all_text() for tr in tcp.find(tag="tr")}
    assert fields["seq"] == "1000" and fields["flags"] == "S" and fields["sport"] == "40000"
    assert {t.attrs["data-layer"] for t in details.find(tag="table", cls="fields")} == {"eth", "ip", "tcp"}
    kv = {tr.find(tag="th")[0].all_text(): tr.find(tag="td")[0].all_text() for tr in details.one(cls="kv").find(tag="tr")}
    assert kv["link"] == "lan1" and kv["sender"] == "client" and kv["receiver"] == "router"
    assert "syn" in details.one(cls="refs-list").all_text()  # the item naming frame 3
    selected = [a for a in page.find(cls="frame") if "selected" in a.classes]
    assert [a.attrs["data-number"] for a in selected] == ["3"]


def test_hostile_frame_is_shown_as_text(chromium, tmp_path):
    page_path = report(tmp_path, "hostile", trace=hostile_trace(), verdict=hostile_verdict(), title=HOSTILE,
                       columns=("client", "router"))
    page = dom(chromium, page_path, "#frame-1")
    assert not page.find(tag="img")
    assert len(page.find(tag="script")) == 2
    details = page.one(id="details")
    assert details.attrs["data-frame"] == "1"
    dns = details.one(tag="table", data_layer="dns")
    assert HOSTILE in dns.all_text()
    assert HOSTILE[:8] in details.one(tag="pre", cls="hex").all_text()  # the payload's printable bytes
    assert page.one(tag="html").attrs.get("data-ready") == "yes"


def test_zero_frames_and_a_missing_frame(chromium, tmp_path):
    page = dom(chromium, report(tmp_path, "empty", trace=make_trace([]), verdict=Verdict("e", Status.INCONCLUSIVE, ()),
                                columns=()), "#frame-1")
    assert page.one(tag="html").attrs["data-frames"] == "0"
    details = page.one(id="details")
    assert details.attrs["data-frame"] == "" and "no frames were captured" in details.all_text()


@pytest.mark.parametrize("status", ["PASS", "FAIL"])
def test_screenshot(chromium, tmp_path, status):
    verdict = passing() if status == "PASS" else sample_verdict()
    page = report(tmp_path, status.lower(), verdict=verdict)
    shot = tmp_path / f"{status.lower()}.png"
    run_chromium(chromium, page.resolve().as_uri(), f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                 "--hide-scrollbars", "--force-device-scale-factor=1")
    assert shot.is_file()
    width, height, pixels = top_rows(shot, 120)
    assert (width, height) == WINDOW
    colours = {px for row in pixels for px in row}
    assert len(colours) > 50, f"the top of the page is nearly flat: {len(colours)} colours"
    badge = sum(1 for row in pixels for px in row if _near(px, BADGE[status]))
    other = sum(1 for row in pixels for px in row if _near(px, BADGE["FAIL" if status == "PASS" else "PASS"]))
    assert badge > 500, f"no {status} badge in the screenshot ({badge} pixels of its colour)"
    assert badge > 5 * other


def _near(px: tuple[int, int, int], colour: tuple[int, int, int], tolerance: int = 6) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(px, colour))


def top_rows(path: Path, count: int) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and the RGB pixels of the first `count` rows of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, pos = {}, 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.setdefault(kind, []).append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert depth == 8 and interlace == 0 and colour_type in (2, 6), (depth, colour_type, interlace)
    bpp = 3 if colour_type == 2 else 4
    stride = width * bpp
    raw = zlib.decompressobj().decompress(b"".join(chunks[b"IDAT"]), (stride + 1) * count)
    prev, rows = bytearray(stride), []
    for y in range(min(count, height)):
        line = _unfilter(raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]), prev, bpp)
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    """Undo one scanline's PNG filter (None, Sub, Up, Average, Paeth)."""
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + a) & 255
        elif kind == 2:
            line[i] = (line[i] + b) & 255
        elif kind == 3:
            line[i] = (line[i] + ((a + b) >> 1)) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return line
