"""`protolab grade`: a class folder graded in parallel, confined, with partial credit and every output.

One batch for the module (it costs ~30 s on two cores): correct submissions
in both layouts, each kind of wrong one, a hang, unusable files, a hostile
one; then the outputs are read back, a second run is served from the cache,
and nothing is left on the machine.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
PROTOLAB = str(Path(sys.executable).with_name("protolab"))

# student id -> (file to hand in, where it goes: "file" = ID.py, "folder" = ID/handshake.py)
CLASS = {
    "alice": (ROOT / "labs" / "handshake.py", "file"),
    "bjorn": (ROOT / "labs" / "handshake.py", "folder"),
    "chen": (SOLUTIONS / "wrong_ack.py", "file"),
    "dara": (SOLUTIONS / "no_final_ack.py", "file"),
    "emil": (SOLUTIONS / "hangs.py", "file"),
    "fatou": (SOLUTIONS / "syntax_error.py", "folder"),
    "gita": (SOLUTIONS / "no_function.py", "file"),
    "hugo": (SOLUTIONS / "raises.py", "file"),
    "ines": (SOLUTIONS / "hostile" / "exits_at_import.py", "file"),
    "jonas": (SOLUTIONS / "textbook_global_scapy.py", "file"),  # correct, in another style: scapy's global sr1()
    "kim": (SOLUTIONS / "hostile" / "rewrites_verdict.py", "file"),
}
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def _hand_in(folder: Path, out: Path) -> None:
    for student, (source, layout) in CLASS.items():
        text = source.read_text().replace("{OUT}", str(out))  # the hostile file looks for the verdicts there
        target = folder / f"{student}.py" if layout == "file" else folder / student / "handshake.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (folder / "lena").mkdir()  # a folder without a file: unusable, scored 0
    (folder / "notes.txt").write_text("not a submission")  # ignored


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grade")
    submissions, out = base / "submissions", base / "out"
    submissions.mkdir()
    _hand_in(submissions, out)
    done = subprocess.run([PROTOLAB, "grade", "handshake", str(submissions), "--out", str(out), "--workers", "2", "-q"],
                          capture_output=True, text=True, timeout=600, check=False)
    return submissions, out, done


def rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_every_submission_has_its_row_and_the_batch_ends_well(graded):
    _submissions, out, done = graded
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().startswith("protolab grade handshake: 12 submissions")
    book = rows(out)
    assert sorted(book) == sorted([*CLASS, "lena"])
    assert list(csv.reader(open(out / "gradebook.csv")))[0] == ["student", "score", "max_score", "status", "first_failed", "run_id"]


def test_scores_give_partial_credit_and_unusable_files_nothing(graded):
    book = rows(graded[1])
    for student in ("alice", "bjorn", "jonas"):
        assert (book[student]["status"], book[student]["score"], book[student]["max_score"]) == ("PASS", "8", "8")
        assert book[student]["first_failed"] == ""
    assert book["chen"]["status"] == "FAIL" and 0 < float(book["chen"]["score"]) < 8  # SYN and SYN-ACK were right
    assert book["chen"]["first_failed"].startswith("step: ACK from client")
    for student, cause in {"fatou": "syntax error", "gita": "defines no function connect()",
                           "ines": "at import", "lena": "holds no .py file"}.items():
        assert book[student]["score"] == "0", student
        assert cause in book[student]["first_failed"], book[student]
    assert book["emil"]["score"] == "0" and "did not return within" in book["emil"]["first_failed"]
    for student in ("kim", "hugo"):  # confined: a daemon cannot rewrite its verdict into a PASS
        assert book[student]["status"] == "FAIL", book[student]


def test_steps_after_a_missing_one_are_not_reached(graded):
    result = json.loads((graded[1] / "students" / "emil" / "results.json").read_text())
    outputs = {t["name"]: t["output"] for t in result["tests"]}
    assert outputs["step: SYN-ACK from web"].startswith("not reached: SYN from client is missing")
    assert outputs["never: no RST from web"].startswith("not reached")  # nothing happened: a never proves nothing


def test_each_student_has_gradescope_results_and_feedback(graded):
    out = graded[1]
    for student in [*CLASS, "lena"]:
        result = json.loads((out / "students" / student / "results.json").read_text())
        assert set(result) >= {"score", "execution_time", "output", "tests"}
        assert isinstance(result["score"], float) and result["visibility"] in GRADESCOPE_VISIBILITY
        for test in result["tests"]:
            assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
            assert test["status"] in {"passed", "failed"} and test["visibility"] in GRADESCOPE_VISIBILITY
            assert 0 <= test["score"] <= test["max_score"]
        assert result["score"] == sum(t["score"] for t in result["tests"])
    for student in ("alice", "chen"):
        folder = out / "students" / student
        assert (folder / "trace.pcapng").stat().st_size > 0 and (folder / "verdict.json").is_file()
        assert "SYN-ACK" in (folder / "verdict.txt").read_text()  # the ladder, as the student reads it


def test_junit_has_a_suite_per_student(graded):
    tree = ET.parse(graded[1] / "junit.xml").getroot()
    suites = {s.get("name"): s for s in tree.iter("testsuite")}
    assert sorted(suites) == sorted([*CLASS, "lena"])
    assert suites["alice"].get("failures") == "0" and int(suites["chen"].get("failures")) > 0


def test_the_summary_says_what_the_class_struggled_with(graded):
    summary = json.loads((graded[1] / "summary.json").read_text())
    assert summary["students"] == 12 and summary["status"]["PASS"] == 3
    rates = {i["name"]: i["rate"] for i in summary["items"]}
    assert rates["step: SYN from client"] > rates["step: ACK from client"]
    assert sum(summary["histogram"]) == 12
    assert summary["common_failures"][0]["first_failed"] == "unusable file"
    assert "items (pass rate):" in (graded[1] / "summary.txt").read_text()


def test_a_second_run_reuses_results_and_a_changed_file_is_graded_again(graded):
    submissions, out, _done = graded
    before = rows(out)
    shutil.copy(ROOT / "labs" / "handshake.py", submissions / "chen.py")  # chen fixes the file
    done = subprocess.run([PROTOLAB, "grade", "handshake", str(submissions), "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    after = rows(out)
    assert after["chen"]["status"] == "PASS" and after["chen"]["run_id"] != before["chen"]["run_id"]
    unchanged = {k: v for k, v in after.items() if k != "chen"}
    assert unchanged == {k: v for k, v in before.items() if k != "chen"}  # same rows, same run ids: not run again


def test_bad_input_is_one_line(tmp_path):
    missing = subprocess.run([PROTOLAB, "grade", "handshake", str(tmp_path / "nope")], capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "not a folder of submissions" in missing.stderr
    empty = subprocess.run([PROTOLAB, "grade", "handshake", str(tmp_path)], capture_output=True, text=True, check=False)
    assert empty.returncode == 2 and "holds no submission" in empty.stderr


def _network_namespaces() -> set[str]:
    return set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout.split())


def test_ctrl_c_finishes_what_is_in_flight_and_leaves_nothing(tmp_path):
    submissions, out = tmp_path / "class", tmp_path / "out"
    submissions.mkdir()
    for k in range(16):
        shutil.copy(ROOT / "labs" / "handshake.py", submissions / f"s{k:02d}.py")
    before = _network_namespaces()
    batch = subprocess.Popen([PROTOLAB, "grade", "handshake", str(submissions), "--out", str(out), "--workers", "2", "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("students/*/grade.json")):
        assert batch.poll() is None and time.monotonic() < deadline, "no submission was graded"
        time.sleep(0.05)
    batch.send_signal(signal.SIGINT)
    stdout, stderr = batch.communicate(timeout=120)
    assert batch.returncode == 130, stdout + stderr
    assert "interrupted:" in stderr and "run the same command to go on" in stderr
    graded = rows(out)
    assert 0 < len(graded) < 16 and all(r["status"] == "PASS" for r in graded.values())
    assert _network_namespaces() <= before  # every worker took its network down
    again = subprocess.run([PROTOLAB, "grade", "handshake", str(submissions), "--out", str(out), "-q"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0 and len(rows(out)) == 16  # and the same command goes on


def test_grading_again_gives_the_same_gradebook(graded):
    submissions, out, _done = graded
    first = {k: {f: v for f, v in row.items() if f != "run_id"} for k, row in rows(out).items()}
    done = subprocess.run([PROTOLAB, "grade", "handshake", str(submissions), "--out", str(out), "--force", "-q"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    second = {k: {f: v for f, v in row.items() if f != "run_id"} for k, row in rows(out).items()}
    assert second == first


def test_four_shards_merged_equal_one_unsharded_run(graded, tmp_path):
    submissions, whole, _done = graded
    shards = []
    for k in range(1, 5):
        shard = tmp_path / f"shard{k}"
        done = subprocess.run([PROTOLAB, "grade", "handshake", str(submissions), "--out", str(shard), "--shard", f"{k}/4", "-q"],
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr
        shards.append(shard)
    assert sum(len(rows(s)) for s in shards) == 12 and all(rows(s) for s in shards)
    merged = tmp_path / "merged"
    done = subprocess.run([PROTOLAB, "grade", "merge", str(merged), *map(str, shards)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    strip = lambda book: {k: {f: v for f, v in r.items() if f != "run_id"} for k, r in book.items()}  # noqa: E731
    assert strip(rows(merged)) == strip(rows(whole))
    assert json.loads((merged / "summary.json").read_text()) == json.loads((whole / "summary.json").read_text())
    assert (merged / "students" / "alice" / "trace.pcapng").is_file()
    twice = subprocess.run([PROTOLAB, "grade", "merge", str(tmp_path / "m2"), str(shards[0]), str(shards[0])],
                           capture_output=True, text=True, check=False)
    assert twice.returncode == 2 and "is in two shards" in twice.stderr


def _syn_port(run_dir: Path) -> int:
    report = json.loads((run_dir / "verdict.json").read_text())
    syn = next(f for f in report["trace"]["frames"] if f["layers"].get("tcp", {}).get("flags") == "S")
    return syn["layers"]["tcp"]["dport"]


def test_two_students_variants_differ_and_a_copied_capture_fails(tmp_path):
    env = {**os.environ, "PROTOLAB_COURSE_SEED": "networks-2026"}
    for student in ("ana", "ben"):
        done = subprocess.run([PROTOLAB, "run", "handshake", "--student", student, "--out", str(tmp_path / student), "-q"],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
        assert (done.returncode, done.stdout.strip()) == (0, "handshake: PASS (8/8)"), done.stderr
    assert _syn_port(tmp_path / "ana") != _syn_port(tmp_path / "ben")
    own = subprocess.run([PROTOLAB, "check", "handshake", str(tmp_path / "ana" / "trace.pcapng"), "--student", "ana"],
                         capture_output=True, text=True, env=env, check=False)
    assert own.returncode == 0, own.stdout
    copied = subprocess.run([PROTOLAB, "check", "handshake", str(tmp_path / "ben" / "trace.pcapng"), "--student", "ana"],
                            capture_output=True, text=True, env=env, check=False)
    assert copied.returncode == 1 and "this capture was made for another student's variant" in copied.stdout


def test_graded_students_ran_their_own_variants(graded):
    out = graded[1]
    assert _syn_port(out / "students" / "alice") != _syn_port(out / "students" / "bjorn")


def test_a_lab_that_needs_a_fresh_network_gets_one_per_submission(tmp_path):
    labs = tmp_path / "labs"
    labs.mkdir()
    text = (ROOT / "labs" / "handshake.py").read_text().replace("LAB = Lab(\n", "LAB = Lab(\n    fresh_topology=True,\n", 1)
    (labs / "handshake.py").write_text(text)
    submissions = tmp_path / "class"
    submissions.mkdir()
    for student in ("s1", "s2", "s3"):
        shutil.copy(ROOT / "labs" / "handshake.py", submissions / f"{student}.py")
    env = {**os.environ, "PROTOLAB_LABS": str(labs)}
    done = subprocess.run([PROTOLAB, "grade", "handshake", str(submissions), "--out", str(tmp_path / "out"), "--workers", "1", "-q"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    book = rows(tmp_path / "out")
    assert {r["status"] for r in book.values()} == {"PASS"}
    assert len({r["run_id"] for r in book.values()}) == 3  # a network of its own each (one worker)
