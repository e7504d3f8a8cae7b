"""The `protolab` command line.

Exit codes: 0 the lab passed; 1 it failed; 2 usage or environment error (a
bad option, file or parameter, no root, a broken topology); 3 inconclusive
(the capture lost frames); 4 internal error (a bug in protolab: the
traceback is written to a file named in the message, or printed with
PROTOLAB_DEBUG=1); 130 interrupted (Ctrl-C, SIGTERM, SIGHUP), after removing
what the run created. Nothing here prints a traceback for a known error: each
becomes one line on stderr.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from .errors import ProtolabError

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
MAX_TIMEOUT = 3600.0  # seconds: a student's function that needs longer is hung

console = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line


class Failure(click.ClickException):
    """A one-line error with exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:
        _print_error(self.message)


def one_line(message: object) -> str:
    """A message on one line: its non-blank lines joined (an error stays one line)."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return "; ".join(lines) or "(no message)"


def _print_error(message: object, suffix: str = "") -> None:
    err.print(f"[bold red]error:[/] {escape(one_line(message))}{escape(suffix)}", markup=True)


class Seconds(click.ParamType):
    """A finite number of seconds within bounds (click's FloatRange lets nan through)."""

    name = "seconds"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, float):
            seconds = value
        else:
            try:
                seconds = float(value)
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not (math.isfinite(seconds) and self.low <= seconds <= self.high):
            self.fail(f"{value} is not between {self.low:g} and {self.high:g} seconds", param, ctx)
        return seconds


def _check_out_dir(path: Path, option: str) -> None:
    """Fail now, before anything is built, if `path` cannot become a directory of results."""
    if path.exists() and not path.is_dir():
        raise Failure(f"{option} {path}: exists and is not a directory")
    _check_writable_ancestor(path, option)


def _check_out_file(path: Path, option: str, *, make_parents: bool) -> None:
    """Fail now if a file cannot be written at `path` (a directory, a missing folder, no permission)."""
    if path.is_dir():
        raise Failure(f"{option} {path}: is a directory (name a file)")
    if not make_parents and not path.parent.is_dir():
        raise Failure(f"{option} {path}: folder {path.parent} does not exist")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise Failure(f"{option} {path}: not writable")
        return
    _check_writable_ancestor(path.parent, option, named=path)


def _check_writable_ancestor(path: Path, option: str, named: Path | None = None) -> None:
    probe = path.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise Failure(f"{option} {named or path}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise Failure(f"{option} {named or path}: cannot write in {probe}")


def _write_junit(path: Path, *args, **kwargs) -> None:
    from .report.junit import write_junit

    try:
        write_junit(path, *args, **kwargs)
    except OSError as exc:
        raise Failure(f"cannot write --junit {path}: {exc.strerror or exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="protolab")
def cli() -> None:
    """protolab: craft, sniff and check real frames in an isolated lab network."""


@cli.command("list")
def list_labs() -> None:
    """List the labs in the catalogue."""
    from rich.table import Table

    from .lab.catalog import lab_names, labs_dir, load_lab

    table = Table(title=f"labs in {labs_dir()}", title_justify="left", box=None, pad_edge=False)
    table.add_column("lab", style="bold cyan")
    table.add_column("what it does")
    for name in lab_names():
        table.add_row(name, load_lab(name).summary)
    console.print(table)


@cli.command("new")
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=None,
              help="Folder to write in (default: the labs folder, $PROTOLAB_LABS or ./labs).")
def new_lab(name: str, folder: Path | None) -> None:
    """Write a working skeleton lab NAME.py and its pytest file test_NAME.py (see docs/authoring.md)."""
    from .lab.catalog import labs_dir
    from .lab.skeleton import write_skeleton

    lab, test = write_skeleton(name, folder if folder is not None else labs_dir())
    console.print(f"wrote {lab}\nwrote {test}\nnext: sudo protolab run {name}   (with PROTOLAB_LABS={lab.parent} "
                  f"if that is not your labs folder); sudo pytest {test}", markup=False, soft_wrap=True)


@cli.command()
@click.argument("lab_name", metavar="LAB")
def show(lab_name: str) -> None:
    """Print a lab's instructions."""
    from .lab.catalog import load_lab

    lab = load_lab(lab_name)
    console.print(f"[bold]{escape(lab.name)}[/] — {escape(lab.title)}\n")
    console.print(lab.instructions, markup=False, soft_wrap=True)  # keep the author's line breaks
    import textwrap

    console.print(textwrap.fill(lab.where_text(), width=78) + "\n", markup=False, soft_wrap=True)
    console.print(f"time limit: {lab.timeout:g} s per call of {lab.student_name}() (--timeout changes it)", markup=False)
    if lab.params:
        console.print("parameters (--set KEY=VALUE; the default, what it means):", markup=False)
        for line in lab.parameter_lines():
            console.print(f"  {line}", markup=False, soft_wrap=True)
    console.print(f"lab file: {lab.source}", markup=False)


@cli.command()
@click.argument("lab_name", metavar="LAB")
@click.option("--solution", type=click.Path(path_type=Path), help="A student's file to run instead of the reference.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Override a lab parameter (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), help="Directory for the pcap and JSON report.")
@click.option("--fresh", is_flag=True, help="Deploy a new topology even if one is up.")
@click.option("--timeout", type=Seconds(0.1, MAX_TIMEOUT), help="Seconds the student's function may take (default: the lab's).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line.")
@click.option("--timings", is_flag=True, help="Print how long each phase took.")
@click.option("--junit", type=click.Path(path_type=Path), help="Also write the verdict as JUnit XML (for CI).")
@click.option("--backend", type=click.Choice(["netns", "compose"]), envvar="PROTOLAB_BACKEND",
              help="netns: namespaces built for the run; compose: the running container stack (default inside a lab container).")
@click.option("--student", metavar="ID", default=None, help="This student's variant of the lab (ports and the like drawn from ID and the course seed).")
@click.option("--course-seed", "seed", metavar="SEED", envvar="PROTOLAB_COURSE_SEED", default=None,
              help="The course's seed for --student variants (default: $PROTOLAB_COURSE_SEED).")
def run(lab_name: str, solution: Path | None, settings: tuple[str, ...], out: Path | None, fresh: bool, timeout: float | None, quiet: bool, timings: bool, junit: Path | None, backend: str | None,
        student: str | None, seed: str | None) -> None:
    """Run LAB on the lab network and check what crossed the wire."""
    start = time.perf_counter()
    from .lab.catalog import load_lab
    from .lab.runner import RunOptions, parse_params, run_lab
    from .report.terminal import print_quiet, print_report

    from .lab.variants import course_seed, merged_params

    params = _settings(settings)
    lab = load_lab(lab_name)
    parse_params(lab, merged_params(lab, student, course_seed(seed), params))  # a bad --set fails before anything is built
    if out is not None:
        _check_out_dir(out, "--out")  # so does an --out or --junit that cannot be written
    if junit is not None:
        _check_out_file(junit, "--junit", make_parents=True)
    if not quiet:
        console.print(f"[bold]{escape(lab.name)}[/] — {escape(lab.title)}")
    say = None if quiet else (lambda text: console.print(f"  • {text}", markup=False, soft_wrap=True))
    imports = time.perf_counter() - start
    result = run_lab(lab, RunOptions(solution=solution, params=params, out_dir=out, fresh=fresh, timeout=timeout, backend=backend,
                                     on_say=say, student=student, seed=seed))
    verdict = result.verdict
    if not quiet:
        where = "the topology that is up" if result.reused else "a fresh topology"
        console.print(f"  (run {result.run_id} on {where})\n")
        print_report(console, trace=result.trace, verdict=verdict, columns=lab.columns, title=lab.title,
                     views=lab.views, topology=result.topology)
        _print_student_output(result)
        console.print(f"pcap:   {result.pcap}\nreport: {result.report}\npage:   {result.html}",
                      markup=False, soft_wrap=True)  # paths stay whole
    else:
        print_quiet(console, lab.name, verdict)
    if junit:
        _write_junit(junit, verdict, lab.name, sum(result.timings.values()))
    if timings:
        phases = {"imports": imports, **result.timings, "total": time.perf_counter() - start}
        console.print("timings: " + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in phases.items()))
    sys.exit(_exit_code(verdict))


def _print_student_output(result, lines: int = 15) -> None:
    """The head of what the student's code printed (all of what was kept is in the run folder)."""
    output = result.student_output
    if output is None or not output.total:
        return
    text = output.text().splitlines()
    shown = text[:lines]
    more = f", first {len(shown)} lines of {len(text)}" if len(text) > len(shown) or output.cut else ""
    console.print(f"your code printed ({output.total} bytes{more}):", style="bold")
    for line in shown:
        console.print("  │ " + line[:200], markup=False, highlight=False, style="dim")


@cli.command("check")
@click.argument("lab_name", metavar="LAB")
@click.argument("pcap", type=click.Path(path_type=Path))
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Lab parameters the capture was made with (default: what the capture says, if a run wrote it).")
@click.option("--as", "roles", multiple=True, metavar="NODE=ADDRESS|LINK=IFACE",
              help="For a capture from another network: a lab node's address there, or which capture "
                   "interface is one of the lab's links (repeatable).")
@click.option("--junit", type=click.Path(path_type=Path), help="Also write the verdict as JUnit XML (for CI).")
@click.option("--html", type=click.Path(path_type=Path), help="Also write the report page (ladder, frames, verdict) here.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line and the first failure.")
@click.option("--student", metavar="ID", default=None, help="This student's variant of the lab (ports and the like drawn from ID and the course seed).")
@click.option("--course-seed", "seed", metavar="SEED", envvar="PROTOLAB_COURSE_SEED", default=None,
              help="The course's seed for --student variants (default: $PROTOLAB_COURSE_SEED).")
def check_cmd(lab_name: str, pcap: Path, settings: tuple[str, ...], roles: tuple[str, ...], junit: Path | None,
              html: Path | None, quiet: bool, student: str | None, seed: str | None) -> None:
    """Check a capture (PCAP: pcap or pcapng, gzip or not, from a run, tcpdump, dumpcap or Wireshark)
    against LAB's expectations, offline."""
    from .lab.catalog import load_lab
    from .lab.offline import check_capture
    from .report.terminal import print_quiet, print_report

    lab = load_lab(lab_name)
    for path, option in ((junit, "--junit"), (html, "--html")):
        if path is not None:
            _check_out_file(path, option, make_parents=True)
    result = check_capture(lab, pcap, _settings(settings), student, seed, roles)
    verdict, trace = result.verdict, result.trace
    if quiet:
        print_quiet(console, lab.name, verdict)
    else:
        for warning in result.warnings:
            console.print(f"! {warning}", style="yellow", markup=False, soft_wrap=True)
        print_report(console, trace=trace, verdict=verdict, columns=lab.columns, title=f"{lab.title} (offline: {pcap.name})",
                     views=lab.views, topology=result.topology)
    if junit:
        _write_junit(junit, verdict, lab.name)
    if html:
        from .report.html import write_html

        write_html(html, title=f"{lab.title} (offline: {pcap.name})", trace=trace, verdict=verdict, columns=lab.columns,
                   pcap=os.path.relpath(pcap.resolve(), html.resolve().parent), lab=lab.name,
                   run_id=result.run.run_id if result.run else "", notes=result.warnings)
    sys.exit(_exit_code(verdict))


def _settings(settings: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise Failure(f"--set takes KEY=VALUE, got {item!r}")
        params[key.strip()] = value.strip()
    return params


def _exit_code(verdict) -> int:
    return {"PASS": EXIT_PASS, "FAIL": EXIT_FAIL, "INCONCLUSIVE": EXIT_INCONCLUSIVE}[verdict.status.value]


def _topology_option(topology: Path | None, lab_name: str | None):
    """The topology named by --topology FILE or --lab LAB (the default if neither), and its ledger source."""
    from .lab.network import DEFAULT_SOURCE, lab_topology, topology_source
    from .topology import load

    if topology is not None and lab_name:
        raise Failure("give --topology or --lab, not both")
    if lab_name:
        from .lab.catalog import load_lab

        lab = load_lab(lab_name)
        return lab_topology(lab), topology_source(lab)
    return load(topology), str(topology.resolve()) if topology else DEFAULT_SOURCE


@cli.command()
@click.option("--topology", type=click.Path(path_type=Path), help="Topology file (default: the packaged one).")
@click.option("--lab", "lab_name", metavar="LAB", help="The topology LAB runs on (for a lab that declares its own).")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("docker-compose.yml"), show_default=True, help="Where to write it.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file differs from what the topology gives.")
def compose(topology: Path | None, lab_name: str | None, output: Path, check: bool) -> None:
    """Write docker-compose.yml for the topology: one container per node, and a lan-switch that wires them (one bridge per LAN)."""
    from .backends.compose_file import render, write

    if output.is_dir():
        raise Failure(f"--output {output}: is a directory (name the file to write, e.g. {output / 'docker-compose.yml'})")
    if not check:
        _check_out_file(output, "--output", make_parents=False)
    topo, source = _topology_option(topology, lab_name)
    if check:
        try:
            current = output.read_text(encoding="utf-8") if output.is_file() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise Failure(f"cannot read {output}: {getattr(exc, 'strerror', None) or exc}") from None
        if current != render(topo, source):
            console.print(f"{output} is stale: run 'protolab compose' to regenerate it", markup=False)
            sys.exit(EXIT_FAIL)
        console.print(f"{output} is up to date", markup=False)
        return
    try:
        changed = write(output, topo, source)
    except OSError as exc:
        raise Failure(f"cannot write {output}: {exc.strerror or exc}") from None
    console.print(f"{'wrote' if changed else 'unchanged:'} {output} ({len(topo.nodes)} nodes and the lan-switch, {len(topo.lans)} LANs, no engine network)", markup=False)


class _GradeCommands(click.Group):
    """`grade LAB SUBMISSIONS` (the default) and `grade merge OUT SHARD...`."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "lab", self.commands["lab"], args
        return super().resolve_command(ctx, args)


@cli.group(cls=_GradeCommands)
def grade() -> None:
    """Grade a class: protolab grade LAB SUBMISSIONS [OPTIONS], or protolab grade merge OUT SHARD...

    Every submission in SUBMISSIONS (STUDENT.py or STUDENT/) runs confined,
    with partial credit. Writes gradebook.csv, junit.xml, summary.txt/.json
    and, per student, results.json (Gradescope), the verdict with its ladder,
    the pcap and the report. Exit 0 when every submission was graded, 4 if the
    grader failed on one. See 'protolab grade lab --help' for the options."""


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise Failure(f"--shard {text!r}: expected K/N with 1 <= K <= N, like 2/4")
    return int(k), int(n)


@grade.command("lab", hidden=True)
@click.argument("lab_name", metavar="LAB")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the gradebook and feedback (default: ./protolab-grades/LAB).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Submissions graded at once (default: the number of cores).")
@click.option("--force", is_flag=True, help="Grade again what this folder already holds a result for.")
@click.option("--shard", "shard_text", metavar="K/N", default=None,
              help="Grade only slice K of N (every N-th submission by student id, from the K-th); merge the shards' folders with 'protolab grade merge'.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; only the summary's first line.")
@click.option("--course-seed", "seed", metavar="SEED", envvar="PROTOLAB_COURSE_SEED", default=None,
              help="The course's seed: every student runs their own variant of a lab that has variants.")
def grade_lab(lab_name: str, submissions: Path, out: Path | None, workers: int | None, force: bool,
              shard_text: str | None, quiet: bool, seed: str | None) -> None:
    """Grade every submission in SUBMISSIONS for LAB."""
    import os

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .grade.batch import Batch
    from .grade.outputs import write_all
    from .grade.submissions import discover
    from .lab.catalog import load_lab

    if os.geteuid() != 0:
        raise Failure("grading needs root (each worker builds a lab network); run with sudo")
    shard = _shard(shard_text)
    lab = load_lab(lab_name)
    found = discover(submissions, lab.name)
    if shard is not None:
        found = found[shard[0] - 1::shard[1]]
    out = out or Path.cwd() / "protolab-grades" / lab.name
    _check_out_dir(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    batch = Batch(lab, out, workers or os.cpu_count() or 1, force, hide=(submissions.resolve(),), seed=seed)
    with Progress(TextColumn("grading {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[tally]}"), TimeRemainingColumn(), console=console,
                  disable=quiet, transient=True) as progress:
        task = progress.add_task(lab.name, total=len(found), tally="")
        counts: dict[str, int] = {}

        def advance(result: dict) -> None:
            counts[result["status"]] = counts.get(result["status"], 0) + 1
            progress.update(task, advance=1, tally="  ".join(f"{k} {v}" for k, v in sorted(counts.items())))

        batch.on_result = advance
        batch.run(found)
    summary = write_all(out, lab.name, batch.results, batch.lab_version)
    text = (out / "summary.txt").read_text()
    console.print(text.splitlines()[0] if quiet else text, markup=False, highlight=False)
    if not quiet:
        console.print(f"gradebook: {out / 'gradebook.csv'}", markup=False, soft_wrap=True)
    if batch.interrupted:
        err.print(f"interrupted: {len(batch.results)} of {len(found)} graded; run the same command to go on")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_INTERNAL if summary["errors"] else EXIT_PASS)


@grade.command("merge")
@click.argument("out", type=click.Path(path_type=Path))
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
def grade_merge(out: Path, shards: tuple[Path, ...]) -> None:
    """Merge the folders of `grade --shard` runs into OUT: one gradebook, JUnit file and summary."""
    from .grade.outputs import merge

    _check_out_dir(out, "OUT")
    summary = merge(out, list(shards))
    console.print((out / "summary.txt").read_text().splitlines()[0], markup=False, highlight=False)
    sys.exit(EXIT_INTERNAL if summary["errors"] else EXIT_PASS)


@cli.command()
@click.option("--topology", type=click.Path(path_type=Path), help="Topology file (default: the packaged one).")
@click.option("--lab", "lab_name", metavar="LAB", help="The topology LAB runs on (for a lab that declares its own).")
def up(topology: Path | None, lab_name: str | None) -> None:
    """Bring the lab network up and leave it up (labs then run on it)."""
    from .backends import get_backend

    topo, source = _topology_option(topology, lab_name)
    deployment = get_backend("netns").deploy(topo, source=source)
    deployment.keep_up()  # only once complete: a half-built run stays a leftover for `clean`
    console.print(f"up: run {deployment.run_id} ({len(topo.nodes)} nodes, {len(topo.lans)} LANs); "
                  f"'protolab down {deployment.run_id}' removes it")


@cli.command()
@click.argument("run_id", required=False)
def down(run_id: str | None) -> None:
    """Remove a topology you brought up with `protolab up`."""
    from .backends.ledger import all_records, own_records
    from .backends.removal import destroy

    mine = own_records()
    persistent = [r for r in mine if r.persistent]
    if run_id:
        chosen = [r for r in mine if r.run_id == run_id]
        if not chosen:
            other = next((r for r in all_records() if r.run_id == run_id), None)
            if other is not None:
                raise Failure(f"run {run_id} belongs to {other.owner_name or f'uid {other.owner_uid}'}, not to you: "
                              "only its owner (or root's 'protolab clean --all') removes it")
            raise Failure(f"no run {run_id} (see 'protolab status')")
    elif len(persistent) > 1:
        raise Failure(f"{len(persistent)} topologies are up ({', '.join(r.run_id for r in persistent)}): name one")
    else:
        chosen = persistent
    if not chosen:
        console.print("nothing is up")
        return
    _require_root()
    for record in chosen:
        _destroy_unless_in_use(record, destroy)
        console.print(f"down: run {record.run_id} removed")


@cli.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--run", "run_id", help="The run to enter (default: the newest topology you brought up).")
@click.option("--dns", is_flag=True, help="Run the lab's DNS servers (NSD, Unbound) while the command runs.")
@click.argument("node_name", metavar="NODE")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_cmd(run_id: str | None, dns: bool, node_name: str, command: tuple[str, ...]) -> None:
    """Run COMMAND inside NODE of a topology that is up, e.g. `protolab exec client -- ip neigh`.

    The command sees the node's network only, and an /etc/resolv.conf naming
    the lab's resolver (bind-mounted for the command alone). With --dns the
    DNS hierarchy answers meanwhile: `protolab exec --dns client -- dig +trace www.example.lab`."""
    from contextlib import nullcontext

    from .backends import get_backend
    from .backends.ledger import own_records
    from .servers.resolvconf import with_resolver

    if command[:1] == ("--",):
        command = command[1:]
    if not command:
        raise Failure("name a command to run, e.g. protolab exec client -- ip neigh")
    _require_root()
    up = [r for r in own_records() if r.persistent and (run_id is None or r.run_id == run_id)]
    if not up:
        raise Failure(f"no run {run_id} is up among your topologies" if run_id else "no topology of yours is up: run 'protolab up' first")
    deployment = get_backend(up[-1].backend).attach(up[-1])
    node = deployment.node(node_name)
    resolvers = [str(n.ip) for n in deployment.topology.nodes if n.role == "dns-resolver"]
    inner = with_resolver(node, command, resolvers or ["127.0.0.1"])
    if dns:
        from .servers.hierarchy import DnsServers
    servers = DnsServers(deployment) if dns else nullcontext()
    with servers:  # started before the command, stopped (and waited for) after it
        code = node.call(inner)
    sys.exit(code)


@cli.command()
def status() -> None:
    """Show your runs that are up and what they own."""
    from rich.table import Table

    from .backends.ledger import all_records, own_records

    records = own_records()
    others = len(all_records()) - len(records)
    hidden = f" ({others} run(s) of other users not shown)" if others else ""
    if not records:
        console.print(f"no protolab run of yours is up{hidden}", markup=False)
        return
    table = Table(box=None, pad_edge=False)
    for col in ("run", "kind", "owner", "pid", "namespaces", "processes", "since"):
        table.add_column(col, no_wrap=True)
    for r in records:
        kind = "up" if r.persistent else "lab run"
        pid = "—" if r.persistent else (f"{r.owner_pid}" + ("" if r.owner_alive() else " (gone: leftover)"))
        table.add_row(r.run_id, kind, r.owner_name or f"uid {r.owner_uid}", pid, str(len(r.namespaces)),
                      str(len(r.processes)), time.strftime("%H:%M:%S", time.localtime(r.created)))
    console.print(table)
    if hidden:
        console.print(hidden.strip(" ()"), markup=False)


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Also remove topologies brought up with `protolab up` (as root itself: every user's).")
def clean(everything: bool) -> None:
    """Remove what your crashed or killed runs left behind (only what protolab recorded creating);
    root itself (not a user under sudo) with --all removes every user's."""
    from .backends.ledger import all_records, is_root_itself, own_records
    from .backends.removal import destroy

    records = all_records() if everything and is_root_itself() else own_records()
    leftovers = [r for r in records if not r.owner_alive() and (everything or not r.persistent)]
    if not leftovers:
        console.print("nothing to clean")
        return
    _require_root()
    busy = []
    for record in leftovers:
        try:
            removed = _destroy_unless_in_use(record, destroy)
        except Failure as exc:
            busy.append(exc.message)
            continue
        console.print(f"clean: run {record.run_id}: removed {len(removed)} object(s)")
    if busy:
        raise Failure("; ".join(busy))


def _destroy_unless_in_use(record, destroy) -> list[str]:
    """Destroy a run's topology while holding its lock; refuse if a lab run holds it."""
    from .backends.ledger import lock_for_removal, lock_holder

    fd = lock_for_removal(record)
    if fd is None:
        raise Failure(f"run {record.run_id} is in use by {lock_holder(record)}: try again when that has finished")
    try:
        return destroy(record)
    finally:
        os.close(fd)


def _require_root() -> None:
    import os

    if os.geteuid() != 0:
        raise Failure("this needs root (it removes network namespaces)")


_interrupted = False


def _interrupt(signum, frame) -> None:
    """The first Ctrl-C/SIGTERM/SIGHUP unwinds the run (every `with` and `finally`
    removes what it made); later ones are ignored so they cannot cut that short."""
    global _interrupted
    if _interrupted:
        return
    _interrupted = True
    raise KeyboardInterrupt


def _internal_error(exc: BaseException) -> int:
    """A bug: one line naming it and where its traceback went; exit code 4."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    if os.environ.get("PROTOLAB_DEBUG") == "1":
        sys.stderr.write(text)
        where = "traceback above"
    else:
        try:
            fd, name = tempfile.mkstemp(prefix="protolab-traceback-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            where = f"traceback in {name}"
        except OSError:
            where = "run with PROTOLAB_DEBUG=1 to see the traceback"
    summary = one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    err.print(f"internal error: {summary}; please report it ({where})", markup=False)
    return EXIT_INTERNAL


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        cli.main(prog_name="protolab", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "protolab"
        _print_error(exc.format_message(), f" (see '{command} --help')")
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err.print("interrupted: everything this run created has been removed")
        sys.exit(EXIT_INTERRUPTED)
    except ProtolabError as exc:
        _print_error(exc)
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - a bug must not pass for a failed lab (exit 1)
        sys.exit(_internal_error(exc))


if __name__ == "__main__":
    main()
