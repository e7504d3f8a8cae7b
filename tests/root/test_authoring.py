"""An author's first steps: `protolab new` writes a lab whose own test passes; the example lab is listed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.root
PROTOLAB = [sys.executable, "-m", "protolab.cli"]


def protolab(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*PROTOLAB, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def test_new_writes_a_lab_and_a_test_that_passes_as_written(tmp_path):
    folder = tmp_path / "course"
    made = protolab("new", "first_ping", "--dir", str(folder))
    assert made.returncode == 0, made.stderr
    lab, test = folder / "first_ping.py", folder / "test_first_ping.py"
    assert f"wrote {lab}" in made.stdout and f"wrote {test}" in made.stdout
    # the generated test runs the lab for real (reference and a wrong solution), from the author's folder
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                            capture_output=True, text=True, timeout=300, cwd=folder, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout
    # and the new lab is in that folder's catalogue (its test file is not a lab)
    listed = protolab("list", env={"PROTOLAB_LABS": str(folder)})
    assert listed.returncode == 0, listed.stderr
    assert "first_ping" in listed.stdout and "test_first_ping" not in listed.stdout
    shown = protolab("show", "first_ping", env={"PROTOLAB_LABS": str(folder)})
    assert "write `ping(client, server_ip, ttl)`" in shown.stdout


@pytest.mark.parametrize(("name", "words"), [
    ("Bad-Name", "'Bad-Name' is not a lab name"),
    ("test_x", "'test_x' is not a lab name"),
    ("class", "'class' is not a lab name"),
])
def test_new_refuses_a_bad_name_with_one_line_and_exit_2(tmp_path, name, words):
    result = protolab("new", name, "--dir", str(tmp_path))
    assert result.returncode == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_an_existing_file_and_writes_nothing(tmp_path):
    (tmp_path / "mine.py").write_text("# an author's lab\n")
    result = protolab("new", "mine", "--dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'mine.py'} already exists: choose another name (nothing was written)"
    assert (tmp_path / "mine.py").read_text() == "# an author's lab\n"
    assert not (tmp_path / "test_mine.py").exists()


def test_the_example_lab_of_the_guide_is_in_the_catalogue():
    result = protolab("list", cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert "udp_echo" in result.stdout and "Three hand-made datagrams to a real UDP echo service" in result.stdout
