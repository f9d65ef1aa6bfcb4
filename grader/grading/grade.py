"""Grading one submission, as one page of named steps.

read → prepare → execute in the sandbox (``execute_submission``) → load evidence → score → result
(``check_executed``).  ``grade_submission`` does both in one process; a batch's worker executes the next
submission while its resident checker (``grader/grading/checker.py``) checks the last one, with the same two functions.
A submission's fault at any step becomes a result with a reason, never an exception.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from grader.checks.base import Missing
from grader.course.assignment import Course
from grader.errors import SubmissionError
from grader.grading.evidence import load_task_evidence
from grader.grading.execution import ExecutionSummary, StartedExecution, cell_problem, start_execution, stop_problem
from grader.grading.scoring import score_task
from grader.grading.submission import prepare, read_submission
from grader.results import SubmissionResult, TaskResult
from grader.sandbox.base import Sandbox
from grader.spec import Limits, TaskSpec

log = logging.getLogger(__name__)


def grade_submission(path: str | Path, assignment: Course, sandbox: Sandbox, limits: Limits | None = None,
                     keep: Path | None = None) -> SubmissionResult:
    """Grade the notebook at ``path``; ``keep`` is a folder to keep the executed notebook in.

    The checks run in a checker process of their own (``grader/grading/checker.py``), started first: its imports and
    data overlap the notebook's run, and its time limit (``limits.check_timeout_s``) holds however slow the checks."""
    from grader.course.assignment import assignment_reference
    from grader.grading.checker import ChecksTooSlow, ResidentChecker

    limits = limits or assignment.spec.limits
    with tempfile.TemporaryDirectory(prefix="grading-") as folder:
        checker = ResidentChecker(assignment_reference(assignment), timeout_s=limits.check_timeout_s,
                                  log_dir=Path(folder) / "checker")
        try:
            executed = execute_submission(path, assignment, sandbox, limits, Path(folder))
            if isinstance(executed, SubmissionResult):
                return executed
            try:
                return SubmissionResult.from_dict(checker.check(executed.to_wire(), str(keep) if keep else None))
            except ChecksTooSlow as exc:
                return zero_result(Path(path), assignment, sandbox.name, str(exc), str(exc),
                                   executed.summary.to_dict())
        finally:
            checker.close(graceful=False)


@dataclass(frozen=True)
class Executed:
    """A submission executed in its sandbox and not yet checked: what the checks read, as data (it crosses to a
    resident checker's process as JSON: ``to_wire``/``from_wire``)."""

    submission: str  # the notebook's path on the host
    sandbox: str
    export_dir: str
    executed_notebook: str  # written by the host from the runner's report ("" when there was none)
    summary: ExecutionSummary
    last_cell_of_task: Mapping[str, int | None]
    notes: tuple[str, ...]
    limits: Limits
    datasets: Mapping[str, str]
    phases: Mapping[str, float]

    def to_wire(self) -> dict[str, Any]:
        return {"submission": self.submission, "sandbox": self.sandbox, "export_dir": self.export_dir,
                "executed_notebook": self.executed_notebook,
                "summary": self.summary.to_wire(), "last_cell_of_task": dict(self.last_cell_of_task),
                "notes": list(self.notes), "limits": asdict(self.limits), "datasets": dict(self.datasets),
                "phases": dict(self.phases)}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Executed":
        return cls(submission=str(data["submission"]), sandbox=str(data["sandbox"]),
                   export_dir=str(data["export_dir"]), executed_notebook=str(data["executed_notebook"]),
                   summary=ExecutionSummary.from_wire(data["summary"]),
                   last_cell_of_task=dict(data["last_cell_of_task"]), notes=tuple(data["notes"]),
                   limits=Limits.from_dict(data["limits"]), datasets=dict(data["datasets"]),
                   phases=dict(data["phases"]))


def execute_submission(path: str | Path, assignment: Course, sandbox: Sandbox, limits: Limits,
                       folder: Path) -> Executed | SubmissionResult:
    """Read, prepare and execute the notebook in ``sandbox`` (its files under ``folder``): what the checks need,
    or already a result when there is nothing to check (the notebook unreadable, the wrong data set)."""
    started = start_submission(path, assignment, sandbox, limits, folder)
    return started if isinstance(started, SubmissionResult) else started.finish()


@dataclass
class StartedSubmission:
    """A submission read, prepared, its files written and its sandbox started ahead, waiting to run."""

    path: Path
    assignment: Course
    execution: StartedExecution
    used: Mapping[str, str]
    clock: "_Phases"

    def finish(self) -> Executed | SubmissionResult:
        """Run it: the sandbox's time limits start now."""
        self.clock.restart()
        summary, export_dir = self.execution.finish()
        self.clock.lap("sandbox")
        sandbox = self.execution.sandbox.name
        mismatch = _dataset_mismatch(self.used, summary)
        if mismatch:
            return zero_result(self.path, self.assignment, sandbox, mismatch, mismatch, summary.to_dict())
        prepared = self.execution.prepared
        notebook = self.execution.executed_notebook
        return Executed(submission=str(self.path), sandbox=sandbox, export_dir=str(export_dir),
                        executed_notebook=str(notebook) if notebook.is_file() else "", summary=summary,
                        last_cell_of_task=dict(prepared.last_cell_of_task), notes=tuple(prepared.notes),
                        limits=self.execution.limits, datasets=self.used, phases=self.clock.seconds)

    def cancel(self) -> None:
        self.execution.cancel()


def start_submission(path: str | Path, assignment: Course, sandbox: Sandbox, limits: Limits,
                     folder: Path) -> StartedSubmission | SubmissionResult:
    """Read and prepare the notebook, write its files under ``folder`` and start its sandbox; or a result when
    the notebook cannot be read."""
    path = Path(path)
    spec = assignment.spec
    clock = _Phases()
    try:
        prepared = prepare(assignment.clean_submission(read_submission(path)), assignment.template(), spec)
    except SubmissionError as exc:
        return zero_result(path, assignment, sandbox.name, str(exc), f"the notebook could not be read: {exc}")
    used = datasets_used(spec)
    started = start_execution(prepared, spec, assignment.handouts(), sandbox, limits, folder)
    clock.lap("read_and_prepare")
    return StartedSubmission(path, assignment, started, used, clock)


def check_executed(executed: Executed, assignment: Course) -> SubmissionResult:
    """Score each task from the evidence an execution left (never running student code).  The same whether it runs
    in the grading process or in a checks child of a resident checker (which keeps the executed notebook after,
    its ``keep`` phase)."""
    spec = assignment.spec
    clock = _Phases()
    export_dir = Path(executed.export_dir)
    graded: list[TaskResult] = []
    counted: dict[str, str] = {}  # the mistakes counted so far, across the tasks (one mistake costs once)
    for task in spec.tasks:
        graded.append(grade_task(task, export_dir, executed.summary, executed.last_cell_of_task, executed.notes,
                                executed.limits, counted))
        clock.lap(f"checks:{task.name}")
    checks_seconds = sum(clock.seconds.values())
    tasks = tuple(graded)
    execution = {**executed.summary.to_dict(), "checks_seconds": round(checks_seconds, 2),
                 "datasets": dict(executed.datasets), "phases": {**executed.phases, **clock.seconds}}
    return SubmissionResult(submission=Path(executed.submission).name, assignment=spec.name,
                            points=sum(t.points for t in tasks), max_points=spec.max_points, tasks=tasks,
                            sandbox=executed.sandbox, execution=execution, error=executed.summary.problem)


class _Phases:
    """Where one grading's time went, phase by phase, in the host's process (``execution.phases``); the sandbox's
    share is split further by the runner's own times (``execution.kernel_seconds``: the kernel's start and imports
    ahead, before its turn; ``execution.runner_seconds``: first cell to last probe)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def restart(self) -> None:
        """Count from now (a submission started ahead waited for its turn: not its time)."""
        self._last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self._last, 3)
        self._last = now


def grade_task(task: TaskSpec, export_dir: Path, summary: ExecutionSummary,
               last_cell_of_task: Mapping[str, int | None], prepared_notes: tuple[str, ...],
               limits: Limits, counted: dict[str, str] | None = None) -> TaskResult:
    evidence = load_task_evidence(export_dir, task, summary.probes, summary.figures.get(task.name, {}),
                                  summary.left_out)
    reason = None
    if all(isinstance(v, Missing) for v in evidence.values()):
        reason = _task_problem(task, summary, last_cell_of_task, limits)
    notes = tuple(n for n in prepared_notes if task.title in n)
    notes += tuple(f"the kernel died later in the notebook, so {variable} was tried in a fresh kernel that ran your"
                   " code cells again up to the end of this task" for variable in task.exports
                   if variable in summary.replayed)
    notes += tuple(p for c in summary.cells if c.task == task.name and c.status != "kernel_died"
                   for p in [cell_problem(c, limits)] if p)
    return score_task(task, evidence, reason, notes, counted)


def _task_problem(task: TaskSpec, summary: ExecutionSummary, last_cell_of_task: Mapping[str, int | None],
                  limits: Limits) -> str | None:
    stopped_here = ("timeout", "notebook_timeout", "kernel_died")
    own = [c for c in summary.cells if c.task == task.name and c.status in stopped_here]
    if own:
        return cell_problem(own[0], limits)
    last = last_cell_of_task.get(task.name)
    ran = {c.index for c in summary.cells if c.status != "not_run"}
    if summary.problem or (last is not None and last not in ran) or (last is None and summary.stopped):
        return stop_problem(summary, limits)
    return None


def datasets_used(spec) -> dict[str, str]:
    """Each data set the assignment's checks read, and which files this machine has for it."""
    from grader.inside import datasets

    names = sorted({str(c.params["dataset"]) for t in spec.tasks for c in t.checks if "dataset" in c.params}
                   | {str(c.params["image"]["dataset"]) for t in spec.tasks for c in t.checks
                      if isinstance(c.params.get("image"), dict)})
    return {name: datasets.source_of(name) for name in names}


def _dataset_mismatch(used: Mapping[str, str], summary: ExecutionSummary) -> str | None:
    inside = summary.datasets.get("mnist")
    if "mnist" in used and inside and inside != used["mnist"]:
        return (f"the sandbox loaded MNIST from {inside} but the grader has {used['mnist']}: an instructor must"
                " install the same MNIST for both (scripts/setup.sh, scripts/build-image.sh)")
    return None


def zero_result(path: Path, assignment: Course, sandbox: str, error: str, task_reason: str,
          execution: dict | None = None) -> SubmissionResult:
    """A result of no points: the submission could not be graded, each task says why."""
    tasks = tuple(score_task(task, {}, task_reason) for task in assignment.spec.tasks)
    return SubmissionResult(submission=path.name, assignment=assignment.name, points=0.0,
                            max_points=assignment.spec.max_points, tasks=tasks, sandbox=sandbox,
                            execution=execution or {}, error=error)


def keep_executed_notebook(executed_notebook: str, keep: Path) -> None:
    """Keep the executed notebook (written by the host from the runner's report; none when there was none)."""
    keep.mkdir(parents=True, exist_ok=True)
    if executed_notebook:
        shutil.copyfile(executed_notebook, keep / "executed.ipynb")
