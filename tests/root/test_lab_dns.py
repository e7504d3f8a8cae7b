"""The dns lab for real: every case with the reference walk, a scapy walk, and the classic mistakes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protolab.backends.ledger import all_records, process_start_time
from protolab.expect import Status
from protolab.lab.catalog import load_lab
from tests.root.labrun import explain, item, run_fresh

pytestmark = pytest.mark.root
SOLUTIONS = Path(__file__).parent / "solutions" / "dns"
CASES = {
    "www.example.lab": {"name": "www.example.lab"},
    "no glue": {"name": "www.shop.lab"},
    "cname chain": {"name": "alias.example.lab"},
    "nxdomain": {"name": "nothere.example.lab"},
    "truncated": {"name": "big.example.lab", "qtype": "TXT"},
}


@pytest.fixture(scope="module")
def lab():
    return load_lab("dns")


def run(lab, tmp_path, solution=None, **params):
    return run_fresh(lab, tmp_path, SOLUTIONS, solution, **params)


def running(pid: int, start: int) -> bool:
    """The same process still exists and is not a zombie (an exited child nobody reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return process_start_time(pid) == start and state != "Z"


def dns_frames(result, sender):
    """DNS messages a node put on the wire (each once: on its own LAN)."""
    return [f for f in result.trace if f.has("dns") and f.sender == sender]


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_reference_walk_passes_every_case(lab, tmp_path, case):
    result = run(lab, tmp_path, **CASES[case])
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    assert result.facts["answer.yours"] == result.facts["answer.resolver"] == result.facts["answer.resolver.again"]
    queries = [f for f in dns_frames(result, "client") if not f.get("dns.qr") and f.get("ip.dst") != "10.0.2.53"]
    assert queries and all(not f.get("dns.rd") for f in queries)
    assert queries[0].get("ip.dst") == "10.0.2.11"
    # every response to the student came back with the id of its question
    for answer in (f for f in result.trace if f.has("dns") and f.sender in ("root", "tld", "auth") and f.get("ip.dst") == "10.0.1.10"):
        assert any(q.get("dns.id") == answer.get("dns.id") for q in queries)
    assert not any(r.run_id == result.run_id for r in all_records())  # torn down, servers included


def test_the_plain_walk_is_root_tld_auth(lab, tmp_path):
    result = run(lab, tmp_path)
    v = result.verdict
    root_referral = result.trace[item(v, "1. root refers to lab.").frames[0]]
    assert root_referral.get("dns.aa") is False and root_referral.get("dns.authority") == (("lab.", "NS", "ns1.nic.lab."),)
    answer = result.trace[item(v, "3. auth answers (AA)").frames[0]]
    assert answer.get("dns.aa") is True and answer.get("dns.answers") == (("www.example.lab.", "A", "10.0.2.80"),)
    assert result.facts["answer.yours"] == "NOERROR: www.example.lab. A 10.0.2.80"
    assert any(line.startswith("DNS up in ") for line in result.narration)


def test_the_resolver_walks_once_and_then_answers_from_its_cache(lab, tmp_path):
    result = run(lab, tmp_path, name="www.shop.lab")
    v = result.verdict
    assert item(v, "the resolver answers the second question from its cache").status is Status.PASS
    again = v.bindings["asked_again_at"]
    resolver_questions = [f for f in dns_frames(result, "resolver") if not f.get("dns.qr")]
    assert any(f.get("ip.dst") == "10.0.2.11" for f in resolver_questions)  # it did walk from the root once
    assert resolver_questions and all(f.time < again for f in resolver_questions)  # and never after the second question


def test_a_walk_made_with_scapy_passes_too(lab, tmp_path):
    for index, params in enumerate((CASES["no glue"], CASES["truncated"], CASES["cname chain"])):
        result = run(lab, tmp_path / str(index), "with_scapy.py", **params)
        assert result.verdict.status is Status.PASS, explain(result.verdict)


def test_rd_set_towards_the_root_is_named(lab, tmp_path):
    result = run(lab, tmp_path, "rd_to_root.py")
    v = result.verdict
    assert v.status is Status.FAIL
    first = item(v, "1. ask root about www.example.lab. A")
    assert first.status is Status.FAIL
    assert "recursion desired is off (RD=0)" in first.messages[0] and "dns.rd is True, expected False" in first.messages[0]
    assert item(v, "your resolve() returns the answer of the zone files").status is Status.PASS  # the answer itself is right


def test_stopping_at_a_referral_is_not_an_answer(lab, tmp_path):
    result = run(lab, tmp_path, "stops_at_referral.py")
    v = result.verdict
    assert v.status is Status.FAIL
    assert item(v, "1. root refers to lab.").status is Status.PASS
    assert item(v, "2. ask tld about www.example.lab. A").status is Status.FAIL
    fact = item(v, "your resolve() returns the answer of the zone files")
    assert fact.messages == ("answer.yours vs the zone files is 'missing 1 record: www.example.lab. A 10.0.2.80', expected 'none'",)
    assert item(v, "your answer equals the resolver's answer to the same question").status is Status.FAIL


def test_ignoring_the_glue_asks_the_wrong_server(lab, tmp_path):
    result = run(lab, tmp_path, "ignores_glue.py")
    v = result.verdict
    assert v.status is Status.FAIL
    missing = item(v, "2. ask tld about www.example.lab. A")
    assert missing.status is Status.FAIL and missing.frames == ()
    assert "ip.dst is '10.0.2.11', expected '10.0.2.12'" in missing.messages[0]
    assert any("RuntimeError: no answer for www.example.lab after 3 referrals (ignores_glue.py" in n for n in v.notes)


def test_not_retrying_over_tcp_after_truncation(lab, tmp_path):
    result = run(lab, tmp_path, "no_tcp_retry.py", **CASES["truncated"])
    v = result.verdict
    assert v.status is Status.FAIL
    assert item(v, "3. auth truncates the UDP answer (TC=1)").status is Status.PASS
    retry = item(v, "3. ask auth again over TCP")
    assert retry.status is Status.FAIL and "Ask the same server the same question over TCP port 53" in retry.messages[0]
    assert result.facts["answer.yours"] == "NOERROR: (none)"


def test_a_server_name_without_glue_is_resolved_first(lab, tmp_path):
    result = run(lab, tmp_path, **CASES["no glue"])
    v = result.verdict
    assert v.status is Status.PASS, explain(v)
    no_glue = result.trace[item(v, "2. tld refers to shop.lab.").frames[0]]
    assert no_glue.get("dns.authority") == (("shop.lab.", "NS", "dns.example.lab."),) and no_glue.get("dns.additional") == ()
    side = [i for i in v.items if "(a name server's address)" in i.name]
    assert [i.name.split(" about")[0] for i in side] == ["3. ask root", "4. ask tld", "5. ask auth"]
    order = [item(v, name).frames[0] for name in ("2. tld refers to shop.lab.", "5. auth answers (AA)", "6. ask auth about www.shop.lab. A")]
    assert order == sorted(order)


def test_the_cli_prints_the_ladder_and_the_delegation_view(tmp_path):
    cli = Path(sys.executable).parent / "protolab"
    env = {**os.environ, "COLUMNS": "150"}
    proc = subprocess.run([str(cli), "run", "dns", "--fresh", "--out", str(tmp_path), "--set", "name=www.shop.lab"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    header = next(line for line in out.splitlines() if "client" in line and "router" in line and "auth" in line)
    assert header.split()[:6] == ["client", "router", "resolver", "root", "tld", "auth"]  # full names: not a TTY
    assert "Delegation walk, as seen on the wire" in out
    assert "└ referral: shop.lab. NS dns.example.lab. (no glue)" in out
    assert "PASS" in out


@pytest.mark.parametrize(("setting", "message"), [("qtype=BOGUS", "is not a DNS record type"), ("name=a..b", "is not a domain name")])
def test_a_bad_question_is_a_one_line_error(tmp_path, setting, message):
    cli = Path(sys.executable).parent / "protolab"
    proc = subprocess.run([str(cli), "run", "dns", "--fresh", "-q", "--out", str(tmp_path), "--set", setting],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_ctrl_c_during_the_lab_stops_every_server_and_removes_everything(tmp_path):
    cli = Path(sys.executable).parent / "protolab"
    proc = subprocess.Popen([str(cli), "run", "dns", "--fresh", "-q", "--out", str(tmp_path), "--timeout", "30",
                             "--solution", str(SOLUTIONS / "hangs.py")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        record = None
        deadline = time.monotonic() + 20
        while record is None and time.monotonic() < deadline:  # wait until its DNS servers are up
            record = next((r for r in all_records() if r.owner_pid == proc.pid and any("unbound" in p.what for p in r.processes)), None)
            time.sleep(0.02)
        assert record is not None, "the run never started its servers"
        time.sleep(0.1)  # the student's function is running now
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "interrupted" in err
    assert not any(running(p.pid, p.start_time) for p in record.processes)  # nsd (and its children), unbound
    assert not any(os.path.exists(f"/run/netns/{ns}") for ns in record.namespaces)
    assert not any(r.run_id == record.run_id for r in all_records())


# -- what the instructions ask, checked; answers read as a student writes them ----------------

def test_a_query_with_edns_fails_with_its_reason(lab, tmp_path):
    result = run(lab, tmp_path, "with_edns.py")
    v = result.verdict
    first = item(v, "1. ask root about www.example.lab. A")
    assert first.status is Status.FAIL, explain(v)
    assert "the query has no EDNS (no OPT record)" in first.messages[0] and "dns.edns is 4096, expected None" in first.messages[0]
    assert item(v, "your resolve() returns the answer of the zone files").status is Status.PASS  # only the query is wrong


def test_plain_txt_values_pass(lab, tmp_path):
    result = run(lab, tmp_path, "plain_txt.py", **CASES["truncated"])
    assert result.verdict.status is Status.PASS, explain(result.verdict)


def test_a_wrong_txt_answer_is_told_in_a_few_lines(lab, tmp_path):
    result = run(lab, tmp_path, "no_tcp_retry.py", **CASES["truncated"])
    for name in ("your resolve() returns the answer of the zone files", "your answer equals the resolver's answer to the same question"):
        fact = item(result.verdict, name)
        assert fact.status is Status.FAIL
        (message,) = fact.messages
        assert len(message) <= 4 * 80 and "sha1" not in message, message
        assert "missing 10 records: big.example.lab. TXT" in message and "and 8 more" in message


def test_names_never_print_with_a_doubled_dot(lab, tmp_path):
    from rich.console import Console

    from protolab.report.terminal import print_report

    result = run(lab, tmp_path, "stops_at_cname.py", **CASES["cname chain"])
    v = result.verdict
    assert item(v, "4. ask root about portal.lab. A (the end of the CNAME chain)").status is Status.FAIL
    console = Console(record=True, width=200)
    print_report(console, trace=result.trace, verdict=v, columns=lab.columns, title=lab.title, views=lab.views,
                 topology=result.topology)
    texts = [console.export_text(), explain(v), *result.narration, result.html.read_text(), result.report.read_text()]
    assert all(".lab.." not in text and ".." not in text.replace("...", "") for text in texts[:3])
    assert all(".lab.." not in text for text in texts)
