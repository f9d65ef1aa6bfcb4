"""The course's own CI: every assignment of a course folder validated in one run (one exit code, a summary table,
JUnit XML), and the CI files that run it in a course's repository (``grader ci-init``)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Callable

from grader.ci.validate import (
    BLANK,
    FAILED,
    IN_SYNC,
    NO_LEAKS,
    READ,
    RECORDED,
    REFERENCE,
    SEEDS,
    SKIPPED,
    ValidationReport,
    validate,
)
from grader.course.assignment import assignment_names, load_assignment
from grader.course.layout import CourseLayout
from grader.errors import GraderError
from grader.sandbox.base import Sandbox
from grader.sandbox.container import IMAGE

log = logging.getLogger(__name__)
TABLE_STEPS = ((READ, "read"), (IN_SYNC, "in sync"), (NO_LEAKS, "no leaks"), (RECORDED, "recorded"),
               (REFERENCE, "reference"), (BLANK, "untouched"), (SEEDS, "seeds"))
MARKS = {"passed": "ok", FAILED: "FAIL", SKIPPED: "-"}


def validate_course(root: Path, sandbox: Callable[[], Sandbox] | None, seeds: int = 1, record: bool = True,
                    on_report: Callable[[ValidationReport], None] | None = None) -> list[ValidationReport]:
    """Validate every assignment under ``root`` (``sandbox``: makes the sandbox; None: files only). An assignment
    that cannot be read is a failed report, and the others are validated all the same."""
    names = assignment_names(root)
    if not names:
        raise GraderError(f"no assignment under {root}: expected solutions/<name>/<name>.ipynb")
    reports = []
    for name in names:
        try:
            course = load_assignment(name, root)
            report = validate(course, sandbox() if sandbox else None, execute=sandbox is not None, seeds=seeds,
                              record=record)
            if course.name != name:
                report.assignment = name
        except GraderError as exc:
            report = unreadable(name, str(exc), seeds)
        except Exception as exc:  # noqa: BLE001 - the grader's own failure on one assignment: the others go on
            log.exception("validating %s failed", name)
            report = unreadable(name, f"the grader failed on it: {type(exc).__name__}: {exc}", seeds)
        reports.append(report)
        if on_report:
            on_report(report)
    return reports


def unreadable(name: str, why: str, seeds: int = 1) -> ValidationReport:
    """The report of an assignment that could not be read or validated: the reading failed, nothing else ran."""
    report = ValidationReport(name)
    report.add(READ, [why])
    for step, _ in TABLE_STEPS[1:]:
        if step != SEEDS or seeds > 1:
            report.skip(step, "the solution notebook could not be read")
    return report


def summary_table(reports: list[ValidationReport]) -> str:
    """One row per assignment, one column per step (ok, FAIL, - for skipped), and the verdict."""
    header = ["assignment", *(short for _, short in TABLE_STEPS), "result"]
    rows = [header]
    for report in reports:
        status = {s.name: s.status for s in report.steps}
        rows.append([report.assignment, *(MARKS.get(status.get(step, SKIPPED), "?") for step, _ in TABLE_STEPS),
                     "valid" if report.ok else "NOT valid"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    failed = sum(not r.ok for r in reports)
    lines.append(f"{len(reports) - failed} of {len(reports)} assignments valid")
    return "\n".join(lines)


@dataclass(frozen=True)
class CiFiles:
    """Where ``grader ci-init`` writes each file of the course's CI, from which template."""

    template: str
    path: str


CI_FILES = (CiFiles("grader-ci.sh", "ci/grader-ci.sh"), CiFiles("github.yml", ".github/workflows/grader.yml"),
            CiFiles("gitlab-ci.yml", ".gitlab-ci.yml"))
DEFAULT_IMAGE = IMAGE  # the grading image, as the container sandbox names it
DEFAULT_GRADER_REF = "main"


def ci_template(name: str) -> str:
    return resources.files("grader").joinpath("templates", "ci", name).read_text()


def write_ci_files(course: Path, grader_source: str, grader_ref: str = DEFAULT_GRADER_REF, image: str = DEFAULT_IMAGE,
                   pull: bool = False, force: bool = False) -> list[Path]:
    """Write the course's CI files into ``course`` (a course repository: solutions/ and assignments/); a file
    already there is left as it is unless ``force``."""
    if not CourseLayout(course).is_course():
        raise GraderError(f"{course} has no solutions/ folder: is it a course repository?")
    try:
        version = metadata.version("notebook-grader")
    except metadata.PackageNotFoundError:
        version = "unknown"
    values = {"VERSION": version, "GRADER_SOURCE": grader_source, "GRADER_REF": grader_ref, "GRADER_IMAGE": image,
              "GRADER_PULL": "1" if pull else "0"}
    for value in values.values():
        if any(c in value for c in "\"'$`\\\n") or value != value.strip():
            raise GraderError(f"{value!r} cannot go into a CI file (quotes, $, backslashes, spaces at its ends)")
    existing = [f.path for f in CI_FILES if (course / f.path).exists()]
    if existing and not force:
        raise GraderError(f"already there: {', '.join(existing)} (--force writes over them)")
    written = []
    for item in CI_FILES:
        text = ci_template(item.template)
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        path = course / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path.suffix == ".sh":
            path.chmod(0o755)
        written.append(path)
    return written
