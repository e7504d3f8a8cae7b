"""Runs last among the root tests: the suite must leave the machine as it found it."""

import pytest

from tests.conftest import host_state

pytestmark = pytest.mark.root


def test_suite_leaves_nothing_behind(baseline):
    now = host_state()
    assert now.namespaces - baseline.namespaces == set(), "network namespaces left behind"
    assert now.root_links - baseline.root_links == set(), "interfaces left in the root namespace"
    assert now.ruleset == baseline.ruleset, "the root namespace's firewall ruleset changed"
    assert now.ledger - baseline.ledger == set(), "runs still recorded in the ledger"
    assert now.children - baseline.children == set(), "child processes still running"
