"""Handing in: validate the saved notebook, optionally run it as the grader will, and write the file to hand in.

read (as the grader reads it) → find each task's cells (as the grader finds them) → look for answers left as
``...`` → optionally execute it top to bottom in a fresh kernel, in the grader's sandbox, with the grader's
limits, and run the public checks on what it exported (no hidden check, no solution: only
``public_checks.json``) → copy the notebook, byte for byte, to the file to hand in, with its size and SHA-256.
"""
from __future__ import annotations

import copy
import hashlib
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from .errors import SandboxUnavailableError, SubmissionError
from .generate import PUBLIC_CHECKS_FILE
from .handout import SUBMISSION_SUFFIX, Handout
from .overview import first_line
from .results import TaskResult
from .submission import PreparedNotebook, prepare, read_submission

PLACEHOLDER_LINE = re.compile(r"^\s*[\w\[\]\.,\s]+=\s*\.\.\.\s*(#.*)?$|#\s*YOUR CODE HERE", re.M)


class SubmitStatus(IntEnum):
    """The exit code of ``grader submit``."""

    READY = 0  # the file to hand in was written; nothing found that would cost points
    PROBLEMS = 1  # the file was written, but something will cost points (see the report)
    UNREADABLE = 2  # nothing written: the notebook cannot be read as the grader reads it
    NOT_SAVED = 3  # nothing written: the notebook on disk is older than the last cell run (in a notebook)
    NO_SANDBOX = 4  # nothing written: --dry-run was asked for and no sandbox runs here


@dataclass(frozen=True)
class DryRun:
    """How the fresh run went: its time, and per task the public checks on what it left."""

    sandbox: str
    seconds: float
    tasks: tuple[TaskResult, ...]
    problem: str | None = None

    def lines(self) -> list[str]:
        lines = [f"Run top to bottom in a fresh kernel ({self.sandbox} sandbox, the grader's limits):"
                 f" {self.seconds:.1f} s"]
        if self.problem:
            lines.append(f"  {self.problem}")
        for task in self.tasks:
            found = task_problems(task)
            failed = found or not all(c.passed for c in task.checks)
            lines.append(f"  {'FAIL' if failed else 'PASS'} {task.title}: "
                         + ("; ".join(found) if found else "its public checks pass after a fresh run" if not failed
                            else "its public checks after a fresh run:"))
            lines.extend(f"       FAIL {c.title}: {first_line(c.message, 200)}" for c in task.checks if not c.passed)
        return lines

    @property
    def ok(self) -> bool:
        return not self.problem and not any(task_problems(t) or not all(c.passed for c in t.checks)
                                            for t in self.tasks)


def task_problems(task: TaskResult) -> list[str]:
    """Why a task would not be graded in full, from its feedback: a cell that failed, a run that stopped."""
    notes = [line for line in task.feedback.splitlines()
             if line and not line.startswith(("[", " ", "Not graded in full"))]
    found = [task.ungraded_reason] if task.ungraded_reason else []
    return found + [note for note in notes if note not in found]


@dataclass(frozen=True)
class SubmitReport:
    """What ``submit`` found and wrote."""

    notebook: Path
    status: SubmitStatus
    problems: tuple[str, ...] = ()
    written: Path | None = None
    size: int = 0
    sha256: str = ""
    dry_run: DryRun | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        lines = [f"{self.notebook.name}: " + {
            SubmitStatus.READY: "ready to hand in",
            SubmitStatus.PROBLEMS: "can be handed in, but some points will be lost",
        }.get(self.status, "NOT written")]
        lines.extend(f"  - {problem}" for problem in self.problems)
        lines.extend(f"  ({note})" for note in self.notes)
        if self.dry_run:
            lines.extend(self.dry_run.lines())
        if self.written:
            lines.append(f"Hand in: {self.written}")
            lines.append(f"  size {self.size:,} bytes, SHA-256 {self.sha256}")
        return "\n".join(lines)

    __repr__ = __str__


def unfinished_tasks(prepared: PreparedNotebook, handout: Handout) -> list[str]:
    """A sentence for each task whose cells are gone, or still hold a ``...`` placeholder."""
    problems = []
    for task in handout.spec.tasks:
        cells = prepared.cells_of_task(task.name)
        if not cells:
            problems.append(f"{task.title}: its cells were not found (deleted?); its variables are read at the"
                            " end of the notebook")
            continue
        left = [i for i in cells if PLACEHOLDER_LINE.search(prepared.notebook.cells[i].source)]
        if left:
            where = ", ".join(f"cell {i + 1} ({first_line(prepared.notebook.cells[i].source)})" for i in left)
            problems.append(f"{task.title}: not done, {where} still hold{'s' if len(left) == 1 else ''} a ... to"
                            " replace with your answer")
    return problems


def dry_run(prepared: PreparedNotebook, handout: Handout, sandbox) -> DryRun:
    """Execute as the grader does (same runner, sandbox, limits and exports), then only the public checks."""
    from .execution import execute
    from .grade import grade_task

    started = time.monotonic()
    spec = handout.spec
    with tempfile.TemporaryDirectory(prefix="dry-run-") as scratch:
        summary, export_dir = execute(prepared, spec, {PUBLIC_CHECKS_FILE: handout.text()}, sandbox,
                                      handout.limits, Path(scratch))
        tasks = tuple(grade_task(task, export_dir, summary, prepared.last_cell_of_task, prepared.notes,
                                      handout.limits) for task in spec.tasks)
    return DryRun(sandbox.name, time.monotonic() - started, tasks, summary.problem)


def write_copy(notebook: Path, out_dir: Path | None) -> tuple[Path, int, str]:
    target = (out_dir or notebook.parent) / f"{notebook.stem}{SUBMISSION_SUFFIX}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, target)
    data = target.read_bytes()
    return target, len(data), hashlib.sha256(data).hexdigest()


def submit(notebook: str | Path, handout: Handout, run: bool = False, sandbox_name: str = "auto",
           out_dir: str | Path | None = None) -> SubmitReport:
    """Validate ``notebook`` as saved on disk; with ``run``, execute it in a sandbox first; then write the copy."""
    notebook = Path(notebook)
    try:
        nb = read_submission(notebook)
    except (SubmissionError, OSError) as exc:
        return SubmitReport(notebook, SubmitStatus.UNREADABLE, (str(exc),))
    sandbox = None
    if run:
        from .sandbox.select import choose_sandbox

        try:
            sandbox = choose_sandbox(sandbox_name)
        except SandboxUnavailableError as exc:
            return SubmitReport(notebook, SubmitStatus.NO_SANDBOX,
                                (f"--dry-run needs a sandbox: {exc}; run without --dry-run to only validate",))
    prepared = prepare(copy.deepcopy(nb), handout.template(), handout.spec)
    problems = unfinished_tasks(prepared, handout)
    notes = tuple(n for n in prepared.notes if "were not found" not in n)
    ran = dry_run(prepared, handout, sandbox) if sandbox is not None else None
    if ran is not None and not ran.ok:
        problems.append("the fresh run found problems (below)")
    written, size, digest = write_copy(notebook, Path(out_dir) if out_dir else None)
    status = SubmitStatus.PROBLEMS if problems else SubmitStatus.READY
    return SubmitReport(notebook, status, tuple(problems), written, size, digest, ran, notes)
