"""Whose runs: the user under sudo, else the real uid; a record of before the field is root's."""

from __future__ import annotations

import json
import os

from protolab.backends import ledger


def test_sudo_uid_names_the_user_when_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("SUDO_UID", "61001")
    assert ledger.invoking_user() == (61001, "uid 61001")
    assert not ledger.is_root_itself()


def test_without_sudo_the_real_uid(monkeypatch):
    monkeypatch.delenv("SUDO_UID", raising=False)
    monkeypatch.setattr(os, "getuid", lambda: 0)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert ledger.invoking_user() == (0, "root") and ledger.is_root_itself()


def test_sudo_uid_is_ignored_unless_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    monkeypatch.setenv("SUDO_UID", "0")  # a user cannot claim another's runs by setting it
    assert ledger.invoking_user()[0] == 1000


def test_own_records_keep_to_the_invoking_user(monkeypatch, tmp_path):
    monkeypatch.setattr(ledger, "LEDGER_DIR", tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    for uid in ("61001", "61002"):
        monkeypatch.setenv("SUDO_UID", uid)
        ledger.new_record(f"run{uid}", "netns", "default", True)
    old = json.loads((tmp_path / "run61001.json").read_text())
    del old["owner_uid"], old["owner_name"]
    (tmp_path / "old000.json").write_text(json.dumps({**old, "run_id": "old000"}))
    assert [r.run_id for r in ledger.own_records()] == ["run61002"]
    monkeypatch.setenv("SUDO_UID", "61001")
    assert [(r.run_id, r.owner_name) for r in ledger.own_records()] == [("run61001", "uid 61001")]
    monkeypatch.delenv("SUDO_UID")
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert [r.run_id for r in ledger.own_records()] == ["old000"]
