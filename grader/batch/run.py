"""Batch grading: what an instructor downloaded into results, feedback and a gradebook.

intake (one notebook per student, ``submissions.json``) → jobs for the submissions without a reusable result →
a worker pool (this machine's, or a Dask cluster's) → each result written atomically as it arrives → gradebook.

A batch killed at any moment (SIGKILL included) loses only the submissions being graded: started again, it first
removes what the killed one left (partial files, scratch folders, mounts, containers), then grades only what has no
result graded from the same submission, assignment and grader (``grader/batch/cache.py``).
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from grader.batch.cache import (
    Provenance,
    assignment_digest,
    grader_version,
    grading_environment,
    provenance_of,
    reusable,
)
from grader.batch.workers import DaskPool, GradingJob, LocalPool, assignment_reference
from grader.course.assignment import Course
from grader.errors import BatchError, GraderError
from grader.files import atomic_write_text, remove_partial_files
from grader.intake.classlist import ClassList, save_class_list
from grader.intake.stage import Manifest, check_apart, intake, staged_path
from grader.output_folder import (  # noqa: F401
    EXECUTED,
    FEEDBACK,
    GRADEBOOK,
    RESULTS,
    load_results,
    read_result,
    read_results,
    write_result,
)
from grader.results import SubmissionResult
from grader.sandbox.container import remove_batch_containers
from grader.sandbox.staging import unmount_under
from grader.spec import Limits

if TYPE_CHECKING:
    from grader.reports.late import LatePolicy

log = logging.getLogger(__name__)
LOCK = ".batch.lock"


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did."""

    graded: int
    skipped: int
    failed: int
    gradebook: Path
    manifest: Manifest
    workers: str = ""
    cleaned: tuple[str, ...] = field(default_factory=tuple)


def batch_id(out_dir: Path) -> str:
    return hashlib.sha256(str(out_dir.resolve()).encode()).hexdigest()[:12]


def scratch_root(out_dir: Path) -> Path:
    """The batch's temporary folder: under /tmp (the sandbox's user can reach it), one per output folder."""
    return Path(tempfile.gettempdir()) / f"notebook-grader-batch-{batch_id(out_dir)}"


@contextmanager
def batch_lock(out_dir: Path) -> Iterator[None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / LOCK).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another batch is writing into {out_dir}: wait for it, or choose another --out") \
                from None
        yield


def clean_leftovers(out_dir: Path) -> list[str]:
    """Remove what a killed batch of the same output folder left: partial files, mounts, scratch, containers."""
    said = []
    partial = remove_partial_files(out_dir)
    if partial:
        said.append(f"{partial} partly written files")
    scratch = scratch_root(out_dir)
    mounts = unmount_under(scratch)
    if mounts:
        said.append(f"{mounts} mounts")
    if scratch.exists():
        shutil.rmtree(scratch, ignore_errors=True)
        said.append(f"the scratch folder {scratch}")
    containers = remove_batch_containers(batch_id(out_dir))
    if containers:
        said.append(f"{containers} containers")
    return said


def write_gradebook(out_dir: Path, assignment: Course, results: dict[str, SubmissionResult],
                    keys: Sequence[str] = ()) -> Path:
    """``gradebook.csv``: a row per student of the class list or the download (``grader/reports/standing.py``);
    and the text feedback of ``keys`` as reviewed (a reviewer's changes, the late penalty in it)."""
    from grader.reports.gradebook import write_gradebook as write  # (grader.reports reads results through this module)
    from grader.reports.roster import load_roster
    from grader.reports.standing import class_standing, feedback_text

    standing = class_standing(out_dir, assignment, results, load_roster(out_dir))
    for key in keys:
        atomic_write_text(out_dir / FEEDBACK / f"{key}.txt", feedback_text(standing, key))
    write(standing, assignment, out_dir / GRADEBOOK)
    return out_dir / GRADEBOOK


def only_keys(manifest: Manifest, wanted: Sequence[str]) -> list[str]:
    """The submissions ``--only`` names: by key, user id or student name (any case); a name that matches none, or
    a name that matches several students, is an error that lists them."""
    chosen = []
    for name in wanted:
        text = name.strip().lower().removesuffix(".ipynb")
        exact = [s.key for s in manifest.submissions if s.key.lower() == text]
        found = exact or [s.key for s in manifest.submissions
                          if text in ((s.user_id or "").lower(), s.student.lower())]
        if not found:
            keys = manifest.keys()
            raise BatchError(f"--only {name}: no submission of the download has that key, user id or student name"
                             f" (the keys: {', '.join(keys[:20])}{', ...' if len(keys) > 20 else ''})")
        if len(found) > 1:
            raise BatchError(f"--only {name}: several submissions match ({', '.join(found)}): give the key")
        chosen += [k for k in found if k not in chosen]
    return chosen


def _backup_reviews(out_dir: Path) -> None:
    from grader.reviews.store import backup_reviews

    backup_reviews(out_dir)


def grade_folder(source: Path, assignment: Course, out_dir: Path, sandbox: str = "auto",
                 workers: int | None = None, redo: bool = False,
                 progress: Callable[[SubmissionResult], None] | None = None, limits: Limits | None = None,
                 scheduler: str | None = None, start_ahead: bool = True,
                 on_plan: Callable[[int, int, str], None] | None = None, gpu: bool = False,
                 only: Sequence[str] = (), class_list: ClassList | None = None,
                 policy: LatePolicy | None = None) -> BatchSummary:
    """Grade every submission in ``source`` (a folder or a zip, any layout ``grader/intake`` knows) into
    ``out_dir``; ``on_plan(to_grade, reused, workers)`` is told the plan before grading starts; ``gpu``: the
    students' code runs on the machine's GPUs (each worker machine's own, on a cluster). ``only``: grade these
    submissions again (keys, user ids or names) and no other; every other result is kept as it is, and every
    review in the output folder stays. A class list or late policy given is kept in ``out_dir`` for the reports."""
    limits = limits or assignment.spec.limits
    check_apart(source, out_dir)  # before anything in out_dir is touched
    with batch_lock(out_dir):
        cleaned = clean_leftovers(out_dir)
        manifest = intake(source, out_dir, assignment.name, assignment.student_notebook_path.name)
        if class_list is not None:
            save_class_list(class_list, out_dir)
        if policy is not None:
            from grader.reports.late import save_policy

            save_policy(policy, out_dir)
        chosen = only_keys(manifest, only) if only else []
        digest = assignment_digest(assignment)
        version = grader_version()
        environment = grading_environment(gpu)
        wanted: dict[str, Provenance] = {s.key: provenance_of(staged_path(out_dir, s.key), digest, limits,
                                                              environment) for s in manifest.submissions}
        todo = chosen or [k for k in manifest.keys()
                          if redo or not reusable(read_result(out_dir, k) or {}, wanted[k])]
        results = load_results(out_dir, [k for k in manifest.keys() if k not in todo])  # read once; kept current
        if not chosen:
            todo += [k for k in manifest.keys() if k not in todo and k not in results]  # damaged: graded again
        jobs = [GradingJob(key=k, notebook=str(staged_path(out_dir, k)), assignment=assignment_reference(assignment),
                           assignment_sha256=digest, grader_version=version, sandbox=sandbox,
                           limits=asdict(limits), batch=batch_id(out_dir), gpu=gpu) for k in todo]
        pool = DaskPool(assignment, scheduler, digest, version, environment, gpu) if scheduler else \
            LocalPool(assignment, workers, scratch_root(out_dir), out_dir / EXECUTED, cpus=limits.cpus,
                      sandbox=sandbox, batch=batch_id(out_dir), start_ahead=start_ahead, gpu=gpu)
        gradebook = out_dir / GRADEBOOK
        failed = 0
        if on_plan:
            on_plan(len(jobs), len(manifest.submissions) - len(jobs), pool.describe())
        try:
            for job, result in pool.grade(jobs):
                result = replace(result, provenance=wanted[job.key].to_dict())
                failed += result.grader_failed
                write_result(result, out_dir, job.key)
                results[job.key] = result
                try:
                    write_gradebook(out_dir, assignment, results, [job.key])
                except GraderError as exc:  # the result is written; the gradebook is made again at the end
                    log.warning("gradebook.csv not updated: %s", exc)
                if progress:
                    progress(result)
        finally:
            pool.close()
            unmount_under(scratch_root(out_dir))  # what a slot that failed mid-run left mounted
            shutil.rmtree(scratch_root(out_dir), ignore_errors=True)
        try:
            write_gradebook(out_dir, assignment, results, list(results))
            _backup_reviews(out_dir)
        except GraderError as exc:  # every result is written: `grader report` makes the outputs once it is fixed
            log.warning("gradebook.csv not written: %s", exc)
    return BatchSummary(graded=len(jobs), skipped=len(manifest.submissions) - len(jobs), failed=failed,
                        gradebook=gradebook, manifest=manifest, workers=pool.describe(), cleaned=tuple(cleaned))

