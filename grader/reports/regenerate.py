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
from ..batch import GRADEBOOK, RESULTS, read_results, write_gradebook
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
    similar_pairs: int  # every pair above the threshold
    similar_shown: int  # of which the report shows side by side
    warnings: tuple[str, ...]

    @property
    def report(self) -> Path:
        return self.folder / REPORT


def notebooks(out_dir: Path, keys: list[str], roster: Roster) -> dict[str, Path | None]:
    """Each result's notebook: the submission the intake staged (the grader's own copy of what was graded), else
    the one executed (written in the sandbox, where the student's code could replace it), else the original file."""
    found = {}
    for key in keys:
        staged = staged_path(out_dir, key)
        original = Path(roster.student(key).file) if roster.student(key).file else None
        found[key] = staged if staged.is_file() else similarity.notebook_of(out_dir, key, original)
    return found


def _warnings(out_dir: Path, results: Mapping[str, SubmissionResult], roster: Roster, column: str,
              found: Mapping[str, Path | None]) -> list[str]:
    warnings = []
    people = [s for k in results for s in roster.student(k).individuals()]
    if not roster.from_intake:
        warnings.append(f"no {SUBMISSIONS} in {out_dir} (the intake writes it): students are named by their result"
                        " files and the Canvas CSV's ID column is empty, so Canvas can only match them by name")
    elif missing := sorted(s.name for s in people if not (s.canvas_id or s.sis_user_id or s.sis_login_id)):
        warnings.append(f"{len(missing)} students have no Canvas user ID (Canvas matches them by name): "
                        + ", ".join(missing))
    elif not any(s.canvas_id for s in people):
        warnings.append("canvas.csv: this download gives no Canvas user IDs; its student IDs are in the SIS User ID"
                        " column and its emails in SIS Login ID, which Canvas matches only where they are the SIS"
                        " IDs and logins of your institution")
    if not column_has_id(column):
        warnings.append(f"the Canvas column {column!r} has no assignment id: Canvas matches it to an assignment of"
                        " that exact title or creates a new one (give --canvas-column \"Name (id)\" as in Canvas's"
                        " own export)")
    if unread := sorted(k for k in results if found.get(k) is None):
        warnings.append(f"{len(unread)} submissions have no notebook in {out_dir / 'submissions'} or"
                        f" {out_dir / 'executed'} (nor an original file): left out of the similarity check: "
                        + ", ".join(unread))
    return warnings


def _short(text: str, most: int = 160) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _remove_outputs_of(target: Path, keys: Mapping[str, str]) -> int:
    """Remove the feedback made from results that can no longer be read (it would show a grade no result backs)."""
    removed = 0
    for key in keys:
        for path in (target / FEEDBACK / f"{key}.html", target / FEEDBACK / f"{key}.md",
                     target / FEEDBACK / f"{key}.txt", target / GRADESCOPE / key / "results.json"):
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


def regenerate(out_dir: Path, assignment: Assignment, to: Path | None = None, canvas_column: str | None = None,
               threshold: float = similarity.THRESHOLD) -> ReportSummary:
    """Write every report of ``out_dir``'s stored results into ``to`` (default: ``out_dir``)."""
    target = to or out_dir
    target.mkdir(parents=True, exist_ok=True)
    roster = load_roster(out_dir)
    # the students of the latest intake (a student no longer in the download keeps a result file, not a grade)
    results, unreadable = read_results(out_dir, list(roster.students) if roster.from_intake else None)
    others = sorted(k for k, r in results.items() if r.assignment != assignment.name)
    results = {k: r for k, r in results.items() if r.assignment == assignment.name}
    if not results:
        raise ReportError(f"no results of {assignment.name} in {out_dir / RESULTS}: run `grader batch` first"
                          + (f" ({len(others)} results of another assignment left out)" if others else "")
                          + (f" ({len(unreadable)} results cannot be read)" if unreadable else ""))
    stale = _remove_outputs_of(target, unreadable)
    column = canvas_column or assignment.name
    try:
        template = read_submission(assignment.student_notebook_path)
    except SubmissionError as exc:
        raise ReportError(f"the student notebook {assignment.student_notebook_path} cannot be read: {exc}") from None
    found = notebooks(out_dir, list(results), roster)
    read = {key: similarity.read_answer_code(path, template) for key, path in found.items()}
    codes = {key: code for key, (code, _) in read.items()}
    warnings = _warnings(out_dir, results, roster, column, found)
    if cut := {key: problem for key, (_, problem) in sorted(read.items()) if problem}:
        warnings.append(f"{len(cut)} submissions are left out of the similarity check or compared in part: "
                        + "; ".join(f"{roster.student(k).name} ({k}): {_short(why)}" for k, why in cut.items()))
    if unreadable:
        warnings.insert(0, f"{len(unreadable)} results cannot be read and are left out of everything (their old"
                        f" feedback removed: {stale} files); run `grader batch` again, which grades them again: "
                        + "; ".join(f"{roster.student(k).name} ({k}.json: {why})"
                                    for k, why in sorted(unreadable.items())))
    if others:
        warnings.insert(0, f"{len(others)} results are of another assignment than {assignment.name} and are left out"
                        " of everything: " + ", ".join(others))

    write_gradebook(list(results.values()), assignment, target / GRADEBOOK,
                    {key: roster.student(key).name for key in results})
    write_canvas_csv(results, roster, column, assignment.spec.max_points, target / CANVAS_CSV)
    for key, result in results.items():
        name = roster.student(key).name
        gradescope = json.dumps(result.to_gradescope_dict(), indent=1)
        atomic_write_text(target / GRADESCOPE / key / "results.json", gradescope)
        atomic_write_text(target / FEEDBACK / f"{key}.md", feedback_markdown(result, name))
        atomic_write_text(target / FEEDBACK / f"{key}.html", feedback_html(result, name))
    pairs = similarity.similar_pairs(codes, similarity.given_code(template), threshold)
    summary = cohort(results, roster, codes, assignment.spec.max_points)
    drawn, problems = figures(summary)
    warnings += problems
    page = report_html(assignment.name, results, roster, summary, drawn, pairs, warnings, threshold)
    atomic_write_text(target / REPORT, page)
    return ReportSummary(target, len(results), pairs.found, len(pairs.shown), tuple(warnings))
