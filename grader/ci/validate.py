"""Validating an assignment for CI: in sync, no leaks, thresholds within what the reference met, full marks for
the reference, none for the blank; with ``seeds`` > 1, every threshold met with room under every seed.

Validation is a list of named steps (``Step``), each passed, failed or skipped (an earlier step it needs failed),
so that a CI report shows one line per step.  The reference executes once per seed (once without ``seeds``) and
the untouched notebook once, in the sandbox, each checked by one resident checker; every step reads those
executions: "full marks" reads the setup seed's run, "thresholds hold" all of them.
"""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.course.assignment import Course
from grader.results import SubmissionResult
from grader.sandbox.base import Sandbox

log = logging.getLogger(__name__)
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
READ = "solution notebook read"
IN_SYNC = "student files in sync"
NO_LEAKS = "no answer in the student files"
RECORDED = "thresholds within the recorded margins"
REFERENCE = "reference scores full marks"
BLANK = "untouched notebook scores zero"
SEEDS = "thresholds hold across seeds"


@dataclass(frozen=True)
class Step:
    """One validation step's outcome; ``message`` says what failed (or, passed or skipped, what was seen)."""

    name: str
    status: str
    message: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status == FAILED


@dataclass
class ValidationReport:
    """What validation found; ``problems`` empty means the assignment is sound."""

    assignment: str
    problems: list[str] = field(default_factory=list)
    reference: SubmissionResult | None = None
    blank: SubmissionResult | None = None
    steps: list[Step] = field(default_factory=list)
    seed_runs: dict[str, SubmissionResult] = field(default_factory=dict)
    spreads: list = field(default_factory=list)  # seeds.CheckSpread, one per accuracy or training-stop check
    recorded: Path | None = None  # where --seeds wrote its figures

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, name: str, problems: list[str], seconds: float = 0.0, note: str = "") -> None:
        """A step that ran: failed with ``problems``, else passed (``note`` says what it saw)."""
        self.steps.append(Step(name, FAILED if problems else PASSED, "; ".join(problems) or note, round(seconds, 2)))
        self.problems += problems

    def skip(self, name: str, why: str) -> None:
        self.steps.append(Step(name, SKIPPED, why))


def validate_files(assignment: Course) -> list[str]:
    """The checks that need no execution: student files in sync with the solution, and free of answers."""
    stale = _stale(assignment)
    return stale or assignment.leaks()


def _stale(assignment: Course) -> list[str]:
    return [f"{name} is out of date: run 'grader generate {assignment.name}'" for name in assignment.out_of_date()]


def _file_steps(report: ValidationReport, assignment: Course) -> None:
    clock = time.monotonic()
    stale = _stale(assignment)
    report.add(IN_SYNC, stale, time.monotonic() - clock)
    if stale:
        report.skip(NO_LEAKS, "the student files are out of date")
    else:
        clock = time.monotonic()
        report.add(NO_LEAKS, assignment.leaks(), time.monotonic() - clock)
    from grader.ci.seeds import margin_checks, recorded_margin_problems
    from grader.errors import GraderError

    try:
        problems, unrecorded = recorded_margin_problems(assignment)
    except GraderError as exc:
        report.add(RECORDED, [str(exc)])
        return
    total = len(margin_checks(assignment.spec))
    if not total:
        report.skip(RECORDED, "no accuracy or training-stop check")
    elif len(unrecorded) == total:
        report.skip(RECORDED, f"nothing recorded for the data this machine has: run `grader validate"
                              f" {assignment.name} --seeds 3` to record it")
    else:
        report.add(RECORDED, problems, note="not recorded: " + ", ".join(unrecorded) if unrecorded else "")


def validate(assignment: Course, sandbox: Sandbox | None, execute: bool = True, seeds: int = 1,
             record: bool = True) -> ValidationReport:
    """Validate ``assignment``; with ``seeds`` > 1 run the reference that many times (``record``: write the
    figures to its thresholds.json)."""
    report = ValidationReport(assignment.name)
    report.add(READ, [])
    _file_steps(report, assignment)
    if not execute or sandbox is None:
        for name in (REFERENCE, BLANK, *((SEEDS,) if seeds > 1 else ())):
            report.skip(name, "not executed (--files-only)")
        return report
    _execution_steps(report, assignment, sandbox, seeds, record)
    return report


def _execution_steps(report: ValidationReport, assignment: Course, sandbox: Sandbox, seeds: int,
                     record: bool) -> None:
    from grader.ci import seeds as seeding
    from grader.course.assignment import assignment_reference
    from grader.grading.checker import ResidentChecker

    labels = seeding.seed_labels(seeds)
    limits = assignment.spec.limits
    measured: dict[str, list] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="validate-") as folder:
        checker = ResidentChecker(assignment_reference(assignment), timeout_s=limits.check_timeout_s,
                                  log_dir=Path(folder) / "checker")
        try:
            nb = assignment.reference_submission()
            for label in labels:
                clock = time.monotonic()
                result, found = _run(seeding.reseeded(nb, label), assignment, sandbox, checker, measure=seeds > 1)
                seconds[label] = time.monotonic() - clock
                report.seed_runs[label] = result
                measured[label] = found
                log.info("%s: reference, seed %s: %g/%g", assignment.name, label, result.points, result.max_points)
            clock = time.monotonic()
            report.blank, _ = _run(None, assignment, sandbox, checker, measure=False)
            blank_seconds = time.monotonic() - clock
        finally:
            checker.close(graceful=False)
    report.reference = report.seed_runs[labels[0]]
    reference = report.reference
    report.add(REFERENCE, _reference_problems(reference), seconds[labels[0]],
               f"{reference.points:g}/{reference.max_points:g} in the {reference.sandbox} sandbox")
    blank = report.blank
    report.add(BLANK, [] if blank.points == 0 else [f"the untouched student notebook scores {blank.points:g}, not 0"],
               blank_seconds, f"{blank.points:g}/{blank.max_points:g}")
    if seeds > 1:
        report.spreads = seeding.spreads(measured)
        problems = [s.describe() for s in report.spreads if not s.holds]
        problems += [f"seed {label}: {p}" for label in labels[1:]
                     for p in _reference_problems(report.seed_runs[label])]
        report.add(SEEDS, problems, sum(seconds.values()),
                   "; ".join(s.describe() for s in report.spreads) or "no accuracy or training-stop check")
        if record and report.spreads:
            report.recorded = seeding.write_record(assignment, report.spreads, labels, seconds)


def _reference_problems(result: SubmissionResult) -> list[str]:
    if result.points == result.max_points:
        return []
    lost = [f"{t.title}: {c.title}: {c.message}" for t in result.tasks for c in t.checks if not c.passed]
    return [f"the reference solution scores {result.points:g}/{result.max_points:g}: " + "; ".join(lost)]


def _run(nb, assignment: Course, sandbox: Sandbox, checker, measure: bool) -> tuple[SubmissionResult, list]:
    """Execute ``nb`` (None: the untouched student notebook) once and check it; with ``measure``, also what its
    accuracy and training-stop checks compare with their thresholds."""
    with tempfile.TemporaryDirectory(prefix="validate-") as folder:  # the sandbox makes its own folders reachable
        return _run_in(nb, assignment, sandbox, checker, measure, Path(folder))


def _run_in(nb, assignment: Course, sandbox: Sandbox, checker, measure: bool,
            folder: Path) -> tuple[SubmissionResult, list]:
    from grader.grading.checker import ChecksTooSlow
    from grader.grading.grade import execute_submission, zero_result

    if nb is None:
        path = assignment.student_notebook_path
    else:
        path = folder / "reference.ipynb"
        nbformat.write(nb, path)
    executed = execute_submission(path, assignment, sandbox, assignment.spec.limits, folder)
    if isinstance(executed, SubmissionResult):
        return executed, []
    try:
        result = SubmissionResult.from_dict(checker.check(executed.to_wire(), None))
    except ChecksTooSlow as exc:
        return zero_result(Path(path), assignment,
                           sandbox.name, str(exc), str(exc), executed.summary.to_dict()), []
    if not measure:
        return result, []
    from grader.ci.seeds import measure_checks

    return result, measure_checks(assignment, Path(executed.export_dir), executed.summary)
