"""Scoring and discovery for `protolab grade`, on hand-built verdicts and folders."""

from __future__ import annotations

import pytest

from protolab.errors import LabError
from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.grade.outputs import class_summary, gradescope
from protolab.grade.score import score_verdict
from protolab.grade.submissions import discover

P, F, S = Status.PASS, Status.FAIL, Status.SKIPPED


def verdict(*items: tuple[str, str, Status], notes: tuple[str, ...] = ()) -> Verdict:
    results = tuple(ItemResult(kind, name, status, messages=(f"{name} said why",) if status is not P else ())
                    for kind, name, status in items)
    overall = P if all(i.status is P for i in results) and not notes else F
    return Verdict("x", overall, results, notes=notes)


def test_every_passed_item_earns_its_points_and_weights_count():
    v = verdict(("step", "SYN", P), ("step", "ACK", F), ("fact", "accepted", P))
    score = score_verdict(v, {"SYN": 2.0})
    assert (score.score, score.max_score) == (3.0, 4.0)
    assert score.first_failure == "step: ACK: ACK said why" and score.first_failed == "step: ACK"


def test_steps_after_a_missing_one_are_not_reached_not_failed():
    v = verdict(("step", "SYN", F), ("step", "SYN-ACK", F), ("step", "ACK", S), ("never", "no RST", P))
    score = score_verdict(v, {})
    assert [i.status for i in score.items] == ["failed", "not reached", "not reached", "not reached"]
    assert score.items[1].message == "not reached: SYN is missing"
    assert score.score == 0  # the never rule held only because nothing happened


def test_a_later_step_seen_anyway_keeps_its_points():
    score = score_verdict(verdict(("step", "a", F), ("step", "b", P), ("never", "no RST", P)), {})
    assert [i.status for i in score.items] == ["failed", "passed", "passed"] and score.score == 2


def test_an_unusable_file_scores_nothing_with_its_cause_first():
    score = score_verdict(verdict(("step", "SYN", F), ("never", "no RST", P)), {}, "your connect() could not be used: x.py:1: syntax error")
    assert (score.status, score.score, score.max_score) == ("FAIL", 0.0, 2.0)
    assert score.first_failure == "your connect() could not be used: x.py:1: syntax error"


def test_what_the_students_code_did_comes_first():
    v = verdict(("step", "SYN", F), notes=("your connect() did not return within 5 s and was stopped",))
    assert score_verdict(v, {}).first_failure.startswith("your connect() did not return")


def test_gradescope_shape_and_the_class_summary():
    score = score_verdict(verdict(("step", "SYN", P), ("step", "ACK", F)), {})
    row = {"student": "s1", "status": score.status, "score": score.score, "max_score": score.max_score,
           "first_failure": score.first_failure, "first_failed": score.first_failed,
           "items": [i.__dict__ for i in score.items], "run_id": "r", "seconds": 1.5}
    result = gradescope(row)
    assert result["score"] == 1.0 and [t["status"] for t in result["tests"]] == ["passed", "failed"]
    summary = class_summary([row, {**row, "student": "s2", "status": "ERROR", "items": [], "first_failed": "grader error"}])
    assert summary["errors"] == [{"student": "s2", "reason": row["first_failure"]}]
    assert summary["histogram"][5] == 1 and summary["items"][0] == {"name": "step: SYN", "passed": 1, "of": 1, "rate": 1.0}


def test_discovery_of_files_and_folders(tmp_path):
    (tmp_path / "ann.py").write_text("def connect(): pass\n")
    (tmp_path / "bo").mkdir()
    (tmp_path / "bo" / "mine.py").write_text("x = 1\n")
    (tmp_path / "cy").mkdir()
    for name in ("a.py", "b.py"):
        (tmp_path / "cy" / name).write_text("")
    (tmp_path / "dee").mkdir()
    for name in ("handshake.py", "helper.py"):
        (tmp_path / "dee" / name).write_text("")
    (tmp_path / ".hidden.py").write_text("")
    (tmp_path / "readme.txt").write_text("")
    found = {s.student: s for s in discover(tmp_path, "handshake")}
    assert sorted(found) == ["ann", "bo", "cy", "dee"]
    assert found["bo"].path.name == "mine.py" and found["dee"].path.name == "handshake.py"
    assert found["cy"].path is None and "2 .py files" in found["cy"].problem
    assert len(found["ann"].digest) == 64


def test_discovery_refuses_what_cannot_be_a_class(tmp_path):
    with pytest.raises(LabError, match="holds no submission"):
        discover(tmp_path, "handshake")
    (tmp_path / "x y.py").write_text("")
    with pytest.raises(LabError, match="a student id is"):
        discover(tmp_path, "handshake")
