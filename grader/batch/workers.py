"""Where submissions are graded: workers that take grading jobs and give back results, as they finish.

A worker is one grading slot, the same thing on this machine and on a Dask cluster: its own CPU set (the
assignment's ``cpus`` of them), its sandbox, and a resident checker (``grader/grading/checker.py``: TensorFlow imported
once, the data sets loaded once). It executes a submission in a fresh sandbox, then hands the evidence to its
checker and executes the next submission while the last one is checked: the checks are off the critical path,
and at most one submission waits for its checks (bounding the evidence kept on disk). Locally, the next
submission's sandbox is started (bubblewrap, the interpreter, the runner's imports) while the current one runs,
and waits for its job: a fresh sandbox per submission, never one that ran another student's code. A submission is
executed
and checked by the same two functions ``grader grade`` runs in one process, so its result is the same.

``LocalPool`` runs workers on this machine, by default one per ``cpus`` cores (more would share CPUs and gain
nothing); ``DaskPool`` sends the jobs to the workers of a Dask distributed cluster, where each worker process
keeps one worker of its own (each machine needs this repository, its assignments, the sandbox and the data sets).
"""
from __future__ import annotations

import json
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from grader.course.assignment import Course, assignment_reference, load_assignment
from grader.errors import BatchError, GraderError
from grader.grading.checker import CheckerFailed, ChecksTooSlow, ResidentChecker
from grader.grading.grade import Executed, StartedSubmission, start_submission, zero_result
from grader.results import GRADER_FAILED, SubmissionResult
from grader.sandbox.select import choose_sandbox
from grader.sandbox.staging import unmount_under
from grader.spec import Limits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradingJob:
    """One submission to grade: what every worker needs to know, as data."""

    key: str
    notebook: str  # path on the machine that made the job
    assignment: str  # a name under the repository's solutions/, or a solution notebook's path
    assignment_sha256: str
    grader_version: str
    sandbox: str
    limits: Mapping[str, Any]
    batch: str = ""
    gpu: bool = False  # the students' code on the worker machine's GPUs

    def to_dict(self) -> dict:
        return {**asdict(self), "limits": dict(self.limits)}


def grader_failure(key: str, assignment: Course, sandbox: str, why: str) -> SubmissionResult:
    """No points because the grader failed, not the submission: said so, for an instructor to look at."""
    reason = f"{GRADER_FAILED} ({why}); an instructor will look at it"
    return zero_result(Path(f"{key}.ipynb"), assignment, sandbox, reason, reason)


def checks_too_slow(key: str, assignment: Course, sandbox: str, exc: ChecksTooSlow) -> SubmissionResult:
    """No points: the submission's checks ran past their limit (its own doing, so not tried again)."""
    return zero_result(Path(f"{key}.ipynb"), assignment, sandbox, str(exc), str(exc))


def default_workers(cpus: int) -> int:
    """As many workers as this machine has ``cpus``-sized CPU sets: each its own, none shared."""
    return max(1, len(os.sched_getaffinity(0)) // max(1, cpus))


class Worker:
    """One grading slot: its CPU set, its sandbox and its resident checker; temporary files under ``scratch``."""

    def __init__(self, assignment: Course, sandbox: str, slot: int, scratch: Path, batch: str = "",
                 keep_root: Path | None = None, gpu: bool = False) -> None:
        self.assignment = assignment
        self.slot = slot
        self.scratch = scratch
        self.keep_root = keep_root
        try:
            self.sandbox = choose_sandbox(sandbox, slot, batch, gpu)
        except GraderError as exc:
            raise BatchError(f"no sandbox for the batch: {exc}") from None
        self.checker = ResidentChecker(assignment_reference(assignment), log_dir=scratch)

    def start(self, job: GradingJob) -> StartedSubmission | SubmissionResult:
        """Prepare the submission and start its fresh sandbox, which waits for ``finish``; its files and evidence
        stay in a folder of its own until checked."""
        folder: Path | None = None
        try:
            self.scratch.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f"{job.key}-", dir=self.scratch))
            os.chmod(folder, 0o711)  # the sandbox's unprivileged user passes through it to its own folders
            started = start_submission(Path(job.notebook), self.assignment, self.sandbox,
                                       Limits.from_dict(job.limits), folder)
        except Exception as exc:  # noqa: BLE001 - whatever failed, this submission gets a reason, the batch goes on
            log.exception("starting %s failed", job.key)
            started = grader_failure(job.key, self.assignment, self.sandbox.name, f"{type(exc).__name__}: {exc}")
        if isinstance(started, SubmissionResult) and folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        return started

    def finish(self, job: GradingJob, started: StartedSubmission | SubmissionResult) -> Executed | SubmissionResult:
        """Run a started submission to its end."""
        if isinstance(started, SubmissionResult):
            return started
        try:
            return started.finish()
        except Exception as exc:  # noqa: BLE001
            log.exception("executing %s failed", job.key)
            shutil.rmtree(started.execution.export_dir.parent, ignore_errors=True)
            return grader_failure(job.key, self.assignment, self.sandbox.name, f"{type(exc).__name__}: {exc}")

    def cancel(self, started: StartedSubmission | SubmissionResult | None) -> None:
        """End a started sandbox unused. A cancel that fails is logged, not raised: the worker goes on (the
        submission it was started for is another's to run)."""
        if isinstance(started, StartedSubmission):
            try:
                started.cancel()
            except Exception:  # noqa: BLE001
                log.exception("cancelling the sandbox started for %s failed", started.path.name)
            finally:
                shutil.rmtree(started.execution.export_dir.parent, ignore_errors=True)

    def execute(self, job: GradingJob) -> Executed | SubmissionResult:
        return self.finish(job, self.start(job))

    def check(self, job: GradingJob, executed: Executed | SubmissionResult) -> SubmissionResult:
        """The result: the resident checker's scores of the evidence (then removed)."""
        if isinstance(executed, SubmissionResult):
            return executed
        keep = str(self.keep_root / job.key) if self.keep_root else None
        try:
            return SubmissionResult.from_dict(self.checker.check(executed.to_wire(), keep,
                                                                 executed.limits.check_timeout_s))
        except ChecksTooSlow as exc:
            return checks_too_slow(job.key, self.assignment, self.sandbox.name, exc)
        except CheckerFailed as exc:
            return grader_failure(job.key, self.assignment, self.sandbox.name, str(exc))
        except Exception as exc:  # noqa: BLE001
            log.exception("checking %s failed", job.key)
            return grader_failure(job.key, self.assignment, self.sandbox.name, f"{type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(Path(executed.export_dir).parent, ignore_errors=True)

    def close(self) -> None:
        self.checker.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


class JobQueue:
    """A batch's submissions as its local workers take them, each taken started (its sandbox started).

    A worker takes one more ahead while it runs one (``take_ahead``), so that its sandbox starts up meanwhile, but
    never one that a worker yet to take its first submission would need (else, in a batch of 2 with 2 workers,
    the second submission is started ahead by the first worker, taken by the other, its sandbox cancelled and
    started again). A worker that finds the queue empty takes a submission another started ahead but has not run
    (``next_for``), so that none waits behind a long one: it starts it anew on its own CPUs, under the lock as
    every start, and cancels the other's sandbox outside it, so that no other take waits for that (a cancel waits
    for every process of the sandbox to end)."""

    def __init__(self, jobs: list[GradingJob], workers: int) -> None:
        self._todo: deque[GradingJob] = deque(jobs)
        self._lock = threading.Lock()
        self._ahead: dict[int, tuple[GradingJob, StartedSubmission | SubmissionResult]] = {}
        self._workers = workers
        self._taken: set[int] = set()  # the workers that have taken their first submission

    def take(self, worker: Worker) -> tuple[GradingJob | None, StartedSubmission | SubmissionResult | None]:
        """The worker's first submission, or its next when it started none ahead: from the queue, else one
        another worker started ahead (None when none is left)."""
        theirs: StartedSubmission | SubmissionResult | None = None
        try:
            with self._lock:
                self._taken.add(worker.slot)
                if self._todo:
                    job = self._todo.popleft()
                elif self._ahead:
                    job, theirs = self._ahead.pop(next(iter(self._ahead)))
                else:
                    return None, None
                return job, worker.start(job)
        finally:
            worker.cancel(theirs)  # outside the lock, the new start made or failed

    def take_ahead(self, worker: Worker) -> None:
        """Start the worker's next submission while its current one runs, if one is left for it."""
        with self._lock:
            if len(self._todo) <= self._workers - len(self._taken):  # left for the workers yet to take a first
                return
            job = self._todo.popleft()
            self._ahead[worker.slot] = (job, worker.start(job))

    def next_for(self, worker: Worker) -> tuple[GradingJob | None, StartedSubmission | SubmissionResult | None]:
        """The worker's next submission: the one it started ahead, if no other worker took it, else ``take``."""
        with self._lock:
            job, started = self._ahead.pop(worker.slot, (None, None))
        return (job, started) if job is not None else self.take(worker)

    def give_up(self, worker: Worker) -> StartedSubmission | SubmissionResult | None:
        """What the worker started ahead and will not run (the batch stopped early), for it to cancel."""
        with self._lock:
            return self._ahead.pop(worker.slot, (None, None))[1]


class LocalPool:
    """``workers`` workers on this machine, each on its own CPU slot, each checking one submission while
    executing the next."""

    def __init__(self, assignment: Course, workers: int | None, scratch: Path, keep_root: Path | None = None,
                 cpus: int = 1, sandbox: str = "auto", batch: str = "", start_ahead: bool = True,
                 gpu: bool = False) -> None:
        self.assignment = assignment
        self.start_ahead = start_ahead  # off only to measure what starting ahead saves
        self.cpus = max(1, cpus)
        self.chosen = workers is None
        self.workers = max(1, workers) if workers is not None else default_workers(self.cpus)
        self.scratch = scratch
        self.keep_root = keep_root
        self.sandbox = sandbox
        self.batch = batch
        self.gpu = gpu
        self._workers: list[Worker] = []

    def describe(self) -> str:
        cores = len(os.sched_getaffinity(0))
        each = min(self.cpus, cores)
        shared = self.workers * each > cores
        how = f" (one per {each} of the {cores} cores)" if self.chosen else f", {each} of {cores} CPUs each"
        return (f"{self.workers} local worker{'s' * (self.workers > 1)}{how}"
                + (" (they share CPUs: fewer workers would be as fast)" if shared else "")
                + (", their kernels sharing the GPU" if self.gpu else ""))

    def grade(self, jobs: list[GradingJob]) -> Iterator[tuple[GradingJob, SubmissionResult]]:
        if not jobs:
            return
        done: queue.Queue[tuple[GradingJob, SubmissionResult]] = queue.Queue()
        stop = threading.Event()
        count = min(self.workers, len(jobs))
        self._workers = [Worker(self.assignment, self.sandbox, slot, self.scratch / f"slot-{slot}", self.batch,
                                self.keep_root, self.gpu) for slot in range(count)]
        todo = JobQueue(jobs, count)
        threads = [threading.Thread(target=self._run, args=(worker, todo, done, stop), daemon=True)
                   for worker in self._workers]
        for thread in threads:
            thread.start()
        try:
            for _ in jobs:
                yield done.get()
        finally:
            stop.set()
            for thread in threads:
                thread.join()

    def _run(self, worker: Worker, todo: JobQueue, done: queue.Queue, stop: threading.Event) -> None:
        """One worker's loop: the next submission's sandbox started while the current one runs, and each
        submission checked while the next one runs (``JobQueue`` says which submission is next)."""
        checking: Future | None = None

        def check(job: GradingJob, executed: Executed | SubmissionResult) -> None:
            done.put((job, worker.check(job, executed)))

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"checks-{worker.slot}") as checks:
            job, started = todo.take(worker)
            while job is not None and not stop.is_set():
                if self.start_ahead:
                    todo.take_ahead(worker)  # its sandbox starts up while this one runs
                assert started is not None  # a job is taken started
                executed = worker.finish(job, started)
                if checking is not None:
                    checking.result()
                checking = checks.submit(check, job, executed)
                job, started = todo.next_for(worker)
            worker.cancel(todo.give_up(worker))  # stopped early: what was started and not run ends unused
            worker.cancel(started if job is not None else None)
            if checking is not None:
                checking.result()

    def close(self) -> None:
        for worker in self._workers:
            worker.close()


# --- Dask ---------------------------------------------------------------------------------------------------------

def _slot_of(worker_name: object) -> int:
    """A worker's CPU slot from its name: ``dask worker --name w --nworkers 2`` names them w-0 and w-1."""
    match = re.search(r"(\d+)$", str(worker_name))
    return int(match.group(1)) if match else 0


def describe_worker(reference: str, gpu: bool = False) -> dict:
    """Run on each worker before a batch: its grader's version, its copy of the assignment, and what else of the
    machine makes a score (its MNIST, the device)."""
    from grader.batch.cache import assignment_digest, grader_version, grading_environment

    try:
        digest = assignment_digest(load_assignment(reference))
    except GraderError as exc:
        digest = f"none ({exc})"
    return {"grader_version": grader_version(), "assignment_sha256": digest,
            "environment": grading_environment(gpu)}


WORKER_SCRATCH = "notebook-grader-worker-"  # then the worker process's pid: a dead one's folder is found again
_RESIDENT: dict[tuple, Worker] = {}
_RESIDENT_LOCK = threading.Lock()


def _resident_worker(job: GradingJob, assignment: Course, slot: int) -> Worker:
    """This Dask worker process's own worker (its checker stays between tasks), made at the batch's first job."""
    key = (job.assignment, job.assignment_sha256, job.sandbox, job.batch, job.gpu, slot)
    with _RESIDENT_LOCK:
        if key not in _RESIDENT:
            close_resident_workers(locked=True)  # one batch at a time: an earlier batch's worker goes
            scratch = Path(tempfile.mkdtemp(prefix=f"{WORKER_SCRATCH}{os.getpid()}-"))
            os.chmod(scratch, 0o711)  # the sandbox's unprivileged user passes through it to its own folder
            _RESIDENT[key] = Worker(assignment, job.sandbox, slot, scratch, job.batch, gpu=job.gpu)
        return _RESIDENT[key]


def close_resident_workers(locked: bool = False) -> int:
    """Stop this process's workers and their checkers (run on every Dask worker at the end of a batch), and remove
    what dead worker processes of this machine left in its temporary folder (a worker killed mid-batch)."""
    if not locked:
        with _RESIDENT_LOCK:
            return close_resident_workers(locked=True)
    for worker in _RESIDENT.values():
        worker.close()
    closed = len(_RESIDENT)
    _RESIDENT.clear()
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKER_SCRATCH}*-*"):
        pid = folder.name.removeprefix(WORKER_SCRATCH).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            unmount_under(folder)
            shutil.rmtree(folder, ignore_errors=True)
    return closed


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, killed and not yet waited for, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def grade_on_worker(job_data: dict, notebook: bytes) -> dict:
    """The task a Dask worker runs: grade one submission sent as bytes; the result comes back as JSON data.

    Once the notebook has run, the task leaves the worker's thread pool (``secede``) while its resident checker
    checks it, so that the worker starts executing the next submission: the same pipeline as a local worker's."""
    from distributed import get_worker, secede

    from grader.batch.cache import assignment_digest

    job = GradingJob(**job_data)
    assignment = load_assignment(job.assignment)
    if assignment_digest(assignment) != job.assignment_sha256:
        raise BatchError(f"this worker's copy of {assignment.name} differs from the batch's: update it")
    worker = _resident_worker(job, assignment, _slot_of(get_worker().name))
    inbox = Path(tempfile.mkdtemp(prefix="in-", dir=worker.scratch))
    path = inbox / f"{job.key}.ipynb"
    path.write_bytes(notebook)
    try:
        executed = worker.execute(GradingJob(**{**job_data, "notebook": str(path)}))
        secede()
        result = worker.check(job, executed)
    finally:
        shutil.rmtree(inbox, ignore_errors=True)
    return result.to_dict()


def _environment_difference(theirs: str, ours: str) -> str:
    """How a worker's grading environment differs from the batch's, in words."""
    try:
        them, us = json.loads(theirs), json.loads(ours)
    except ValueError:
        return f"grades with {theirs[:200]}, this batch with {ours}"
    words = {"mnist": "MNIST", "device": "device", "packages": "packages"}
    return "; ".join(f"has {words.get(key, key)} {them.get(key)!r}, this batch {us.get(key)!r}"
                     + (" (scripts/setup.sh installs the same on every machine)" if key != "device" else "")
                     for key in sorted(set(them) | set(us)) if them.get(key) != us.get(key))


class DaskPool:
    """The jobs sent to a Dask cluster's workers; results gathered as they come (a worker that dies costs only
    the retry of the submission it was grading: the scheduler gives it to another worker)."""

    def __init__(self, assignment: Course, address: str, assignment_sha256: str, grader_version: str,
                 environment: str, gpu: bool = False) -> None:
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
        self._check_workers(assignment_sha256, grader_version, environment, gpu)

    def _check_workers(self, assignment_sha256: str, grader_version: str, environment: str, gpu: bool) -> None:
        described = self.client.run(describe_worker, assignment_reference(self.assignment), gpu)
        if not described:
            raise BatchError("the Dask cluster has no workers yet: start them with `dask worker ADDRESS`")
        problems = []
        for worker, about in sorted(described.items()):
            if about["grader_version"] != grader_version:
                problems.append(f"{worker} runs grader {about['grader_version']}, this batch {grader_version}")
            if about["assignment_sha256"] != assignment_sha256:
                problems.append(f"{worker} has another version of {self.assignment.name}:"
                                f" {about['assignment_sha256'][:16]}, this batch {assignment_sha256[:16]}")
            if about.get("environment") != environment:
                problems.append(f"{worker} " + _environment_difference(str(about.get("environment")), environment))
        if problems:
            raise BatchError("the workers must grade with the same grader, assignment and data: " + "; ".join(problems))
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
        try:
            self.client.run(close_resident_workers)
        except Exception as exc:  # noqa: BLE001 - a worker gone already has nothing to close
            log.info("closing the workers' checkers: %s", exc)
        self.client.close()
