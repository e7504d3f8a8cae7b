"""JUnit XML of a verdict, read back with the same library CI tools use."""

from junitparser import Error, Failure, JUnitXml, Skipped

from protolab.expect.verdict import ItemResult, Status, Verdict
from protolab.report.junit import write_junit

STEPS = (
    ItemResult("step", "SYN from client", Status.PASS, (2,)),
    ItemResult("step", "SYN-ACK from web", Status.FAIL, (6,), ("the SYN-ACK acknowledges the client's ISN + 1 — but tcp.ack is 1000, expected isn + 1 = 1001",)),
    ItemResult("step", "ACK from client", Status.SKIPPED, (), ("not checked: it needs 'server_isn'",)),
)


def read(path):
    (suite,) = list(JUnitXml.fromfile(str(path)))
    return suite, {case.name: case for case in suite}


def test_each_item_is_a_test_case_with_its_outcome(tmp_path):
    path = write_junit(tmp_path / "out" / "junit.xml", Verdict("handshake", Status.FAIL, STEPS), "handshake", 0.5)
    suite, cases = read(path)
    assert suite.name == "protolab.handshake"
    assert (suite.tests, suite.failures, suite.skipped, suite.errors) == (3, 1, 1, 0)
    assert suite.time == 0.5
    assert cases["step: SYN from client"].is_passed
    (failure,) = cases["step: SYN-ACK from web"].result
    assert isinstance(failure, Failure) and "expected isn + 1 = 1001" in failure.message
    assert isinstance(cases["step: ACK from client"].result[0], Skipped)
    assert cases["step: SYN from client"].classname == "protolab.handshake"


def test_run_notes_fail_the_run_and_inconclusive_is_an_error(tmp_path):
    failed = Verdict("x", Status.FAIL, STEPS[:1], notes=("your connect() raised ValueError: boom (s.py:3, in connect)",))
    _, cases = read(write_junit(tmp_path / "a.xml", failed, "handshake"))
    assert isinstance(cases["run"].result[0], Failure) and "ValueError: boom" in cases["run"].result[0].message
    doubtful = Verdict("x", Status.INCONCLUSIVE, STEPS[:1], notes=("the kernel dropped 3 frame(s)",))
    suite, cases = read(write_junit(tmp_path / "b.xml", doubtful, "handshake"))
    assert isinstance(cases["run"].result[0], Error) and suite.errors == 1


def test_as_many_cases_as_items_when_the_items_explain_the_verdict(tmp_path):
    noted = Verdict("x", Status.FAIL, STEPS, notes=("your connect() printed 3 lines",))
    suite, cases = read(write_junit(tmp_path / "c.xml", noted, "handshake"))
    assert suite.tests == len(STEPS) and "run" not in cases
    assert "<system-out>your connect() printed 3 lines</system-out>" in (tmp_path / "c.xml").read_text()
