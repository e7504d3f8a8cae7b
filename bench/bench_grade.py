"""Grading a class: `protolab grade` on 200 handshake submissions, beside `protolab run --solution` one by one.

  batch       `protolab grade handshake DIR --workers N` (default: every core)
              on 150 correct files and 50 wrong ones of ten kinds (no hangs)
  sequential  `protolab run handshake --solution FILE -q`, one process per
              submission, on a sample of the same files (default 20: the
              whole 200 would take minutes), as submissions per second
  hangs       the batch again with 10 hanging submissions added: each costs
              about its time limit on one worker, not on the whole batch

Run as root: python bench/bench_grade.py [--students 200] [--sequential 20] [--workers N] [--no-hangs]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "tests" / "root" / "solutions"
PROTOLAB = str(ROOT / ".venv" / "bin" / "protolab")
CORRECT = ROOT / "labs" / "handshake.py"
WRONG = [SOLUTIONS / name for name in (
    "wrong_ack.py", "no_final_ack.py", "raises.py", "no_function.py", "syntax_error.py",
    "hostile/exits_at_import.py", "hostile/os_exits_at_import.py", "hostile/calls_reference.py",
    "hostile/starts_thread.py", "hostile/forks_and_hides.py",
)]
HANG = SOLUTIONS / "hangs.py"
TARGET = 10.0  # submissions per second for 200 on two cores (<= 20 s)


def make_class(folder: Path, students: int, hangs: int = 0) -> None:
    wrong = students // 4
    for k in range(students):
        source = WRONG[k % len(WRONG)] if k < wrong else CORRECT
        shutil.copy(source, folder / f"s{k:04d}.py")
    for k in range(hangs):
        shutil.copy(HANG, folder / f"hang{k:02d}.py")


def grade(folder: Path, out: Path, workers: int | None) -> tuple[float, dict[str, int]]:
    argv = [PROTOLAB, "grade", "handshake", str(folder), "--out", str(out), "-q", "--force"]
    if workers:
        argv += ["--workers", str(workers)]
    mark = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - mark
    if done.returncode != 0:
        raise SystemExit(f"bench_grade: protolab grade exited {done.returncode}: {done.stderr.strip()[-500:]}")
    counts: dict[str, int] = {}
    with open(out / "gradebook.csv", newline="") as f:
        for row in csv.DictReader(f):
            counts[row["status"]] = counts.get(row["status"], 0) + 1
    return seconds, counts


def sequential(folder: Path, sample: int, out: Path) -> float:
    files = sorted(folder.glob("*.py"))
    step = max(1, len(files) // sample)
    chosen = files[::step][:sample]
    mark = time.perf_counter()
    for path in chosen:
        subprocess.run([PROTOLAB, "run", "handshake", "--solution", str(path), "-q", "--out", str(out / path.stem)],
                       capture_output=True, check=False)
    return len(chosen) / (time.perf_counter() - mark)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=20, help="submissions run one by one for the comparison")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--no-hangs", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_grade: needs root (lab networks)", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="protolab-bench-grade-"))
    try:
        folder = base / "class"
        folder.mkdir()
        make_class(folder, args.students)
        seconds, counts = grade(folder, base / "out", args.workers)
        rate = args.students / seconds
        seq_rate = sequential(folder, args.sequential, base / "seq")
        workers = args.workers or os.cpu_count()
        print(f"bench_grade: {args.students} handshake submissions ({args.students - args.students // 4} correct, "
              f"{args.students // 4} wrong of {len(WRONG)} kinds), {workers} workers, load {os.getloadavg()[0]:.2f}")
        print(f"batch        {seconds:7.2f} s   {rate:6.2f} submissions/s   {counts}"
              f"   {'✔' if rate >= TARGET else '✘'} target ≥ {TARGET:g}/s")
        print(f"sequential   {args.students / seq_rate:7.2f} s   {seq_rate:6.2f} submissions/s"
              f"   (protolab run, one process each; measured on {args.sequential}, scaled to {args.students})")
        print(f"batch / sequential: {rate / seq_rate:.1f}x")
        if not args.no_hangs:
            make_class(folder, args.students, hangs=10)
            with_hangs, counts = grade(folder, base / "out-hangs", args.workers)
            extra = with_hangs - seconds
            print(f"with 10 hangs {with_hangs:6.2f} s   (+{extra:.1f} s: {extra / 10:.2f} s per hang on "
                  f"{workers} workers; the lab's time limit is 5 s per call)   {counts}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
