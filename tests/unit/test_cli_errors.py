"""The CLI entry point: every error is one line, a bug exits 4 (never 1), Ctrl-C exits 130."""

from __future__ import annotations

import signal

import click
import pytest

from protolab import cli
from protolab.errors import TopologyError


@pytest.fixture(autouse=True)
def keep_signal_handlers(monkeypatch):
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    monkeypatch.setattr(cli, "_interrupted", False)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def exit_code_of(monkeypatch, raised: BaseException) -> int:
    def command(*args, **kwargs):
        raise raised

    monkeypatch.setattr(cli.cli, "main", command)
    with pytest.raises(SystemExit) as caught:
        cli.main()
    return caught.value.code


def test_an_unexpected_exception_is_an_internal_error_with_its_traceback_in_a_file(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("PROTOLAB_DEBUG", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    assert exit_code_of(monkeypatch, ZeroDivisionError("division by zero\nsecond line")) == cli.EXIT_INTERNAL == 4
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    assert line.startswith("internal error: ZeroDivisionError: division by zero; second line; please report it (traceback in ")
    (saved,) = tmp_path.glob("protolab-traceback-*.txt")
    assert line.endswith(f"traceback in {saved})")
    assert "Traceback (most recent call last)" in saved.read_text() and "ZeroDivisionError" in saved.read_text()


def test_protolab_debug_prints_the_traceback_instead(monkeypatch, capsys):
    monkeypatch.setenv("PROTOLAB_DEBUG", "1")
    assert exit_code_of(monkeypatch, KeyError("x")) == 4
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last)")
    assert err.splitlines()[-1] == "internal error: KeyError: 'x'; please report it (traceback above)"


def test_interrupts_exit_130_and_known_errors_exit_2(monkeypatch, capsys):
    assert exit_code_of(monkeypatch, KeyboardInterrupt()) == 130
    assert capsys.readouterr().err == "interrupted: everything this run created has been removed\n"
    assert exit_code_of(monkeypatch, TopologyError("t.toml: bad [/] thing\n  ^^^")) == 2
    assert capsys.readouterr().err == "error: t.toml: bad [/] thing; ^^^\n"  # markup-like text printed as is
    assert exit_code_of(monkeypatch, click.exceptions.Exit(3)) == 3


def test_a_second_signal_does_not_cut_the_clean_up_short(monkeypatch):
    monkeypatch.setattr(cli.cli, "main", lambda *a, **k: None)
    cli.main()  # installs the handlers
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGTERM, None)
    assert handler(signal.SIGINT, None) is None  # ignored while the first one unwinds


@pytest.mark.parametrize(
    ("value", "ok"),
    [("5", 5.0), ("0.1", 0.1), ("3600", 3600.0), ("nan", None), ("inf", None), ("-inf", None), ("0", None),
     ("1e9", None), ("soon", None)],
)
def test_timeout_seconds(value, ok):
    seconds = cli.Seconds(0.1, 3600)
    if ok is None:
        with pytest.raises(click.BadParameter):
            seconds.convert(value, None, None)
    else:
        assert seconds.convert(value, None, None) == ok


def test_output_checks(tmp_path):
    existing = tmp_path / "file"
    existing.write_text("x")
    with pytest.raises(cli.Failure, match="exists and is not a directory"):
        cli._check_out_dir(existing, "--out")
    with pytest.raises(cli.Failure, match=f"{existing} is not a directory"):
        cli._check_out_dir(existing / "sub", "--out")
    cli._check_out_dir(tmp_path / "new" / "deeper", "--out")  # created later, parents too
    with pytest.raises(cli.Failure, match="is a directory"):
        cli._check_out_file(tmp_path, "--junit", make_parents=True)
    with pytest.raises(cli.Failure, match="folder .*missing does not exist"):
        cli._check_out_file(tmp_path / "missing" / "f.yml", "-o", make_parents=False)
    cli._check_out_file(tmp_path / "missing" / "f.xml", "--junit", make_parents=True)
    assert not (tmp_path / "missing").exists()  # checking creates nothing
    assert cli.one_line("a\n\n  b  \n") == "a; b" and cli.one_line("") == "(no message)"
