"""The `protolab` command line.

Exit codes: 0 the lab passed; 1 it failed; 3 inconclusive (the capture lost
frames); 2 usage or environment error. Nothing here prints a traceback for a
known error: each becomes one line on stderr.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from .errors import ProtolabError

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3

console = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line


class Failure(click.ClickException):
    """A one-line error with exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:
        err.print(f"[bold red]error:[/] {self.message}", markup=True)


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


@cli.command()
@click.argument("lab_name", metavar="LAB")
def show(lab_name: str) -> None:
    """Print a lab's instructions."""
    from .lab.catalog import load_lab

    lab = load_lab(lab_name)
    console.print(f"[bold]{lab.name}[/] — {lab.title}\n")
    console.print(lab.instructions, markup=False, soft_wrap=True)  # keep the author's line breaks
    if lab.params:
        console.print("parameters (--set KEY=VALUE): " + ", ".join(f"{k}={v!r}" for k, v in lab.params.items()))
    console.print(f"lab file: {lab.source}")


@cli.command()
@click.argument("lab_name", metavar="LAB")
@click.option("--solution", type=click.Path(path_type=Path), help="A student's file to run instead of the reference.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Override a lab parameter (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), help="Directory for the pcap and JSON report.")
@click.option("--fresh", is_flag=True, help="Deploy a new topology even if one is up.")
@click.option("--timeout", type=click.FloatRange(min=0.1), help="Seconds the student's function may take (default: the lab's).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line.")
@click.option("--timings", is_flag=True, help="Print how long each phase took.")
@click.option("--junit", type=click.Path(path_type=Path), help="Also write the verdict as JUnit XML (for CI).")
@click.option("--backend", type=click.Choice(["netns", "compose"]), envvar="PROTOLAB_BACKEND",
              help="netns: namespaces built for the run; compose: the running container stack (default inside a lab container).")
def run(lab_name: str, solution: Path | None, settings: tuple[str, ...], out: Path | None, fresh: bool, timeout: float | None, quiet: bool, timings: bool, junit: Path | None, backend: str | None) -> None:
    """Run LAB on the lab network and check what crossed the wire."""
    start = time.perf_counter()
    from .lab.catalog import load_lab
    from .lab.runner import RunOptions, parse_params, run_lab
    from .report import render_ladder, render_verdict

    params = _settings(settings)
    lab = load_lab(lab_name)
    parse_params(lab, params)  # a bad --set fails before anything is printed or built
    if not quiet:
        console.print(f"[bold]{lab.name}[/] — {lab.title}")
    say = None if quiet else (lambda text: console.print(f"  • {text}", markup=False))
    imports = time.perf_counter() - start
    result = run_lab(lab, RunOptions(solution=solution, params=params, out_dir=out, fresh=fresh, timeout=timeout, backend=backend, on_say=say))
    verdict = result.verdict
    if not quiet:
        where = "the topology that is up" if result.reused else "a fresh topology"
        console.print(f"  (run {result.run_id} on {where})\n")
        console.print(render_ladder(result.trace, verdict, lab.columns, title=lab.title))
        console.print()
        for view in lab.views:
            console.print(view(result.trace, result.topology))
            console.print()
        console.print(render_verdict(verdict))
        console.print(f"pcap:   {result.pcap}\nreport: {result.report}", markup=False, soft_wrap=True)  # paths stay whole
    else:
        console.print(f"{lab.name}: {verdict.status.value}")
    if junit:
        from .report.junit import write_junit

        write_junit(junit, verdict, lab.name, sum(result.timings.values()))
    if timings:
        phases = {"imports": imports, **result.timings, "total": time.perf_counter() - start}
        console.print("timings: " + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in phases.items()))
    sys.exit(_exit_code(verdict))


@cli.command("check")
@click.argument("lab_name", metavar="LAB")
@click.argument("pcap", type=click.Path(path_type=Path))
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Lab parameters the capture was made with.")
@click.option("--junit", type=click.Path(path_type=Path), help="Also write the verdict as JUnit XML (for CI).")
def check_cmd(lab_name: str, pcap: Path, settings: tuple[str, ...], junit: Path | None) -> None:
    """Check a stored capture (PCAP, written by a run) against LAB's expectations, offline."""
    from .lab.catalog import load_lab
    from .lab.runner import check_pcap
    from .report import render_ladder, render_verdict

    lab = load_lab(lab_name)
    verdict, trace = check_pcap(lab, pcap, _settings(settings))
    console.print(render_ladder(trace, verdict, lab.columns, title=f"{lab.title} (offline: {pcap.name})"))
    console.print()
    if lab.views:
        from .topology import load

        for view in lab.views:
            console.print(view(trace, load()))
            console.print()
    console.print(render_verdict(verdict))
    if junit:
        from .report.junit import write_junit

        write_junit(junit, verdict, lab.name)
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


@cli.command()
@click.option("--topology", type=click.Path(path_type=Path), help="Topology file (default: the packaged one).")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("docker-compose.yml"), show_default=True, help="Where to write it.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file differs from what the topology gives.")
def compose(topology: Path | None, output: Path, check: bool) -> None:
    """Write docker-compose.yml for the topology: one container per node, one internal network per LAN."""
    from .backends.compose_file import render, write
    from .topology import load

    topo = load(topology)
    source = str(topology.resolve()) if topology else "default"
    if check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != render(topo, source):
            console.print(f"{output} is stale: run 'protolab compose' to regenerate it")
            sys.exit(EXIT_FAIL)
        console.print(f"{output} is up to date")
        return
    changed = write(output, topo, source)
    console.print(f"{'wrote' if changed else 'unchanged:'} {output} ({len(topo.nodes)} services, {len(topo.lans)} internal networks)")


@cli.command("node-init", hidden=True)
@click.argument("node_name", metavar="NODE")
def node_init(node_name: str) -> None:
    """Inside a lab container: become NODE of the topology (the containers' command)."""
    import os

    from .backends.compose_file import ENV_NODE, ENV_TOPOLOGY
    from .backends.node_init import init_node
    from .topology import load

    if os.environ.get(ENV_NODE) != node_name:  # it renames interfaces and routes: never on a host
        raise Failure(f"node-init is a lab container's command: it runs only where {ENV_NODE}={node_name}")
    topo = load(os.environ.get(ENV_TOPOLOGY) or None)
    try:
        node = topo.node(node_name)
    except KeyError:
        raise Failure(f"topology '{topo.name}' has no node '{node_name}'") from None
    init_node(node)


@cli.command()
@click.option("--topology", type=click.Path(path_type=Path), help="Topology file (default: the packaged one).")
def up(topology: Path | None) -> None:
    """Bring the lab network up and leave it up (labs then run on it)."""
    from .backends import get_backend
    from .topology import load

    topo = load(topology)
    deployment = get_backend("netns").deploy(topo, source=str(topology.resolve()) if topology else "default")
    deployment.record.persistent = True  # only once complete: a half-built run stays a leftover for `clean`
    deployment.record.save()
    console.print(f"up: run {deployment.run_id} ({len(topo.nodes)} nodes, {len(topo.lans)} LANs); 'protolab down' removes it")


@cli.command()
@click.argument("run_id", required=False)
def down(run_id: str | None) -> None:
    """Remove a topology brought up with `protolab up`."""
    from .backends.ledger import all_records
    from .backends.netns import destroy

    persistent = [r for r in all_records() if r.persistent]
    if run_id:
        chosen = [r for r in all_records() if r.run_id == run_id]
        if not chosen:
            raise Failure(f"no run {run_id} (see 'protolab status')")
    elif len(persistent) > 1:
        raise Failure(f"{len(persistent)} topologies are up ({', '.join(r.run_id for r in persistent)}): name one")
    else:
        chosen = persistent
    if not chosen:
        console.print("nothing is up")
        return
    for record in chosen:
        _require_root()
        destroy(record)
        console.print(f"down: run {record.run_id} removed")


@cli.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--run", "run_id", help="The run to enter (default: the newest topology that is up).")
@click.option("--dns", is_flag=True, help="Run the lab's DNS servers (NSD, Unbound) while the command runs.")
@click.argument("node_name", metavar="NODE")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_cmd(run_id: str | None, dns: bool, node_name: str, command: tuple[str, ...]) -> None:
    """Run COMMAND inside NODE of a topology that is up, e.g. `protolab exec client -- ip neigh`.

    The command sees the node's network only, and an /etc/resolv.conf naming
    the lab's resolver (bind-mounted for the command alone). With --dns the
    DNS hierarchy answers meanwhile: `protolab exec --dns client -- dig +trace www.example.lab`."""
    import subprocess
    from contextlib import nullcontext

    from .backends import get_backend
    from .backends.ledger import all_records
    from .services.resolvconf import MOUNT_AND_RUN, resolv_conf

    if command[:1] == ("--",):
        command = command[1:]
    if not command:
        raise Failure("name a command to run, e.g. protolab exec client -- ip neigh")
    _require_root()
    up = [r for r in all_records() if r.persistent and (run_id is None or r.run_id == run_id)]
    if not up:
        raise Failure(f"no run {run_id} is up" if run_id else "no topology is up: run 'protolab up' first")
    deployment = get_backend(up[-1].backend).attach(up[-1])
    node = deployment.node(node_name)
    resolvers = [str(n.ip) for n in deployment.topology.nodes if n.role == "dns-resolver"]
    conf = deployment.workdir / f"resolv.conf.{node.name}"
    conf.write_text(resolv_conf(resolvers or ["127.0.0.1"]))
    inner = ["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNT_AND_RUN, str(conf), *command]
    if dns:
        from .services.hierarchy import DnsServers
    servers = DnsServers(deployment) if dns else nullcontext()
    try:
        with servers:  # started before the command, stopped (and waited for) after it
            code = subprocess.call(deployment.nsenter(node, inner))
    except FileNotFoundError as exc:
        raise Failure(f"cannot run nsenter: {exc.strerror}") from None
    sys.exit(code)


@cli.command()
def status() -> None:
    """Show the runs that are up and what they own."""
    from rich.table import Table

    from .backends.ledger import all_records

    records = all_records()
    if not records:
        console.print("no protolab run is up")
        return
    table = Table(box=None, pad_edge=False)
    for col in ("run", "kind", "owner", "namespaces", "processes", "since"):
        table.add_column(col)
    for r in records:
        kind = "up" if r.persistent else "lab run"
        owner = "—" if r.persistent else (f"pid {r.owner_pid}" if r.owner_alive() else f"pid {r.owner_pid} (gone: leftover)")
        table.add_row(r.run_id, kind, owner, str(len(r.namespaces)), str(len(r.processes)), time.strftime("%H:%M:%S", time.localtime(r.created)))
    console.print(table)


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Also remove topologies brought up with `protolab up`.")
def clean(everything: bool) -> None:
    """Remove what crashed or killed runs left behind (only what protolab recorded creating)."""
    from .backends.ledger import all_records
    from .backends.netns import destroy

    leftovers = [r for r in all_records() if not r.owner_alive() and (everything or not r.persistent)]
    if not leftovers:
        console.print("nothing to clean")
        return
    _require_root()
    for record in leftovers:
        removed = destroy(record)
        console.print(f"clean: run {record.run_id}: removed {len(removed)} object(s)")


def _require_root() -> None:
    import os

    if os.geteuid() != 0:
        raise Failure("this needs root (it removes network namespaces)")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        cli.main(prog_name="protolab", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "protolab"
        err.print(f"[bold red]error:[/] {exc.format_message()} (see '{command} --help')", markup=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        err.print("interrupted: everything this run created has been removed")
        sys.exit(130)
    except ProtolabError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        err.print("interrupted: everything this run created has been removed")
        sys.exit(130)


if __name__ == "__main__":
    main()
