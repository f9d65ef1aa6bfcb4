"""Handing in: validate the saved notebook, optionally run it as the grader will, and write the file to hand in.

read (as the grader reads it) → find each task's cells (as the grader finds them) → look for answers left as
``...`` and for errors its saved outputs show → optionally execute it top to bottom in a fresh kernel with the
grader's limits (in the grader's sandbox where this machine has one, else on this machine: ``local_run.py``),
run the public checks on what it exported, and measure what the task text states (the accuracies, the callback
stopping: ``stated.py``) on the data this machine has; no hidden check, no solution: only ``public_checks.json``
→ copy the notebook, byte for byte, to the file to hand in, with its size and SHA-256.  The report says what was
checked and what was not.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, Mapping

from grader.course.coverage import left_out_lines, left_out_points
from grader.course.generate import PUBLIC_CHECKS_FILE
from grader.course.handout import SUBMISSION_SUFFIX, Handout
from grader.course.stated import not_stated, promise, read_stated
from grader.errors import DatasetUnavailableError, SandboxUnavailableError, SubmissionError
from grader.grading.submission import MAX_NOTEBOOK_BYTES, PreparedNotebook, prepare, read_submission
from grader.results import CheckResult, TaskResult
from grader.spec import AssignmentSpec, CheckSpec, TaskSpec
from grader.student.local_run import LOCAL, LocalLimits, LocalRun
from grader.student_text import cut_code, one_line

log = logging.getLogger(__name__)
PLACEHOLDER_LINE = re.compile(r"^\s*[\w\[\]\.,\s]+=\s*\.\.\.\s*(#.*)?$|#\s*YOUR CODE HERE", re.M)
DATA_NAMES = {"fashion_mnist": "Fashion-MNIST"}
ANSWER_KINDS = ("choice", "number", "shape")  # hidden checks of an answer: their public twins check its form


class SubmitStatus(IntEnum):
    """The exit code of ``grader submit``."""

    READY = 0  # the file to hand in was written; nothing found that would cost points
    PROBLEMS = 1  # the file was written, but something will cost points (see the report)
    UNREADABLE = 2  # nothing written: the notebook cannot be read as the grader reads it
    NOT_SAVED = 3  # nothing written: the notebook on disk is older than the last cell run (in a notebook)
    NO_SANDBOX = 4  # nothing written: --dry-run in a sandbox named with --sandbox that this machine lacks


@dataclass(frozen=True)
class DryRun:
    """How the fresh run went: where and how long, the limits applied, and per task its public checks and what its
    text states (``public`` counts the first checks of each task that are public; the others are stated)."""

    where: str
    seconds: float
    tasks: tuple[TaskResult, ...]
    public: Mapping[str, int]
    problem: str | None = None
    limits: LocalLimits | None = None  # a run on this machine: the limits it applied and those it could not
    data: tuple[str, ...] = ()  # the data sets the stated checks measured on
    unmeasured: tuple[str, ...] = ()  # stated checks that could not be measured here, and why

    def public_checks(self, task: TaskResult) -> tuple[CheckResult, ...]:
        return task.checks[:self.public[task.name]]

    def stated_checks(self, task: TaskResult) -> tuple[CheckResult, ...]:
        return task.checks[self.public[task.name]:]

    def lines(self) -> list[str]:
        lines = [f"Run from the top in a fresh kernel, {self.where}: {self.seconds:.1f} s"]
        if self.limits:
            lines.append(f"  the grader's limits applied: {'; '.join(self.limits.applied)} (the others: below)")
        if self.problem:
            lines.append(f"  {self.problem}")
        for task in self.tasks:
            found = task_problems(task)
            checks = self.public_checks(task)
            failed = found or not all(c.passed for c in checks)
            lines.append(f"  {'FAIL' if failed else 'PASS'} {task.title}: "
                         + ("; ".join(found) if found else "its public checks pass after a fresh run" if not failed
                            else "its public checks after a fresh run:"))
            lines.extend(f"       FAIL {c.title}: {first_line(c.message, 200)}" for c in checks if not c.passed)
        stated = [(task, check) for task in self.tasks for check in self.stated_checks(task)]
        if stated:
            lines.append("What the task text states, measured here as the grader measures it"
                         + (f" ({'; '.join(self.data)})" if self.data else "") + ":")
            lines.extend(f"  {'PASS' if check.passed else 'FAIL'} {task.title}: {check.title}:"
                         f" {first_line(check.message.replace('measured by the grader', 'measured here', 1), 300)}"
                         for task, check in stated)
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
    """What ``submit`` found and wrote, and what it checked and did not."""

    notebook: Path
    status: SubmitStatus
    problems: tuple[str, ...] = ()
    written: Path | None = None
    size: int = 0
    sha256: str = ""
    dry_run: DryRun | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    checked: tuple[str, ...] = ()
    not_checked: tuple[str, ...] = ()

    def headline(self) -> str:
        if self.status == SubmitStatus.READY and self.dry_run is not None:
            return ("ready to hand in: it ran from the top in a fresh kernel, and every check it could be given here"
                    " passed")
        if self.status == SubmitStatus.READY:
            return "ready to hand in, as far as the saved file shows: nothing was run (see what was not checked)"
        if self.status == SubmitStatus.PROBLEMS:
            return "can be handed in, but some points will be lost"
        return "NOT written"

    def __str__(self) -> str:
        lines = [f"{self.notebook.name}: {self.headline()}"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        lines.extend(f"  ({note})" for note in self.notes)
        if self.dry_run:
            lines.extend(self.dry_run.lines())
        if self.checked:
            lines.append("Checked:")
            lines.extend(f"  - {line}" for line in self.checked)
        if self.not_checked:
            lines.append("Not checked:")
            for item in self.not_checked:
                first, *more = item.split("\n")
                lines.append(f"  - {first}")
                lines.extend(f"      {line}" for line in more)
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
            where = ", ".join(where_in(prepared.notebook, i) for i in left)
            problems.append(f"{task.title}: not done, {where} still hold{'s' if len(left) == 1 else ''} a ... to"
                            " replace with your answer")
    return problems


def first_line(text: str, width: int = 60) -> str:
    """The first line of a cell, or of a message, that is not blank, at most ``width`` characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return cut_code(lines[0], width) if lines else "(empty)"


# -- the saved outputs


def code_cell_numbers(nb: Any) -> dict[int, int]:
    """{cell index: its number among the code cells} (markdown cells do not count, as in the grader's messages)."""
    code = (index for index, cell in enumerate(nb.cells) if cell.cell_type == "code")
    return {index: number for number, index in enumerate(code, start=1)}


def where_in(nb: Any, index: int, line: int | None = None) -> str:
    """``code cell 3, line 2 (answer = x * sevn)``, or ``code cell 3 (starting x = 6)``."""
    from grader.grading.cell_errors import line_of

    where = f"code cell {code_cell_numbers(nb).get(index, index + 1)}"
    text = line_of(nb.cells[index].source, line) if line else ""
    if text:
        return f"{where}, line {line} ({cut_code(text, 80)})"
    return f"{where} (starting {first_line(nb.cells[index].source)})"


def saved_text(notebook: Path) -> str | None:
    """The notebook file with its outputs, or None when it is larger than the grader reads."""
    try:
        if notebook.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None
        return notebook.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def saved_cells(text: str | None, cell_count: int) -> list[Mapping[str, Any]] | None:
    """The notebook's cells with their saved outputs, read as untrusted JSON; None when they cannot be read, or do
    not match the cells read without outputs."""
    from grader.errors import EvidenceError
    from grader.untrusted import JsonLimits, parse_json

    if text is None:
        return None
    try:
        data = parse_json(text, JsonLimits(max_bytes=len(text.encode()), max_depth=64, max_entries=len(text)))
    except EvidenceError:
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or len(cells) != cell_count or not all(isinstance(c, dict) for c in cells):
        return None
    return cells


def saved_errors(nb: Any, text: str | None, cells: list[Mapping[str, Any]] | None) -> list[str]:
    """A sentence for each code cell whose saved output shows an error: the grader runs it again."""
    from grader.grading.cell_errors import failing_lines

    failed = {}
    for index, (cell, saved) in enumerate(zip(nb.cells, cells or ())):
        outputs = saved.get("outputs") if cell.cell_type == "code" else None
        error = next((o for o in outputs if isinstance(o, dict) and o.get("output_type") == "error"), None) \
            if isinstance(outputs, list) else None
        if error is not None:
            failed[index] = error
    lines = failing_lines(text or "", failed)
    return [f"{where_in(nb, index, lines.get(index))}, as last run, raised {one_line(error.get('ename', ''), 100)}:"
            f" {one_line(error.get('evalue', ''), 300)} (its saved output shows it): the grader runs every cell"
            " again from the top; fix it, then Restart and Run All, and save" for index, error in failed.items()]


def never_run(nb: Any, cells: list[Mapping[str, Any]] | None) -> bool:
    """Whether no code cell of the saved notebook shows that it ran (no execution count, no output)."""
    code = [(c, s) for c, s in zip(nb.cells, cells or [{}] * len(nb.cells)) if c.cell_type == "code"
            and c.source.strip()]
    return bool(code) and all(c.get("execution_count") is None and not s.get("outputs") for c, s in code)


# -- the run


def choose_dry_run_sandbox(name: str = "auto") -> Any:
    """Where a dry run runs: ``local`` on this machine; ``auto`` in the grading container when its image is here
    (the grader's very conditions), else on this machine; ``container`` or ``bubblewrap`` that sandbox, or an error
    (``SandboxUnavailableError``).  Bubblewrap is never taken by ``auto``: it shows the notebook only the data
    sets installed for the grader, which a student's machine rarely has, and no network to download them."""
    from grader.sandbox.select import choose_sandbox

    if name == LOCAL:
        return LocalRun()
    if name == "auto":
        try:
            return choose_sandbox("container")
        except SandboxUnavailableError as exc:
            log.info("no grading container here (%s): the dry run runs on this machine", exc)
            return LocalRun(why=str(exc))
    return choose_sandbox(name)


def with_stated(spec: AssignmentSpec, stated: Mapping[str, tuple[CheckSpec, ...]]) -> AssignmentSpec:
    """The public spec with each task's stated checks after its public ones (the run exports and probes for them
    too: the callback is called with the stated threshold's accuracies)."""
    tasks = tuple(TaskSpec(t.name, t.title, dict(t.exports), t.checks + stated.get(t.name, ())) for t in spec.tasks)
    return AssignmentSpec(spec.name, spec.title, tasks, spec.limits)


def data_of(checks: list[CheckSpec], ran_with: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """For the data sets the stated checks measure on: ({name: which files this machine has}, {name: why it cannot
    measure on it})."""
    from grader.inside import datasets

    found, missing = {}, {}
    for name in sorted({str(c.params["dataset"]) for c in checks if "dataset" in c.params}):
        try:
            found[name] = datasets.describe_mnist(datasets.mnist_source()) if name == "mnist" \
                else f"{DATA_NAMES.get(name, name)} from {datasets.find(name)}"
        except DatasetUnavailableError as exc:
            missing[name] = f"the data set is not on this machine ({exc})"
            continue
        inside = ran_with.get(name)
        if name == "mnist" and inside and inside != datasets.mnist_source():
            missing[name] = f"the notebook ran with another MNIST ({inside}) than this machine has"
            found.pop(name)
    return found, missing


def dry_run(prepared: PreparedNotebook, handout: Handout, sandbox: Any) -> DryRun:
    """Execute as the grader does (same runner, limits and exports; a sandbox, or this machine), then the public
    checks, and the stated checks on the data this machine has."""
    from grader.grading.execution import execute
    from grader.grading.grade import grade_task

    started = time.monotonic()
    spec = handout.spec
    stated = read_stated(handout.text())
    with tempfile.TemporaryDirectory(prefix="dry-run-") as scratch:
        summary, export_dir = execute(prepared, with_stated(spec, stated), {PUBLIC_CHECKS_FILE: handout.text()},
                                      sandbox, handout.limits, Path(scratch))
        found, missing = data_of([c for checks in stated.values() for c in checks], summary.datasets)
        tasks, unmeasured = [], []
        for task in spec.tasks:
            measured = []
            for check in stated.get(task.name, ()):
                why = missing.get(str(check.params.get("dataset")))
                if why:
                    unmeasured.append(f"{task.title}: {promise(check)}: not measured, {why}")
                else:
                    measured.append(check)
            run_task = TaskSpec(task.name, task.title, dict(task.exports), task.checks + tuple(measured))
            tasks.append(grade_task(run_task, export_dir, summary, prepared.last_cell_of_task, prepared.notes,
                                    handout.limits))
    local = isinstance(sandbox, LocalRun)
    where = "on this machine, without a sandbox" if local else f"in the {sandbox.describe()} sandbox"
    limits = sandbox.limits_of(handout.limits) if local else None
    return DryRun(where, time.monotonic() - started, tuple(tasks), {t.name: len(t.checks) for t in spec.tasks},
                  summary.problem, limits, tuple(found.values()), tuple(unmeasured))


# -- what was checked, and what was not


def hidden_lines(handout: Handout, stated: Mapping[str, tuple[CheckSpec, ...]]) -> list[str]:
    """The grader's own checks that nothing here can run (their parameters are in the solution), per task."""
    lines = []
    for task in handout.spec.tasks:
        rest = not_stated(handout.left_out.get(task.name, ()), stated.get(task.name, ()))
        if not rest:
            continue
        answers = [item.evidence for item in rest if item.kind in ANSWER_KINDS]
        phrases = left_out_lines(item for item in rest if item.kind not in ANSWER_KINDS)
        if answers:
            phrases.append(f"whether {', '.join(answers)} {'is' if len(answers) == 1 else 'are'} right (here only"
                           " the form of an answer is checked)")
        points = left_out_points(rest)
        lines.append(f"{task.title} ({points:g} point{'s' if points != 1 else ''}): " + "; ".join(phrases))
    return lines


def coverage(handout: Handout, notebook: Path, ran: DryRun | None, saved_read: bool,
             stated: Mapping[str, tuple[CheckSpec, ...]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(what was checked, what was not), as lines."""
    limits = handout.limits
    checked = ["the notebook reads as the grader reads it, and each task's cells were found as the grader finds"
               " them (a task whose cells are gone, or an answer still `...`, is named above)"]
    not_checked = []
    if ran is None:
        if saved_read:
            checked.append("the errors its saved outputs show, from when you last ran it (named above)")
        else:
            not_checked.append("its saved outputs: the file is larger than the grader reads")
        not_checked.append(f"nothing was run: whether it runs from the top in a fresh kernel within the grader's"
                           f" limits ({limits.cell_timeout_s:g} s a cell, {limits.notebook_timeout_s:g} s in all),"
                           " and the public checks on what it computes (`check_all()` runs them in your notebook);"
                           f" `grader submit --dry-run {notebook.name}` runs it as the grader will")
        not_checked.extend(f"what the task text states, which a dry run measures: {task.title}: {promise(check)}"
                           for task in handout.spec.tasks for check in stated.get(task.name, ()))
    else:
        checked.append(f"it ran from the top in a fresh kernel, {ran.where}, and the public checks ran on what it"
                       " left (above)")
        if any(ran.stated_checks(t) for t in ran.tasks):
            checked.append("what the task text states (the accuracies to reach, the training stopping), measured"
                           " here on the data this machine has; the grader measures it on its own copy of the data")
        not_checked.extend(ran.unmeasured)
        if ran.limits:
            not_checked.extend(f"not applied here: {line}" for line in ran.limits.not_applied)
    hidden = hidden_lines(handout, stated)
    if hidden:
        not_checked.append("\n".join(["the grader's own checks, which need the solution (you do not have it):",
                                       *hidden]))
    return tuple(checked), tuple(not_checked)


def write_copy(notebook: Path, out_dir: Path | None) -> tuple[Path, int, str]:
    target = (out_dir or notebook.parent) / f"{notebook.stem}{SUBMISSION_SUFFIX}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, target)
    data = target.read_bytes()
    return target, len(data), hashlib.sha256(data).hexdigest()


def submit(notebook: str | Path, handout: Handout, run: bool = False, sandbox_name: str = "auto",
           out_dir: str | Path | None = None) -> SubmitReport:
    """Validate ``notebook`` as saved on disk; with ``run``, execute it first (in the grading container where this
    machine has it, else on this machine: see ``choose_dry_run_sandbox``); then write the copy."""
    notebook = Path(notebook)
    try:
        nb = read_submission(notebook)
    except (SubmissionError, OSError) as exc:
        return SubmitReport(notebook, SubmitStatus.UNREADABLE, (str(exc),))
    sandbox = None
    if run:
        try:
            sandbox = choose_dry_run_sandbox(sandbox_name)
        except SandboxUnavailableError as exc:
            return SubmitReport(notebook, SubmitStatus.NO_SANDBOX,
                                (f"--dry-run --sandbox {sandbox_name}: {exc}; leave --sandbox out to run it on this"
                                 " machine",))
    stated = read_stated(handout.text())
    prepared = prepare(copy.deepcopy(nb), handout.template(), handout.spec)
    problems = unfinished_tasks(prepared, handout)
    notes = [n for n in prepared.notes if "were not found" not in n]
    text = saved_text(notebook)
    cells = saved_cells(text, len(nb.cells))
    ran = None
    if sandbox is None:
        problems += saved_errors(nb, text, cells)
        if never_run(nb, cells):
            notes.append("no cell of the saved notebook shows that it ran: no execution count, no output")
    else:
        ran = dry_run(prepared, handout, sandbox)
        if not ran.ok:
            problems.append("the fresh run found problems (below)")
    checked, not_checked = coverage(handout, notebook, ran, cells is not None, stated)
    written, size, digest = write_copy(notebook, Path(out_dir) if out_dir else None)
    status = SubmitStatus.PROBLEMS if problems else SubmitStatus.READY
    return SubmitReport(notebook, status, tuple(problems), written, size, digest, ran, tuple(notes), checked,
                        not_checked)
