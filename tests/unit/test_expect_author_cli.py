"""A lab file's mistake ends `protolab check` as a one-line error with exit code 2: never a FAIL
(exit 1) blamed on the student, never a traceback. Both kinds: a mistake the expectation shows
when it is built (an unknown field), and one that shows only while a capture is checked (a type error)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_offline_check import handshake_frames, write

ROOT = Path(__file__).resolve().parents[2]

LAB_FILE = '''
from dataclasses import replace

from protolab.expect import Expectation, F, Flags, Step, V
from protolab.lab.catalog import load_lab_file

BASE = load_lab_file({handshake!r})


def expectation(topology, params):
    return Expectation("broken", steps=(
        Step("SYN", match=(Flags("S"),), bind={{"who": "ip.src"}}),
        Step("SYN-ACK", match=({condition},)),
    ))


LAB = replace(BASE, name="broken", expectation=expectation, facts={{}})
'''


def check_with(tmp_path: Path, condition: str) -> subprocess.CompletedProcess:
    labs = tmp_path / "labs"
    labs.mkdir()
    (labs / "broken.py").write_text(LAB_FILE.format(handshake=str(ROOT / "labs" / "handshake.py"), condition=condition))
    pcap = write(tmp_path, handshake_frames(), None)
    env = {**os.environ, "PROTOLAB_LABS": str(labs)}
    return subprocess.run([sys.executable, "-m", "protolab.cli", "check", "broken", str(pcap)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


@pytest.mark.parametrize(("condition", "message"), [
    ('F("tcp.ack") == V("who") + 1',
     "error: the condition tcp.ack == who + 1 cannot be tested: who + 1 adds str and int "
     "(the lab file is wrong, not the student's code)"),
    ('F("tcp.seqq") == 1',
     "error: unknown field 'tcp.seqq' (did you mean tcp.seq?) — the fields are listed in docs/fields.md"),
])
def test_an_author_error_is_one_line_and_exit_2(tmp_path, condition, message):
    result = check_with(tmp_path, condition)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [message]
    assert "Traceback" not in result.stderr and "FAIL" not in result.stdout
