"""What a graded batch leaves for the instructor: gradebook, Gradescope results, JUnit, class summary.

Everything is written sorted by student id and item order, without clocks,
so grading the same folder twice gives the same files (run ids and times aside).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

from .score import ERROR

GRADEBOOK_FIELDS = ("student", "score", "max_score", "status", "first_failed", "run_id")
HISTOGRAM_BINS = 10


BATCH_FILE = "batch.json"
RESULT_FILE = "grade.json"  # per student: the result, with the file's digest and the lab version it was graded for


def write_all(out: Path, lab_name: str, results: dict[str, dict[str, Any]], lab_version: str) -> dict[str, Any]:
    """Every file of a batch; returns the class summary."""
    rows = [results[k] for k in sorted(results)]
    (out / BATCH_FILE).write_text(json.dumps({"lab": lab_name, "lab_version": lab_version,
                                              "students": [r["student"] for r in rows]}, indent=1) + "\n")
    write_gradebook(out / "gradebook.csv", rows)
    for row in rows:
        write_gradescope(out / "students" / row["student"] / "results.json", row)
    write_junit(out / "junit.xml", lab_name, rows)
    summary = class_summary(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "summary.txt").write_text(summary_text(lab_name, summary))
    return summary


def _points(value: float) -> str:
    return f"{value:g}"


def write_gradebook(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(GRADEBOOK_FIELDS)
        for row in rows:
            writer.writerow([row["student"], _points(row["score"]), _points(row["max_score"]), row["status"],
                             gradebook_reason(row), row["run_id"]])


def gradebook_reason(row: dict[str, Any]) -> str:
    """What failed first, in words that are the same on every run: the item's name, or what
    the student's code did (the item's own message names ports and sequence numbers, which vary)."""
    first = row["first_failure"]
    if row["status"] == ERROR or row.get("first_failed") == "unusable file" or first.startswith("your "):
        return first
    return row.get("first_failed", "")


def gradescope(row: dict[str, Any]) -> dict[str, Any]:
    """Gradescope's autograder results: a score, and one test per expectation item."""
    tests = [
        {"name": item["name"], "score": item["points"], "max_score": item["max_points"],
         "status": "passed" if item["status"] == "passed" else "failed",
         "output": item["message"],
         "visibility": "visible"}
        for item in row["items"]
    ]
    result: dict[str, Any] = {"score": row["score"], "execution_time": round(row["seconds"], 3),
                              "output": row["first_failure"] or "every item passed", "visibility": "visible",
                              "tests": tests}
    if row["status"] == ERROR:
        result["output"] = f"not graded: {row['first_failure']} (your instructor will look at it)"
    return result


def write_gradescope(path: Path, row: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope(row), indent=1) + "\n")


def write_junit(path: Path, lab_name: str, rows: Iterable[dict[str, Any]]) -> None:
    """One suite per student, one case per item; a grader error is one erroring case."""
    xml = JUnitXml(f"protolab grade {lab_name}")
    for row in rows:
        classname = f"protolab.{lab_name}.{row['student']}"
        suite = TestSuite(row["student"])
        if row["status"] == ERROR:
            case = TestCase("graded", classname=classname)
            case.result = [Error(row["first_failure"], "grader")]
            suite.add_testcase(case)
        for item in row["items"]:
            case = TestCase(item["name"], classname=classname)
            if item["status"] != "passed":
                case.result = [Failure(item["message"] or item["status"], item["status"])]
            suite.add_testcase(case)
        suite.update_statistics()
        xml.add_testsuite(suite)
    xml.update_statistics()
    xml.write(str(path), pretty=True)


def class_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Pass rate per item, a score histogram (fractions of the maximum), the commonest failures."""
    graded = [r for r in rows if r["status"] != ERROR]
    items: dict[str, list[int]] = {}
    for row in graded:
        for item in row["items"]:
            passed, seen = items.setdefault(item["name"], [0, 0])
            items[item["name"]] = [passed + (item["status"] == "passed"), seen + 1]
    histogram = [0] * HISTOGRAM_BINS
    for row in graded:
        fraction = row["score"] / row["max_score"] if row["max_score"] else 0.0
        histogram[min(int(fraction * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    reasons = Counter(r["first_failed"] for r in graded if r.get("first_failed"))
    return {
        "students": len(rows),
        "status": dict(sorted(Counter(r["status"] for r in rows).items())),
        "mean_score_fraction": round(sum(r["score"] / r["max_score"] for r in graded if r["max_score"]) / len(graded), 4)
        if graded else 0.0,
        "items": [{"name": name, "passed": p, "of": n, "rate": round(p / n, 4)} for name, (p, n) in items.items()],
        "histogram": histogram,
        "common_failures": [{"first_failed": k, "students": v} for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:10]],
        "errors": [{"student": r["student"], "reason": r["first_failure"]} for r in rows if r["status"] == ERROR],
    }


def summary_text(lab_name: str, summary: dict[str, Any]) -> str:
    lines = [f"protolab grade {lab_name}: {summary['students']} submissions, "
             + ", ".join(f"{n} {s}" for s, n in summary["status"].items()),
             f"mean score: {summary['mean_score_fraction'] * 100:.1f} % of the maximum", "", "items (pass rate):"]
    for item in summary["items"]:
        lines.append(f"  {item['rate'] * 100:5.1f} %  {item['passed']:>4}/{item['of']:<4} {item['name']}")
    lines += ["", "scores (share of the maximum):"]
    for k, count in enumerate(summary["histogram"]):
        low, high = k * 100 // HISTOGRAM_BINS, (k + 1) * 100 // HISTOGRAM_BINS
        lines.append(f"  {low:3d}-{high:<3d}% {count:>4} {'#' * count}")
    if summary["common_failures"]:
        lines += ["", "what failed first, most often:"]
        lines += [f"  {f['students']:>4}  {f['first_failed']}" for f in summary["common_failures"]]
    if summary["errors"]:
        lines += ["", "not graded (grader errors, look at these):"]
        lines += [f"  {e['student']}: {e['reason']}" for e in summary["errors"]]
    return "\n".join(lines) + "\n"


def merge(out: Path, shards: list[Path]) -> dict[str, Any]:
    """One batch folder from the folders of shards of the same lab; returns the class summary."""
    import shutil

    from ..errors import LabError

    results: dict[str, dict[str, Any]] = {}
    labs = set()
    for shard in shards:
        try:
            batch = json.loads((shard / BATCH_FILE).read_text())
        except (OSError, ValueError):
            raise LabError(f"{shard} is not the folder of a 'protolab grade' run (no {BATCH_FILE})") from None
        labs.add((batch["lab"], batch["lab_version"]))
        for student in batch["students"]:
            if student in results:
                raise LabError(f"student {student} is in two shards (the second is {shard})")
            saved = json.loads((shard / "students" / student / RESULT_FILE).read_text())
            results[student] = saved["result"]
            if shard.resolve() != out.resolve():
                shutil.copytree(shard / "students" / student, out / "students" / student, dirs_exist_ok=True)
    if len(labs) != 1:
        raise LabError(f"the shards were graded for different labs or lab versions: {sorted(labs)}")
    (lab_name, lab_version), = labs
    return write_all(out, lab_name, results, lab_version)
