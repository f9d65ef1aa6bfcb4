"""Batch grading: a folder of submissions into results, feedback and a gradebook.

Each submission is graded by its own ``grader grade`` process, so that a crash
while grading one (even of the grader itself) costs only that submission.
Results are written as each submission finishes; a second run skips those that
already have one, so nothing already graded is lost or redone.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import queue
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .assignment import Assignment
from .results import SubmissionResult
from .scoring import score_task
from .spec import Limits

log = logging.getLogger(__name__)
RESULTS = "results"
FEEDBACK = "feedback"
GRADEBOOK = "gradebook.csv"


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did."""

    graded: int
    skipped: int
    failed: int
    gradebook: Path


def find_submissions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".ipynb")


def _grader_failure(path: Path, assignment: Assignment, sandbox: str, why: str) -> SubmissionResult:
    reason = f"the grader failed on this submission ({why}); an instructor will look at it"
    tasks = tuple(score_task(t, {}, reason) for t in assignment.spec.tasks)
    return SubmissionResult(submission=path.name, assignment=assignment.name, points=0.0,
                            max_points=assignment.spec.max_points, tasks=tasks, sandbox=sandbox, error=reason)


def grade_in_subprocess(path: Path, assignment: Assignment, out_dir: Path, sandbox: str, cpu_slot: int,
                        timeout_s: float, extra_args: tuple[str, ...] = ()) -> SubmissionResult:
    result_path = out_dir / RESULTS / f"{path.stem}.json"
    command = [sys.executable, "-m", "grader", "grade", str(path), "--assignment",
               str(assignment.solution_path), "--sandbox", sandbox, "--cpu-slot", str(cpu_slot),
               "--json-out", str(result_path), "--keep", str(out_dir / "executed" / path.stem), "--quiet", *extra_args]
    result_path.parent.mkdir(parents=True, exist_ok=True)
    result_path.unlink(missing_ok=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return _grader_failure(path, assignment, sandbox, "it took too long")
    try:
        return SubmissionResult.from_dict(json.loads(result_path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        log.error("grading %s failed: %s", path.name, done.stderr[-3000:])
        return _grader_failure(path, assignment, sandbox, f"exit code {done.returncode}")


def write_result(result: SubmissionResult, out_dir: Path, stem: str) -> None:
    for folder in (RESULTS, FEEDBACK):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    _atomic_write(out_dir / RESULTS / f"{stem}.json", json.dumps(result.to_dict(), indent=1))
    _atomic_write(out_dir / FEEDBACK / f"{stem}.txt", result.feedback_text())


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".part")
    temporary.write_text(text)
    os.replace(temporary, path)


def load_results(out_dir: Path) -> list[SubmissionResult]:
    results = []
    for path in sorted((out_dir / RESULTS).glob("*.json")):
        try:
            results.append(SubmissionResult.from_dict(json.loads(path.read_text())))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable result %s", path)
    return results


def write_gradebook(results: list[SubmissionResult], assignment: Assignment, path: Path) -> None:
    tasks = [t.name for t in assignment.spec.tasks]
    rows = [["submission", "points", "max_points", *tasks, "sandbox", "problem"]]
    for r in sorted(results, key=lambda r: r.submission):
        by_name = {t.name: t.points for t in r.tasks}
        rows.append([r.submission, f"{r.points:g}", f"{r.max_points:g}",
                     *(f"{by_name.get(t, 0):g}" for t in tasks), r.sandbox, r.error or ""])
    temporary = path.with_suffix(".csv.part")
    with temporary.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    os.replace(temporary, path)


def grade_folder(folder: Path, assignment: Assignment, out_dir: Path, sandbox: str = "auto",
                 workers: int | None = None, redo: bool = False,
                 progress: Callable[[SubmissionResult], None] | None = None, limits: Limits | None = None,
                 extra_args: list[str] | None = None) -> BatchSummary:
    """Grade every notebook in ``folder`` into ``out_dir``, ``workers`` at a time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    submissions = find_submissions(folder)
    todo = [p for p in submissions if redo or not (out_dir / RESULTS / f"{p.stem}.json").is_file()]
    workers = max(1, workers or os.cpu_count() or 1)
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)
    timeout = (limits or assignment.spec.limits).notebook_timeout_s + 600
    gradebook = out_dir / GRADEBOOK
    failed = 0

    def one(path: Path) -> SubmissionResult:
        slot = slots.get()
        try:
            return grade_in_subprocess(path, assignment, out_dir, sandbox, slot, timeout, tuple(extra_args or ()))
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(one, path): path for path in todo}
        for future in as_completed(futures):
            path = futures[future]
            result = future.result()
            failed += result.error is not None and result.error.startswith("the grader failed")
            write_result(result, out_dir, path.stem)
            write_gradebook(load_results(out_dir), assignment, gradebook)
            if progress:
                progress(result)
    write_gradebook(load_results(out_dir), assignment, gradebook)
    return BatchSummary(graded=len(todo), skipped=len(submissions) - len(todo), failed=failed, gradebook=gradebook)
