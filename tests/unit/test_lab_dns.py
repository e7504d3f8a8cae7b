"""The dns lab's pure helpers: TXT values read alike however written, and a short difference of two answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from protolab.models.answers import answer_text

LAB_FILE = Path(__file__).parents[2] / "labs" / "dns.py"


def _import_lab():
    spec = importlib.util.spec_from_file_location("lab_dns_under_test", LAB_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dns_lab = _import_lab()


def test_plain_and_quoted_txt_values_read_the_same():
    quoted = ("NOERROR", [("t.example.lab.", "TXT", '"hello world"'), ("t.example.lab.", "A", "10.0.2.80")])
    plain = ("NOERROR", [("t.example.lab", "txt", "hello world"), ("t.example.lab.", "A", "10.0.2.80")])
    assert answer_text(dns_lab.plain_txt(quoted)) == answer_text(dns_lab.plain_txt(plain))
    assert dns_lab.plain_txt(("NOERROR", [("t.", "TXT", '"a" "b"')]))[1] == [("t.", "TXT", "ab")]  # several strings
    assert dns_lab.plain_txt(("NOERROR", [("t.", "TXT", '"say \\"hi\\""')]))[1] == [("t.", "TXT", 'say "hi"')]
    assert dns_lab.plain_txt(None) is None  # not an answer: left for answer_text to name


def test_the_difference_of_two_answers_is_short():
    assert dns_lab.answer_difference("NOERROR: a. A 1.2.3.4", "NOERROR: a. A 1.2.3.4") == "none"
    want = "NOERROR: " + "; ".join(f"big.example.lab. TXT line {k} " + "x" * 40 for k in range(10))
    told = dns_lab.answer_difference("NOERROR: (none)", want)
    assert told.startswith("missing 10 records: big.example.lab. TXT line 0") and told.endswith("and 8 more")
    assert len(told) < 160  # two lines at most, instead of ten records twice
    wrong = dns_lab.answer_difference("NXDOMAIN: (none)", "NOERROR: a. A 1.2.3.4")
    assert wrong == "rcode NXDOMAIN, expected NOERROR, missing 1 record: a. A 1.2.3.4"
    extra = dns_lab.answer_difference("NOERROR: a. A 1.2.3.4; b. A 5.6.7.8", "NOERROR: a. A 1.2.3.4")
    assert extra == "not expected 1 record: b. A 5.6.7.8"
    assert dns_lab.answer_difference("not an (rcode, records) pair: None", "NOERROR: (none)").startswith("not an")
