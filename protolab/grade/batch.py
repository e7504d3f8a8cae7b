"""Grade a folder of submissions with N workers, each on a topology of its own.

The batch hands one submission at a time to each worker (worker.py) and
collects its scored result. A worker that dies or overruns takes only its
submission with it (status ERROR) and is replaced; its topology is removed
through the run ledger. Results already in the output folder for the same
file and the same lab are kept unless `force`.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import __version__
from ..backends.ledger import all_records, process_start_time
from ..backends.netns import destroy
from ..backends.pids import stop_process
from .outputs import RESULT_FILE
from .score import ERROR, error_score
from .submissions import Submission
from .worker import as_result

JOB_LIMIT = 300.0  # seconds one submission may take in all (calls are bounded by the lab's timeout already)


@dataclass
class Worker:
    process: subprocess.Popen
    start_time: int
    run_id: str = ""  # the worker's topology, once it has said so
    job: dict[str, Any] | None = None
    since: float = 0.0
    buffer: bytes = b""


@dataclass
class Batch:
    lab: Any
    out: Path
    workers: int
    force: bool = False
    hide: tuple[Path, ...] = ()  # never shown to a student's code (the submissions folder)
    seed: str | None = None  # the course seed: with it every student runs their own variant
    on_result: Callable[[dict[str, Any]], None] | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    interrupted: bool = False
    started: int = 0  # workers started so far (each has a log)

    @cached_property
    def lab_version(self) -> str:
        """The lab file, protolab and the course seed: a result graded under another is graded again."""
        from ..lab.variants import course_seed

        source = Path(self.lab.source).read_bytes() if self.lab.source else b""
        seed = course_seed(self.seed).encode() if self.lab.variants else b""
        return hashlib.sha256(source + __version__.encode() + b"\0" + seed).hexdigest()[:16]

    def student_dir(self, student: str) -> Path:
        return self.out / "students" / student

    # -- the cache ------------------------------------------------------------
    def cached(self, submission: Submission) -> dict[str, Any] | None:
        path = self.student_dir(submission.student) / RESULT_FILE
        if self.force or not path.is_file():
            return None
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        same = saved.get("digest") == submission.digest and saved.get("lab_version") == self.lab_version
        return saved["result"] if same and saved.get("result", {}).get("status") != ERROR else None

    def remember(self, result: dict[str, Any]) -> None:
        path = self.student_dir(result["student"]) / RESULT_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"digest": result["digest"], "lab_version": self.lab_version, "result": result},
                                   indent=1, sort_keys=True))

    # -- running ------------------------------------------------------------------
    def run(self, submissions: list[Submission]) -> None:
        """Grade what is not cached; on Ctrl-C finish the submissions in flight and stop."""
        todo = []
        for submission in submissions:
            saved = self.cached(submission)
            if saved is not None:
                self._done(saved, store=False)
            else:
                todo.append(self._job(submission))
        if not todo:
            return
        selector = selectors.DefaultSelector()
        pool = [self._start(selector) for _ in range(min(self.workers, len(todo)))]
        previous = signal.signal(signal.SIGINT, self._interrupt)
        try:
            for worker in pool:
                self._give(worker, todo)
            while any(w.job is not None for w in pool):
                for key, _ in selector.select(timeout=1.0):
                    self._read(key.data, selector, pool, todo)
                for worker in list(pool):
                    if worker.job is not None and time.monotonic() - worker.since > JOB_LIMIT:
                        self._lost(worker, selector, pool, todo, f"it took longer than {JOB_LIMIT:g} s in all")
        finally:
            signal.signal(signal.SIGINT, previous)
            for worker in pool:
                self._stop(worker, selector)

    def _interrupt(self, _signum: int, _frame: object) -> None:
        self.interrupted = True  # no new submission is handed out; those in flight finish

    def _job(self, submission: Submission) -> dict[str, Any]:
        return {"student": submission.student, "path": str(submission.path) if submission.path else "",
                "digest": submission.digest, "problem": submission.problem, "seed": self.seed,
                "out": str(self.student_dir(submission.student))}

    def _start(self, selector: selectors.BaseSelector) -> Worker:
        self.started += 1
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        log = open(self.out / "logs" / f"worker-{self.started}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "protolab.grade.worker", self.lab.name, str(self.out.resolve()),
             *[str(p) for p in self.hide]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, start_new_session=True,
        )
        log.close()
        worker = Worker(process, process_start_time(process.pid) or 0)
        selector.register(process.stdout, selectors.EVENT_READ, worker)
        return worker

    def _give(self, worker: Worker, todo: list[dict[str, Any]]) -> None:
        if self.interrupted or not todo:
            return
        worker.job, worker.since = todo.pop(0), time.monotonic()
        try:
            worker.process.stdin.write((json.dumps(worker.job) + "\n").encode())
            worker.process.stdin.flush()
        except OSError:
            pass  # it died: its end of file comes through the selector

    def _read(self, worker: Worker, selector, pool: list[Worker], todo: list[dict[str, Any]]) -> None:
        data = os.read(worker.process.stdout.fileno(), 65536)
        if not data:
            self._lost(worker, selector, pool, todo, f"its worker ended with code {worker.process.wait()}")
            return
        worker.buffer += data
        while b"\n" in worker.buffer:
            line, worker.buffer = worker.buffer.split(b"\n", 1)
            message = json.loads(line)
            if "worker" in message:
                worker.run_id = message["worker"]
                continue
            worker.job = None
            self._done(message)
            self._give(worker, todo)

    def _lost(self, worker: Worker, selector, pool: list[Worker], todo: list[dict[str, Any]], why: str) -> None:
        """A worker that died or overran: its submission is ERROR; a new worker takes over."""
        job = worker.job
        self._stop(worker, selector, kill=True)
        pool.remove(worker)
        if job is not None:
            self._done(as_result(job, error_score(f"the grader could not grade it: {why}"), 0.0, "", 1))
        if todo and not self.interrupted:
            replacement = self._start(selector)
            pool.append(replacement)
            self._give(replacement, todo)

    def _stop(self, worker: Worker, selector, kill: bool = False) -> None:
        try:
            selector.unregister(worker.process.stdout)
        except (KeyError, ValueError):
            pass
        try:
            worker.process.stdin.close()  # the worker ends its loop and takes its topology down
        except OSError:
            pass
        if kill:
            stop_process(worker.process.pid, worker.start_time, grace=2.0)
        try:
            worker.process.wait(timeout=JOB_LIMIT)
        except subprocess.TimeoutExpired:
            stop_process(worker.process.pid, worker.start_time, grace=2.0)
            worker.process.wait()
        worker.process.stdout.close()
        if worker.process.returncode != 0 and worker.run_id:
            for record in all_records():  # what a killed worker could not take down itself
                if record.run_id == worker.run_id:
                    destroy(record)

    def _done(self, result: dict[str, Any], store: bool = True) -> None:
        self.results[result["student"]] = result
        if store:
            self.remember(result)
        if self.on_result is not None:
            self.on_result(result)
