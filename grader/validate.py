"""Validating an assignment for CI: in sync, no leaks, full marks for the reference, none for the blank."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .assignment import Assignment
from .grade import grade_submission
from .results import SubmissionResult
from .sandbox.base import Sandbox


@dataclass
class ValidationReport:
    """What validation found; ``problems`` empty means the assignment is sound."""

    assignment: str
    problems: list[str] = field(default_factory=list)
    reference: SubmissionResult | None = None
    blank: SubmissionResult | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_files(assignment: Assignment) -> list[str]:
    """The checks that need no execution: student files in sync with the solution, and free of answers."""
    stale = assignment.out_of_date()
    problems = [f"{name} is out of date: run 'grader generate {assignment.name}'" for name in stale]
    if not stale:
        problems += assignment.leaks()
    return problems


def validate(assignment: Assignment, sandbox: Sandbox | None, execute: bool = True) -> ValidationReport:
    report = ValidationReport(assignment.name, validate_files(assignment))
    if not execute or sandbox is None:
        return report
    with tempfile.TemporaryDirectory(prefix="validate-") as folder:
        reference = Path(folder) / "reference.ipynb"
        nbformat.write(assignment.reference_submission(), reference)
        report.reference = grade_submission(reference, assignment, sandbox)
    report.blank = grade_submission(assignment.student_notebook_path, assignment, sandbox)
    if report.reference.points != report.reference.max_points:
        lost = [f"{t.title}: {c.title}: {c.message}" for t in report.reference.tasks for c in t.checks
                if not c.passed]
        report.problems.append(f"the reference solution scores {report.reference.points:g}/"
                               f"{report.reference.max_points:g}: " + "; ".join(lost))
    if report.blank.points != 0:
        report.problems.append(f"the untouched student notebook scores {report.blank.points:g}, not 0")
    return report
