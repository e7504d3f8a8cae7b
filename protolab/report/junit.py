"""JUnit XML for CI: one test suite per lab run, one test case per expectation item."""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped, SystemOut, TestCase, TestSuite

from protolab.expect.verdict import Status, Verdict


def junit_suite(verdict: Verdict, lab: str, seconds: float = 0.0) -> TestSuite:
    """The verdict as a test suite, one case per item; the run's notes are the suite's
    output, or a case `run` of their own when they alone make the verdict fail."""
    classname = f"protolab.{lab}"
    suite = TestSuite(classname)
    for item in verdict.items:
        case = TestCase(f"{item.kind}: {item.name}", classname=classname)
        if item.status is Status.FAIL:
            case.result = [Failure(item.messages[0] if item.messages else "failed", "expectation")]
        elif item.status is Status.SKIPPED:
            case.result = [Skipped(item.messages[0] if item.messages else "not checked")]
        if item.messages:
            case.system_out = "\n".join(item.messages)
        suite.add_testcase(case)
    unexplained = verdict.status is not Status.PASS and all(i.status is Status.PASS for i in verdict.items)
    if verdict.notes and unexplained:
        # the run itself failed (or proved nothing) while every item passed: one case says so
        run = TestCase("run", classname=classname)
        text = "\n".join(verdict.notes)
        # a run that cannot prove anything is an error of the run, not a failed expectation
        run.result = [Error(text, "inconclusive") if verdict.status is Status.INCONCLUSIVE else Failure(text, "run")]
        suite.add_testcase(run)
    elif verdict.notes:  # one case per item, and the run's remarks beside them
        suite.append(SystemOut("\n".join(verdict.notes)))
    suite.update_statistics()
    suite.time = round(seconds, 3)  # after update_statistics, which sums the (untimed) cases
    return suite


def write_junit(path: str | Path, verdict: Verdict, lab: str, seconds: float = 0.0) -> Path:
    xml = JUnitXml()
    xml.add_testsuite(junit_suite(verdict, lab, seconds))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path), pretty=True)
    return path
