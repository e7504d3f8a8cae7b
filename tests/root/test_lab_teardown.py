"""The teardown lab for real: data and the four-way close against web's kernel, states read from it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protolab.errors import LabError
from protolab.expect import Status
from protolab.lab.catalog import load_lab
from protolab.backends.netns import NetnsBackend
from protolab.lab.offline import check_capture
from protolab.lab.runner import RunOptions, run_lab
from protolab.topology import load
from tests.root.labrun import explain as text, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "teardown"
DATA = b"hello, web"
M = 2**32


@pytest.fixture(scope="module")
def lab():
    return load_lab("teardown")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def frame(result, step):
    return result.trace[item(result.verdict, step).frames[0]]


def messages(verdict, name) -> str:
    return " ".join(item(verdict, name).messages)


def web_segments(result):
    return [f for f in result.trace if f.sender == "web" and f.has("tcp")]


# -- the reference solution ---------------------------------------------------------


def test_client_closes_first_data_fin_ack_and_web_socket_gone(lab, tmp_path):
    result = run(lab, tmp_path)
    v = result.verdict
    assert v.status is Status.PASS, text(v)
    assert result.facts == {
        "web.read": DATA,
        "web.state_after_your_fin": "CLOSE_WAIT",
        "web.state_after_its_fin": "LAST_ACK",
        "web.state_at_end": "gone",
    }
    b = v.bindings
    data = frame(result, "your data")
    assert data.get("tcp.payload") == DATA and data.get("tcp.seq") == (b["isn"] + 1) % M
    assert frame(result, "web ACKs your data").get("tcp.ack") == (b["data_seq"] + len(DATA)) % M
    assert b["fin_seq"] == (b["data_seq"] + len(DATA)) % M  # the sequence space moved on by the payload
    assert frame(result, "web ACKs your FIN").get("tcp.ack") == (b["fin_seq"] + 1) % M  # a FIN uses one number
    assert b["web_fin"] == (b["server_isn"] + 1) % M
    last = frame(result, "your ACK of web's FIN")
    assert (last.get("tcp.seq"), last.get("tcp.ack")) == ((b["fin_seq"] + 1) % M, (b["web_fin"] + 1) % M)
    # four segments close it, in this order, each seen where its sender put it on the wire
    close = [f.get("tcp.flags") for f in result.trace if f.has("tcp") and f.sender in ("client", "web") and f.index > data.index]
    assert close == ["A", "FA", "A", "FA", "A"]  # web's ACK of the data, then FIN, ACK, FIN, ACK
    assert not any(f.get("tcp.retransmission") for f in result.trace if f.has("tcp"))


def test_server_closes_first_and_web_ends_in_time_wait_with_its_timer(lab, tmp_path):
    result = run(lab, tmp_path, closer="server")
    v = result.verdict
    assert v.status is Status.PASS, text(v)
    facts = result.facts
    assert facts["web.read"] == DATA
    assert (facts["web.state_after_its_fin"], facts["web.state_when_your_fin_left"], facts["web.state_at_end"]) == (
        "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
    )
    assert 50 < facts["web.time_wait_left_s"] <= 60  # 2 MSL on Linux, just started
    b = v.bindings
    ack = frame(result, "your ACK of web's FIN")
    assert (ack.get("tcp.seq"), ack.get("tcp.ack")) == ((b["data_seq"] + len(DATA)) % M, (b["web_fin"] + 1) % M)
    assert b["fin_seq"] == ack.get("tcp.seq")  # the pure ACK before the FIN used no number
    last = frame(result, "web ACKs your FIN")
    assert (last.get("tcp.seq"), last.get("tcp.ack")) == ((b["web_fin"] + 1) % M, (b["fin_seq"] + 1) % M)
    assert any("TIME_WAIT timer has" in line and "does not wait it out" in line for line in result.narration)


class ShutdownReturnsLate:
    """web's socket, but shutdown() returns `delay` s after it sent the FIN: the closing thread is held up
    right after its FIN left, as on a busy machine (waiting for a CPU or for the interpreter lock)."""

    def __init__(self, sock: socket.socket, delay: float) -> None:
        self._sock, self._delay = sock, delay

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)
        time.sleep(self._delay)

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


@pytest.mark.parametrize(("closer", "after_its_fin", "at_end"), [("client", "LAST_ACK", "gone"), ("server", "FIN_WAIT1", "TIME_WAIT")])
def test_web_state_after_its_fin_holds_when_the_closing_thread_is_held_up(lab, tmp_path, monkeypatch, closer, after_its_fin, at_end):
    # the student's answer to web's FIN leaves while web's application is still in shutdown(): the lab
    # must still take that answer as sent after web's FIN (a time taken after shutdown() returned would not)
    module = lab.procedure.__globals__
    app_class = module["ConnectionApp"]

    class HeldUpApp(app_class):
        def __init__(self, conn, **kwargs) -> None:
            super().__init__(ShutdownReturnsLate(conn, 0.2), **kwargs)

    monkeypatch.setitem(module, "ConnectionApp", HeldUpApp)
    result = run(lab, tmp_path, closer=closer)
    assert result.verdict.status is Status.PASS, text(result.verdict)
    assert (result.facts["web.state_after_its_fin"], result.facts["web.state_at_end"]) == (after_its_fin, at_end)


def test_stored_capture_is_checked_offline_with_the_parameters_it_was_made_with(lab, tmp_path):
    result = run(lab, tmp_path, closer="server")
    offline = check_capture(lab, result.pcap, {})  # the capture says closer=server
    assert offline.verdict.status is Status.PASS, text(offline.verdict)
    assert offline.run is not None and offline.run.params["closer"] == "server"
    assert len(offline.trace) == len(result.trace)
    told_otherwise = check_capture(lab, result.pcap, {"closer": "client"})
    assert told_otherwise.verdict.status is Status.FAIL  # the client-first ladder does not fit this capture
    assert "checked with closer=client, but the run used closer=server" in told_otherwise.warnings


def test_an_unknown_closer_is_a_one_line_error(lab, tmp_path):
    with pytest.raises(LabError, match=r"parameter closer='sideways': expected client or server"):
        run(lab, tmp_path, closer="sideways")


def test_cli_runs_a_solution_and_prints_ladder_and_verdict(tmp_path):
    solution = SOLUTIONS / "no_final_ack.py"
    cmd = [sys.executable, "-m", "protolab.cli", "run", "teardown", "--fresh", "--out", str(tmp_path), "--solution", str(solution)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False, env={"COLUMNS": "200", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    header = next(line for line in out.splitlines() if "client" in line and "router" in line and "web" in line)
    assert header.index("client") < header.index("router") < header.index("web")
    assert "[retransmission]" in out and "✘ step  your ACK of web's FIN" in out
    assert (tmp_path / "trace.pcapng").stat().st_size > 0


# -- wrong solutions ------------------------------------------------------------------


def test_fin_with_a_wrong_seq_is_ignored_by_web(lab, tmp_path):
    result = run(lab, tmp_path, "fin_seq_forgets_data.py")
    v = result.verdict
    assert v.status is Status.FAIL
    b = v.bindings
    fin = item(v, "your FIN")
    assert fin.status is Status.FAIL
    assert f"tcp.seq is {b['data_seq']}, expected data_seq + data_len = {(b['data_seq'] + len(DATA)) % M}" in messages(v, "your FIN")
    assert "web's kernel ignores a FIN with any other number: it lies outside the window of numbers web accepts" in messages(v, "your FIN")
    # web answers with a duplicate ACK that still asks for the byte after the data
    dup = frame(result, "web ACKs your FIN")
    assert dup.get("tcp.ack") == (b["data_seq"] + len(DATA)) % M
    assert "web's kernel ignored your FIN" in messages(v, "web ACKs your FIN")
    assert "duplicate ACK" in messages(v, "web ACKs your FIN")
    assert result.facts["web.state_at_end"] == "ESTABLISHED"
    assert result.facts["web.state_after_your_fin"].startswith("ESTABLISHED (web's application never read end-of-file")
    assert not any("F" in f.get("tcp.flags") for f in web_segments(result))  # web never closed
    assert any("RuntimeError: web did not acknowledge my FIN" in n for n in v.notes)


def test_missing_final_ack_leaves_web_in_last_ack_and_it_sends_its_fin_again(lab, tmp_path):
    result = run(lab, tmp_path, "no_final_ack.py")
    v = result.verdict
    assert v.status is Status.FAIL
    missing = item(v, "your ACK of web's FIN")
    assert missing.status is Status.FAIL and missing.frames == ()
    assert "after FIN from web" in missing.messages[0] and "sends the FIN again" in missing.messages[0]
    again = item(v, "no segment sent again by web")
    assert again.status is Status.FAIL
    resent = result.trace[again.frames[0]]
    first = frame(result, "FIN from web")
    assert resent.get("tcp.flags") == "FA" and resent.get("tcp.seq") == first.get("tcp.seq")
    assert resent.time - first.time >= 0.2  # the kernel's retransmission timeout (RTO) has a 200 ms floor
    assert "web sent this segment a second time" in again.messages[0] and "still waiting for the ACK of its FIN" in again.messages[0]
    assert result.facts["web.state_after_its_fin"] == "LAST_ACK" and result.facts["web.state_at_end"] == "LAST_ACK"
    assert item(v, "web's socket is gone once your last ACK arrived").messages == ("web.state_at_end is 'LAST_ACK', expected 'gone'",)
    assert any("retransmission timeout" in line for line in result.narration)


def test_last_ack_that_forgets_the_fin_uses_a_number(lab, tmp_path):
    result = run(lab, tmp_path, "final_ack_off_by_one.py")
    v = result.verdict
    assert v.status is Status.FAIL
    web_fin = v.bindings["web_fin"]
    step = item(v, "your ACK of web's FIN")
    assert step.status is Status.FAIL
    assert f"tcp.ack is {web_fin}, expected web_fin + 1 = {(web_fin + 1) % M}" in messages(v, "your ACK of web's FIN")
    assert "a FIN uses one number" in messages(v, "your ACK of web's FIN")
    assert item(v, "no segment sent again by web").status is Status.FAIL  # web sends its FIN again
    assert result.facts["web.state_at_end"] == "LAST_ACK"


def test_data_acknowledging_bytes_web_never_sent_is_dropped(lab, tmp_path):
    result = run(lab, tmp_path, "data_acks_too_far.py")
    v = result.verdict
    assert v.status is Status.FAIL
    isn = v.bindings["server_isn"]
    assert f"tcp.ack is {(isn + 2) % M}, expected server_isn + 1 = {(isn + 1) % M}" in messages(v, "your data")
    assert "drops a segment that acknowledges bytes web never sent" in messages(v, "your data")
    assert frame(result, "web ACKs your data").get("tcp.ack") == v.bindings["data_seq"]  # nothing taken
    assert result.facts["web.read"] == b""
    assert item(v, "web's application read exactly the bytes you sent").messages == ("web.read is b'', expected b'hello, web'",)


def test_server_first_close_with_fin_not_acknowledged_ends_in_closing(lab, tmp_path):
    result = run(lab, tmp_path, "server_fin_acked_wrong.py", closer="server")
    v = result.verdict
    assert v.status is Status.FAIL
    web_fin = v.bindings["web_fin"]
    assert f"tcp.ack is {web_fin}, expected web_fin + 1" in messages(v, "your ACK of web's FIN")
    assert result.facts["web.state_after_its_fin"] == "FIN_WAIT1"
    assert result.facts["web.state_when_your_fin_left"] == "FIN_WAIT1"  # the ACK did not cover web's FIN
    assert result.facts["web.state_at_end"] == "CLOSING"
    assert item(v, "web's socket ends in TIME_WAIT (web closed first)").messages == ("web.state_at_end is 'CLOSING', expected 'TIME_WAIT'",)
    assert item(v, "no segment sent again by web").status is Status.FAIL


# web's pure ACKs never reach the wire: the ACK of the data shows only later, riding on web's FIN, as a
# delayed ACK would (web's kernel acknowledges within ~60 µs here, quicker than any student's next segment)
NO_PURE_ACKS_FROM_WEB = """table ip lab_test_no_acks {
  chain output { type filter hook output priority 0; policy accept; tcp sport 80 tcp flags == ack drop; }
}
"""


def test_a_fin_sent_before_web_acknowledged_the_data_is_named(lab, tmp_path):
    deployment = NetnsBackend().deploy(load())
    try:
        web = deployment.node("web")
        assert web.run(["nft", "-f", "-"], input=NO_PURE_ACKS_FROM_WEB).returncode == 0
        result = run_lab(lab, RunOptions(solution=SOLUTIONS / "fin_before_data_acked.py", out_dir=tmp_path,
                                         deployment=deployment))
    finally:
        deployment.teardown()
    v = result.verdict
    assert item(v, "your data").status is Status.PASS, text(v)
    assert item(v, "your FIN").status is Status.FAIL, text(v)
    assert "your FIN leaves only after web acknowledged your data" in messages(v, "your FIN")
