"""Run a lab end to end: network up, capture on, procedure, capture off, check, record."""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from ..backends import get_backend
from ..backends.base import Deployment
from ..backends.ledger import own_records, try_lock
from ..backends.removal import stop_processes_since
from ..backends.nsenter import entered
from ..capture import PortCapture, write_pcapng
from ..capture.frames import merge_results
from ..capture.runinfo import RunInfo, param_text
from ..errors import BackendError, LabError
from ..expect.match import check
from ..expect.trace import Trace
from ..expect.verdict import Verdict
from ..topology import to_data
from ..wire.decode import decode_trace  # pulls in scapy: paid at import, not inside a timed lab
from ..confine import codec
from ..confine.session import ConfinedSolution, OutputLog, SolutionFileError, read_solution
from .api import Lab, LabContext
from .variants import claim, course_seed, merged_params
from .catalog import labs_dir
from .network import lab_topology, mismatch, topology_source

LEDGER_DIR = "/run/protolab"
NETNS_DIR = "/run/netns"
OUTPUT_FILE = "student-output.txt"
HTML_FILE = "report.html"


@dataclass
class RunOptions:
    solution: Path | None = None
    params: Mapping[str, str] = field(default_factory=dict)  # raw --set values
    out_dir: Path | None = None  # default: ./protolab-runs/<lab>-<time>-<run id>
    fresh: bool = False  # never reuse a topology brought up with `protolab up`
    timeout: float | None = None  # seconds per call of the student's function (default: the lab's)
    backend: str | None = None  # "netns" or "compose" (default: compose inside a lab container, else netns)
    on_say: Callable[[str], None] | None = None
    deployment: Deployment | None = None  # run on this one (a grading worker's), kept up after the run
    launcher: ConfinedSolution | None = None  # a grading worker's: serves this run's file, stays up after it
    student: str | None = None  # run this student's variant of the lab (variants.py)
    seed: str | None = None  # the course seed the variants are drawn with (default: PROTOLAB_COURSE_SEED)


@dataclass
class RunResult:
    lab: Lab
    verdict: Verdict
    trace: Trace
    pcap: Path
    report: Path
    run_id: str
    reused: bool  # ran on a topology that `protolab up` had brought up
    narration: list[str]
    timings: dict[str, float]
    facts: dict[str, Any]
    topology: Any = None  # the topology the run used
    student_output: OutputLog | None = None  # what the student's code printed (head, and how much in all)
    unusable: str | None = None  # why the student's file could not be used at all (it scores nothing)
    html: Path | None = None  # the run's report page (report.html beside the pcap)


def run_lab(lab: Lab, options: RunOptions) -> RunResult:
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    seed = course_seed(options.seed)
    params = parse_params(lab, merged_params(lab, options.student, seed, options.params))
    solution = options.solution if options.solution is not None else _reference_file(lab)
    load_problem = None
    try:
        read_solution(solution)  # a missing file is a usage error, before anything is built
    except SolutionFileError as exc:
        load_problem = str(exc)

    with _deployment(lab, options.fresh, options.backend, options.deployment) as (deployment, reused):
        timings["deploy"] = time.perf_counter() - mark
        mark = time.perf_counter()
        confined = None
        if load_problem is None and options.launcher is not None:
            confined = options.launcher
            confined.retarget(solution)
        elif load_problem is None:
            node = deployment.node(lab.student_node)
            confined = ConfinedSolution(solution, lab.student_name, node.netns, lab.student_node,
                                        limits=lab.student_limits, hide=hidden_paths(options.out_dir))
            confined.start()  # it imports scapy while the lab sets the stage

        unusable: list[str] = []

        def call_student(*args: Any, **kwargs: Any) -> Any:
            if load_problem or confined is None:
                problem = f"your solution could not be used: {load_problem}"
                ctx.problems.append(problem)
                unusable.append(problem)
                return None
            outcome = confined.call(args, kwargs, options.timeout or lab.timeout)
            ctx.last_call_seconds = outcome.seconds
            if not outcome.ok:
                problem = f"your {lab.student_name}() {outcome.error}"
                ctx.problems.append(problem)
                if outcome.unusable:
                    unusable.append(problem)
                return None
            problem = codec.unsupported(outcome.value)
            if problem:  # a repr string would pass for an answer; the student must hear why it is not one
                ctx.problems.append(f"your {lab.student_name}() {problem}")
                return None
            return outcome.value

        def start_student(*args: Any, limits: Any = None, binds: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
            from ..confine.background import StudentServer

            if load_problem or confined is None:
                call_student()  # says why the file cannot be used
                return StudentServer(None, lab.student_name, ctx.problems.append)
            running = confined.start_call(args, kwargs, options.timeout or lab.timeout, limits=limits, binds=binds)
            server = StudentServer(running, lab.student_name, ctx.problems.append)
            ctx.stack.callback(server.stop)
            return server

        ctx = LabContext(lab, deployment, params, call_student, on_say=options.on_say, start_student=start_student)
        captures = []
        try:
            for point in deployment.capture_points():
                with entered(point.netns):
                    captures.append(PortCapture(point.ports, egress=point.egress))
            for capture in captures:
                capture.start()
            with ctx.stack:
                try:
                    lab.procedure(ctx)
                finally:  # stop before services close: their goodbyes are not the lab's
                    result = merge_results([capture.stop() for capture in captures])
        finally:
            for capture in captures:
                capture.close()
            if confined is not None and confined is options.launcher:
                confined.finish_calls()  # every sandbox ends here; the launcher serves the next file
            elif confined is not None:
                confined.close()  # every sandbox ends here, whatever the student's code left running
        if confined is not None:
            ctx.problems.extend(f"your {lab.student_name}() {problem}" for problem in confined.problems)
        timings["lab"] = time.perf_counter() - mark
        mark = time.perf_counter()

        trace = decode_trace(result.frames, deployment.topology, result.links, result.kernel_drops)
        if lab.wire_facts is not None:
            for name, value in lab.wire_facts(trace, params, dict(ctx.facts)).items():
                ctx.fact(name, value)
        verdict = check(lab.expectation(deployment.topology, params), trace, ctx.facts)
        if unusable:  # the one line that explains every miss comes first
            verdict = verdict.with_unusable(unusable[0])
        for problem in ctx.problems:
            if problem not in unusable:
                verdict = verdict.with_error(problem)
        for doubt in ctx.doubts:
            verdict = verdict.with_doubt(doubt)
        out = _out_dir(options.out_dir, lab.name, deployment.run_id)
        from ..report import write_json

        output = confined.output if confined is not None else None
        extra = {"lab": lab.name, "run_id": deployment.run_id, "facts": _plain(ctx.facts)}
        if options.student:
            extra["student"] = options.student
        if output is not None and output.total:
            (out / OUTPUT_FILE).write_bytes(bytes(output.head))
            extra["student_output"] = {"bytes": output.total, "kept": len(output.head), "file": OUTPUT_FILE}
            if output.cut:
                verdict = verdict.with_note(
                    f"your code printed {_size(output.total)}: the first {_size(len(output.head))} are in "
                    f"{OUTPUT_FILE}, the rest was dropped")
        as_set = {k: param_text(v) for k, v in params.items()}  # the parameters as --set would give them
        run_info = RunInfo(lab.name, as_set, deployment.run_id, options.student, result.kernel_drops,
                           tuple(ctx.doubts), verdict.status.value, to_data(deployment.topology))
        comments = [run_info.comment()] + ([claim(lab, options.student, seed)] if options.student else [])
        pcap = write_pcapng(out / "trace.pcapng", result, comments)
        report = out / "verdict.json"
        write_json(report, verdict, trace, extra=extra)
        from ..report.html import write_html

        html = write_html(out / HTML_FILE, title=lab.title, trace=trace, verdict=verdict, columns=lab.columns,
                          narration=ctx.narration, pcap=pcap.name, lab=lab.name, run_id=deployment.run_id,
                          notes=["parameters: " + (" ".join(f"{k}={v}" for k, v in as_set.items()) or "none")])
        timings["check"] = time.perf_counter() - mark
        mark = time.perf_counter()
    timings["teardown"] = time.perf_counter() - mark
    return RunResult(lab, verdict, trace, pcap, report, deployment.run_id, reused, ctx.narration, timings, ctx.facts,
                     deployment.topology, output, unusable[0] if unusable else None, html)


def parse_params(lab: Lab, raw: Mapping[str, str]) -> dict[str, Any]:
    """Lab parameters: the lab's defaults, overridden by KEY=VALUE strings typed like
    the default, and checked against the lab's `limits` (ranges, choices), then as a
    whole by its `check_params` hook.

    A float must be finite (no nan, no inf): no lab can wait or count with those."""
    params = dict(lab.params)
    stray = sorted(set(lab.limits) - set(params))
    if stray:
        raise LabError(f"lab {lab.name} declares limits for '{stray[0]}', which is not one of its parameters")
    for key, text in raw.items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise LabError(f"lab {lab.name} has no parameter '{key}' (parameters: {known})")
        value = _typed(key, text, params[key])
        limit = lab.limits.get(key)
        problem = limit.problem(value) if limit is not None else None
        if problem:
            raise LabError(f"parameter {key}={text!r}: {problem}")
        params[key] = value
    problem = lab.check_params(params) if lab.check_params is not None else None
    if problem:
        raise LabError(f"lab {lab.name}: {problem}")
    return params


def _typed(key: str, text: str, default: Any) -> Any:
    """`text` as a value of the default's type."""
    kind = type(default).__name__
    try:
        if isinstance(default, bool):
            lowered = text.strip().lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
                raise ValueError
            return lowered in {"true", "1", "yes", "on"}
        if isinstance(default, int):
            return int(text, 0)
        if isinstance(default, float):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        return text
    except ValueError:
        article = "an" if kind[0] in "aeiou" else "a"
        finite = " (finite)" if isinstance(default, float) and not isinstance(default, bool) else ""
        raise LabError(f"parameter {key}={text!r}: expected {article} {kind}{finite} like {default!r}") from None


@contextmanager
def _deployment(lab: Lab, fresh: bool, backend: str | None = None,
                given: Deployment | None = None) -> Iterator[tuple[Deployment, bool]]:
    """Run on `given` (kept up), reuse a topology brought up with `protolab up` (locked
    for this run), or deploy one (with the compose backend: attach to the running stack)."""
    from ..backends import default_backend

    if given is not None:
        with _kept_up(given):
            yield given, True
        return
    backend = backend or default_backend()
    wanted = lab_topology(lab)
    if not fresh and backend == "netns":
        for record in reversed(own_records()):  # only a topology this user brought up
            if record.persistent and record.topology == topology_source(lab):
                lock = try_lock(record, f"protolab run {lab.name}")
                if lock is None:
                    continue  # another run is using it (or it is being removed): take a fresh topology instead
                try:
                    deployment = get_backend(record.backend).attach(record)
                    if deployment.topology == wanted:  # the file may have changed since `up`
                        with _kept_up(deployment):
                            yield deployment, True
                        return
                finally:
                    os.close(lock)
    deployment = get_backend(backend).deploy(wanted, source=topology_source(lab))
    try:
        problem = mismatch(lab, deployment.topology, wanted)  # a compose stack runs the network it was made for
        if problem:
            raise BackendError(f"{problem}: write its compose file with 'protolab compose --lab {lab.name}' "
                               "and bring that stack up")
        yield deployment, deployment.attached
    finally:
        deployment.teardown()


@contextmanager
def _kept_up(deployment: Deployment) -> Iterator[None]:
    """A run on a network that stays up: whatever the run started and did not stop
    (interrupted mid-start, say) is stopped after it, so the next run starts clean."""
    started = {(p.pid, p.start_time) for p in deployment.record.processes}
    try:
        yield
    finally:
        stop_processes_since(deployment.record, started)


def _out_dir(base: Path | None, lab: str, run_id: str) -> Path:
    if base is None:
        base = Path.cwd() / "protolab-runs" / f"{lab}-{time.strftime('%Y%m%d-%H%M%S')}-{run_id}"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the CLI checks --out first; this is for the default place and for callers
        raise LabError(f"cannot create the run's directory {base}: {exc.strerror or exc}") from None
    return base


def _reference_file(lab: Lab) -> Path:
    """The lab file: its reference solution runs in the same sandbox as a student's would."""
    if not lab.source:
        raise LabError(f"lab {lab.name} has no file, so its reference solution cannot be run")
    return Path(lab.source)


def hidden_paths(out_dir: Path | None) -> tuple[str, ...]:
    """What a student's sandbox must never show, should it lie inside a folder it does show."""
    runs = out_dir if out_dir is not None else Path.cwd() / "protolab-runs"
    return tuple(str(p) for p in (labs_dir(), runs, Path.cwd(), Path(LEDGER_DIR), Path(NETNS_DIR)))


def _size(n: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _plain(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else repr(v) for k, v in facts.items()}
