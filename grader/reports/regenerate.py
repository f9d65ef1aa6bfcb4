"""``grader report``: every output made again from the stored results of a batch, without grading anything.

Reads ``OUT_DIR/results/*.json`` (and ``submissions.json``, ``executed/``), writes into the target folder:
``gradebook.csv``, ``canvas.csv``, ``gradescope/<key>/results.json``, ``feedback/<key>.html`` and ``.md``, and
``report.html``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..assignment import Assignment
from ..batch import GRADEBOOK, RESULTS, load_results, write_gradebook
from ..errors import ReportError, SubmissionError
from ..files import atomic_write_text
from ..intake.stage import MANIFEST as SUBMISSIONS
from ..intake.stage import staged_path
from ..results import SubmissionResult
from ..submission import read_submission
from . import similarity
from .canvas import CANVAS_CSV, column_has_id, write_canvas_csv
from .cohort import cohort
from .feedback import feedback_html, feedback_markdown
from .html_report import report_html
from .plots import figures
from .roster import Roster, load_roster

log = logging.getLogger(__name__)
REPORT = "report.html"
GRADESCOPE = "gradescope"
FEEDBACK = "feedback"


@dataclass(frozen=True)
class ReportSummary:
    """What ``regenerate`` wrote, and what the instructor should know about it."""

    folder: Path
    results: int
    similar_pairs: int
    warnings: tuple[str, ...]

    @property
    def report(self) -> Path:
        return self.folder / REPORT


def notebooks(out_dir: Path, keys: list[str], roster: Roster) -> dict[str, Path | None]:
    """Each result's notebook: the one executed, else the submission the intake staged, else the original file."""
    staged = {key: staged_path(out_dir, key) for key in keys}
    return {key: similarity.notebook_of(out_dir, key, staged[key] if staged[key].is_file()
                                        else Path(roster.student(key).file) if roster.student(key).file else None)
            for key in keys}


def _warnings(out_dir: Path, results: Mapping[str, SubmissionResult], roster: Roster, assignment: Assignment,
              column: str, found: Mapping[str, Path | None]) -> list[str]:
    warnings = []
    if not roster.from_intake:
        warnings.append(f"no {SUBMISSIONS} in {out_dir} (the intake writes it): students are named by their result"
                        " files and the Canvas CSV's ID column is empty, so Canvas can only match them by name")
    elif missing := sorted(roster.student(k).name for k in results if not roster.student(k).user_id):
        warnings.append(f"{len(missing)} students have no Canvas user ID (Canvas matches them by name): "
                        + ", ".join(missing))
    if not column_has_id(column):
        warnings.append(f"the Canvas column {column!r} has no assignment id: Canvas matches it to an assignment of"
                        " that exact title or creates a new one (give --canvas-column \"Name (id)\" as in Canvas's"
                        " own export)")
    if others := sorted(k for k, r in results.items() if r.assignment != assignment.name):
        warnings.append(f"results of another assignment than {assignment.name}: " + ", ".join(others))
    if unread := sorted(k for k in results if found.get(k) is None):
        warnings.append(f"{len(unread)} submissions have no notebook in {out_dir / 'executed'} (nor an original"
                        " file): left out of the similarity check: " + ", ".join(unread))
    return warnings


def regenerate(out_dir: Path, assignment: Assignment, to: Path | None = None, canvas_column: str | None = None,
               threshold: float = similarity.THRESHOLD) -> ReportSummary:
    """Write every report of ``out_dir``'s stored results into ``to`` (default: ``out_dir``)."""
    target = to or out_dir
    target.mkdir(parents=True, exist_ok=True)
    roster = load_roster(out_dir)
    # the students of the latest intake (a student no longer in the download keeps a result file, not a grade)
    results = load_results(out_dir, list(roster.students) if roster.from_intake else None)
    if not results:
        raise ReportError(f"no results in {out_dir / RESULTS}: run `grader batch` first")
    column = canvas_column or assignment.name
    try:
        template = read_submission(assignment.student_notebook_path)
    except SubmissionError as exc:
        raise ReportError(f"the student notebook {assignment.student_notebook_path} cannot be read: {exc}") from None
    found = notebooks(out_dir, list(results), roster)
    codes = {key: similarity.read_answer_code(path, template) for key, path in found.items()}
    warnings = _warnings(out_dir, results, roster, assignment, column, found)

    write_gradebook(list(results.values()), assignment, target / GRADEBOOK,
                    {key: roster.student(key).name for key in results})
    write_canvas_csv(results, roster, column, target / CANVAS_CSV)
    for key, result in results.items():
        name = roster.student(key).name
        gradescope = json.dumps(result.to_gradescope_dict(), indent=1)
        atomic_write_text(target / GRADESCOPE / key / "results.json", gradescope)
        atomic_write_text(target / FEEDBACK / f"{key}.md", feedback_markdown(result, name))
        atomic_write_text(target / FEEDBACK / f"{key}.html", feedback_html(result, name))
    pairs = similarity.similar_pairs(codes, similarity.given_code(template), threshold)
    summary = cohort(results, roster, codes)
    page = report_html(assignment.name, results, roster, summary, figures(summary), pairs, warnings, threshold)
    atomic_write_text(target / REPORT, page)
    return ReportSummary(target, len(results), len(pairs), tuple(warnings))
