"""Suite-wide: a snapshot of the machine before any test, to prove nothing is left after."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class HostState:
    namespaces: frozenset[str]
    root_links: frozenset[str]
    ruleset: str
    ledger: frozenset[str]
    children: frozenset[int]


def host_state() -> HostState:
    def lines(*argv: str) -> list[str]:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    ledger = Path("/run/protolab/runs")
    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=False).stdout
    return HostState(
        namespaces=frozenset(lines("ip", "netns", "list")),
        root_links=frozenset(lines("ip", "-br", "link")),
        ruleset=nft,
        ledger=frozenset(p.name for p in ledger.iterdir()) if ledger.is_dir() else frozenset(),
        children=frozenset(_children(os.getpid())),
    )


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


@pytest.fixture(scope="session", autouse=True)
def baseline() -> HostState:
    """The machine as it was before the first test ran."""
    return host_state()
