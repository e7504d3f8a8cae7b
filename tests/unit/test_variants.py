"""Per-student variants: drawn from the id and the course seed, and checked on captures."""

from __future__ import annotations

import pytest

from protolab.capture.frames import CaptureResult
from protolab.capture.pcapng import write_pcapng
from protolab.capture.reader import open_capture
from protolab.errors import LabError
from protolab.lab.catalog import load_lab
from protolab.lab.variants import claim, claim_problem, merged_params, student_params

LAB = load_lab("handshake")


def test_the_same_student_and_seed_always_get_the_same_variant_within_its_ranges():
    first = student_params(LAB, "alice", "course-2026")
    assert first == student_params(LAB, "alice", "course-2026")
    assert 8000 <= int(first["port"]) <= 8999 and 40000 <= int(first["client_port"]) <= 49999


def test_students_and_seeds_get_different_variants():
    ports = {student_params(LAB, f"s{k}", "course-2026")["port"] for k in range(50)}
    assert len(ports) > 40  # 1000 ports for 50 students: nearly all differ
    assert student_params(LAB, "alice", "course-2026") != student_params(LAB, "alice", "course-2027")


def test_a_varied_parameter_cannot_also_be_set():
    with pytest.raises(LabError, match="parameter port varies per student"):
        merged_params(LAB, "alice", "s", {"port": "80"})
    assert merged_params(LAB, None, "s", {"port": "80"}) == {"port": "80"}


def test_a_capture_says_whose_variant_it_is(tmp_path):
    path = write_pcapng(tmp_path / "t.pcapng", CaptureResult((), ("lan1",), 0, 0), [claim(LAB, "bob", "s")])
    comment = first_comment(path)
    assert claim_problem(LAB, "bob", "s", comment) is None
    assert claim_problem(LAB, "alice", "s", comment) == "this capture was made for another student's variant"
    assert claim_problem(LAB, "bob", "other seed", comment) == "this capture was made for another student's variant"
    assert claim_problem(load_lab("arp"), "bob", "s", comment) == "this capture was made for the lab handshake, not arp"
    plain = write_pcapng(tmp_path / "p.pcapng", CaptureResult((), ("lan1",), 0, 0))
    assert first_comment(plain) is None and claim_problem(LAB, "bob", "s", None) is None


def first_comment(path) -> str | None:
    with open_capture(path) as capture:
        return next(iter(capture.info.comments), None)
