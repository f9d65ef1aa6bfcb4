"""Where submissions are graded: worker pools that take grading jobs and give back results, as they finish.

A job is graded the same way everywhere: by a ``grader grade`` process of its own (a crash of it costs only that
submission), in the sandbox the batch chose, pinned to its worker's CPUs. ``LocalPool`` runs these processes on
this machine; ``DaskPool`` sends the jobs to the workers of a Dask distributed cluster, which run the same function
on their machines (each needs this repository, its assignments, the sandbox and the data sets).
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from .assignment import REPO_ROOT, Assignment, load_assignment
from .errors import BatchError, GraderError
from .results import SubmissionResult
from .sandbox.container import BATCH_ENV
from .scoring import score_task

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
GRADER_FAILED = "the grader failed on this submission"


@dataclass(frozen=True)
class GradingJob:
    """One submission to grade: what every worker needs to know, as data."""

    key: str
    notebook: str  # path on the machine that made the job
    assignment: str  # a name under the repository's solutions/, or a solution notebook's path
    assignment_sha256: str
    grader_version: str
    sandbox: str
    timeout_s: float
    extra_args: tuple[str, ...] = ()
    batch: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def assignment_reference(assignment: Assignment) -> str:
    """A name when the assignment is this repository's (so that any worker's copy is found), else its path."""
    solutions = REPO_ROOT / "solutions"
    if assignment.solution_path.resolve() == (solutions / assignment.name / f"{assignment.name}.ipynb").resolve():
        return assignment.name
    return str(assignment.solution_path.resolve())


def grader_failure(key: str, assignment: Assignment, sandbox: str, why: str) -> SubmissionResult:
    reason = f"{GRADER_FAILED} ({why}); an instructor will look at it"
    tasks = tuple(score_task(t, {}, reason) for t in assignment.spec.tasks)
    return SubmissionResult(submission=f"{key}.ipynb", assignment=assignment.name, points=0.0,
                            max_points=assignment.spec.max_points, tasks=tasks, sandbox=sandbox, error=reason)


def _die_with_parent() -> None:
    """In the child: be killed when the thread that started it dies (a batch killed takes its graders with it)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def grade_in_process(job: GradingJob, notebook: Path, assignment: Assignment, slot: int, scratch: Path,
                     keep: Path | None = None) -> SubmissionResult:
    """Grade ``notebook`` with a ``grader grade`` process of its own; temporary files under ``scratch``."""
    scratch.mkdir(parents=True, exist_ok=True)
    result_path = scratch / f"{job.key}.result.json"
    result_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "grader", "grade", str(notebook), "--assignment", str(assignment.solution_path),
               "--sandbox", job.sandbox, "--cpu-slot", str(slot), "--json-out", str(result_path), "--quiet",
               *(["--keep", str(keep)] if keep else []), *job.extra_args]
    env = {**os.environ, "TMPDIR": str(scratch), **({BATCH_ENV: job.batch} if job.batch else {})}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=job.timeout_s, env=env,
                              preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired:
        return grader_failure(job.key, assignment, job.sandbox, "it took too long")
    try:
        return SubmissionResult.from_dict(json.loads(result_path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        log.error("grading %s failed: %s", job.key, done.stderr[-3000:])
        return grader_failure(job.key, assignment, job.sandbox, f"exit code {done.returncode}")
    finally:
        result_path.unlink(missing_ok=True)


class LocalPool:
    """``workers`` grading processes at a time on this machine, each on its own CPU slot."""

    def __init__(self, assignment: Assignment, workers: int, scratch: Path, keep_root: Path | None = None,
                 cpus: int = 1) -> None:
        self.assignment = assignment
        self.workers = max(1, workers)
        self.scratch = scratch
        self.keep_root = keep_root
        self.cpus = max(1, cpus)

    def describe(self) -> str:
        cores = len(os.sched_getaffinity(0))
        shared = self.workers * min(self.cpus, cores) > cores
        return (f"{self.workers} local worker{'s' * (self.workers > 1)}, {min(self.cpus, cores)} of {cores} CPUs each"
                + (" (they share CPUs: fewer workers may be as fast)" if shared else ""))

    def grade(self, jobs: list[GradingJob]) -> Iterator[tuple[GradingJob, SubmissionResult]]:
        slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.workers):
            slots.put(slot)

        def one(job: GradingJob) -> SubmissionResult:
            slot = slots.get()
            try:
                keep = self.keep_root / job.key if self.keep_root else None
                return grade_in_process(job, Path(job.notebook), self.assignment, slot,
                                        self.scratch / f"slot-{slot}", keep)
            finally:
                shutil.rmtree(self.scratch / f"slot-{slot}", ignore_errors=True)
                slots.put(slot)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(one, job): job for job in jobs}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def close(self) -> None:
        pass


# --- Dask ---------------------------------------------------------------------------------------------------------

def _slot_of(worker_name: object) -> int:
    """A worker's CPU slot from its name: ``dask worker --name w --nworkers 2`` names them w-0 and w-1."""
    match = re.search(r"(\d+)$", str(worker_name))
    return int(match.group(1)) if match else 0


def describe_worker(reference: str) -> dict:
    """Run on each worker before a batch: its grader's version and its copy of the assignment."""
    from .cache import assignment_digest, grader_version

    try:
        digest = assignment_digest(load_assignment(reference))
    except GraderError as exc:
        digest = f"none ({exc})"
    return {"grader_version": grader_version(), "assignment_sha256": digest}


def grade_on_worker(job_data: dict, notebook: bytes) -> dict:
    """The task a Dask worker runs: grade one submission sent as bytes; the result comes back as JSON data."""
    from distributed import get_worker

    from .cache import assignment_digest

    job = GradingJob(**{**job_data, "extra_args": tuple(job_data["extra_args"])})
    assignment = load_assignment(job.assignment)
    if assignment_digest(assignment) != job.assignment_sha256:
        raise BatchError(f"this worker's copy of {assignment.name} differs from the batch's: update it")
    with tempfile.TemporaryDirectory(prefix="notebook-grader-worker-") as scratch:
        os.chmod(scratch, 0o755)  # the sandbox's unprivileged user passes through it to its own folder
        path = Path(scratch) / "in" / f"{job.key}.ipynb"
        path.parent.mkdir()
        path.write_bytes(notebook)
        result = grade_in_process(job, path, assignment, _slot_of(get_worker().name), Path(scratch) / "work")
    return result.to_dict()


class DaskPool:
    """The jobs sent to a Dask cluster's workers; results gathered as they come (a worker that dies costs only
    the retry of the submission it was grading: the scheduler gives it to another worker)."""

    def __init__(self, assignment: Assignment, address: str, assignment_sha256: str, grader_version: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise BatchError("--scheduler needs Dask: pip install 'notebook-grader[cluster]'") from None
        self.assignment = assignment
        try:
            self.client = Client(address, timeout=30)
        except (OSError, TimeoutError) as exc:
            raise BatchError(f"no Dask scheduler answers at {address}: {exc}") from None
        self.address = address
        self._check_workers(assignment_sha256, grader_version)

    def _check_workers(self, assignment_sha256: str, grader_version: str) -> None:
        described = self.client.run(describe_worker, assignment_reference(self.assignment))
        if not described:
            raise BatchError("the Dask cluster has no workers yet: start them with `dask worker ADDRESS`")
        problems = []
        for worker, about in sorted(described.items()):
            if about["grader_version"] != grader_version:
                problems.append(f"{worker} runs grader {about['grader_version']}, this batch {grader_version}")
            if about["assignment_sha256"] != assignment_sha256:
                problems.append(f"{worker} has another version of {self.assignment.name}:"
                                f" {about['assignment_sha256'][:16]}, this batch {assignment_sha256[:16]}")
        if problems:
            raise BatchError("the workers must grade with the same grader and assignment: " + "; ".join(problems))
        self.workers = len(described)

    def describe(self) -> str:
        return f"{self.workers} Dask worker{'s' * (self.workers > 1)} at {self.address}"

    def grade(self, jobs: list[GradingJob]) -> Iterator[tuple[GradingJob, SubmissionResult]]:
        from distributed import as_completed as dask_completed

        futures = {}
        for job in jobs:
            future = self.client.submit(grade_on_worker, job.to_dict(), Path(job.notebook).read_bytes(),
                                        key=f"grade-{job.key}-{job.assignment_sha256[:8]}", pure=False, retries=1)
            futures[future.key] = (future, job)
        for future in dask_completed([f for f, _ in futures.values()]):
            job = futures[future.key][1]
            try:
                result = SubmissionResult.from_dict(future.result())
            except Exception as exc:  # noqa: BLE001 - whatever a worker raised, this submission gets a reason
                result = grader_failure(job.key, self.assignment, job.sandbox, f"on the cluster: {exc}")
            yield job, result

    def close(self) -> None:
        self.client.close()
