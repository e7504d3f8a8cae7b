"""Facts a lab declares: ctx.fact refuses other names, and the catalogue refuses an undeclared Fact(...)."""

from __future__ import annotations

import textwrap

import pytest

from protolab.errors import AuthorError
from protolab.expect import Check, Expectation, Fact, Step, F
from protolab.lab.catalog import load_lab
from protolab.lab.facts import FactBook, fact_names, undeclared

SPECS = {"web.received": ("what web read", list), "probe(*)": "what probe() returned", "state": "a state word"}


def test_a_declared_name_is_kept_and_an_undeclared_one_refused_with_the_declared_names():
    book = FactBook("demo", SPECS)
    book["web.received"] = [b"one"]
    book["probe(10.0.2.80, ttl=1)"] = "10.0.1.1: time exceeded"  # covered by the pattern
    assert book == {"web.received": [b"one"], "probe(10.0.2.80, ttl=1)": "10.0.1.1: time exceeded"}
    with pytest.raises(AuthorError, match=r"lab demo reports the fact 'web.recieved', which its Lab\(facts=...\) "
                                          r"does not declare \(declared: probe\(\*\), state, web.received\)"):
        book["web.recieved"] = []


def test_update_and_setdefault_are_checked_too():
    book = FactBook("demo", SPECS)
    with pytest.raises(AuthorError, match="'other'"):
        book.update({"state": "ESTABLISHED", "other": 1})
    with pytest.raises(AuthorError, match="'other'"):
        book.setdefault("other", 1)


def test_a_declared_type_is_checked():
    book = FactBook("demo", SPECS)
    with pytest.raises(AuthorError, match=r"the fact 'web.received' is b'one' \(a bytes\), but its Lab\(facts=...\) declares a list"):
        book["web.received"] = b"one"


def test_every_fact_an_expectation_reads_is_found_in_steps_checks_and_fact_checks():
    expectation = Expectation("x", steps=(
        Step("s", match=(F("udp.dport") == Fact("port"),), checks=(Check(F("udp.sport") != Fact("state"), "w"),)),
    ), facts=(Check((Fact("echoes") == Fact("web.received")) | ~(Fact("state") == "x"), "w"),))
    assert fact_names(expectation) == ["port", "state", "echoes", "web.received"]
    assert undeclared(expectation, SPECS) == ["port", "echoes"]


LAB_FILE = '''
from protolab.expect import Check, Expectation, Fact
from protolab.lab import Lab

def f(client):
    return 1

def expectation(topology, params):
    return Expectation("x", steps=(), facts=(Check(Fact("web.recieved") == 1, "web read it"),))

LAB = Lab(name="typo", title="t", summary="s", instructions="i", student=f, procedure=lambda ctx: None,
          expectation=expectation, columns=("client",), facts={{"web.received": "what web read"}}{extra})
'''


def test_the_catalogue_refuses_a_lab_whose_expectation_reads_an_undeclared_fact(tmp_path, monkeypatch):
    (tmp_path / "typo.py").write_text(textwrap.dedent(LAB_FILE.format(extra="")))
    monkeypatch.setenv("PROTOLAB_LABS", str(tmp_path))
    with pytest.raises(AuthorError, match=r"lab typo: its expectation checks Fact\('web.recieved'\), which Lab\(facts=...\) "
                                          r"does not declare \(declared: web.received\)"):
        load_lab("typo")


def test_every_lab_of_the_catalogue_declares_its_facts():
    from protolab.lab.catalog import lab_names

    assert lab_names()
    for name in lab_names():
        assert load_lab(name).name == name


def test_facts_inside_groups_and_alternatives_are_found():
    from protolab.expect import Either, InAnyOrder

    def step(name, fact):
        return Step(name, match=(F("ip.ttl") == Fact(fact),))

    expectation = Expectation("x", steps=(InAnyOrder("g", (step("a", "x"),)), Either("w", (step("b", "y"),), (step("c", "z"),))))
    assert fact_names(expectation) == ["x", "y", "z"]
