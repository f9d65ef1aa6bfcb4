"""``grader report``: every output made again from the stored results of a batch, without grading anything.

Reads ``OUT_DIR/results/*.json`` (and ``submissions.json``, ``executed/``, the class list ``roster.json``, the late
policy ``late_policy.json``, the reviews ``reviews.sqlite``), writes into the target folder: ``gradebook.csv``,
``canvas.csv``, ``gradescope/<key>/results.json``, ``feedback/<key>.txt``, ``.html`` and ``.md``, and ``report.html``;
every one made from the same rows (``standing.py``): every student, their status, raw points, review, late penalty
and final points.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from grader.course.assignment import Course
from grader.errors import ReportError, SubmissionError
from grader.files import atomic_write_text
from grader.grading.submission import read_submission
from grader.intake.classlist import ClassList, save_class_list
from grader.intake.stage import MANIFEST as SUBMISSIONS
from grader.intake.stage import staged_path
from grader.output_folder import FEEDBACK, GRADEBOOK, RESULTS, read_results
from grader.reports import similarity
from grader.reports.canvas import CANVAS_CSV, column_has_id, write_canvas_csv
from grader.reports.cohort import cohort
from grader.reports.feedback import feedback_html, feedback_markdown
from grader.reports.gradebook import write_gradebook
from grader.reports.html_report import report_html
from grader.reports.late import LatePolicy, save_policy
from grader.reports.plots import figures
from grader.reports.roster import Roster, load_roster
from grader.reports.standing import STATUSES, ClassStanding, Standing, class_standing, feedback_text, late_summary
from grader.results import SubmissionResult
from grader.reviews.apply import Reviewed

log = logging.getLogger(__name__)
REPORT = "report.html"
GRADESCOPE = "gradescope"


@dataclass(frozen=True)
class ReportSummary:
    """What ``regenerate`` wrote, and what the instructor should know about it."""

    folder: Path
    results: int
    similar_pairs: int  # every pair above the threshold
    similar_shown: int  # of which the report shows side by side
    warnings: tuple[str, ...]
    counts: tuple[tuple[str, int], ...] = ()  # students by status (``standing.STATUSES``)

    @property
    def report(self) -> Path:
        return self.folder / REPORT

    def statuses(self) -> str:
        return ", ".join(f"{n} {status}" for status, n in self.counts if n) or "none"


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


def gradescope_of(reviewed: Reviewed, row: Standing | None) -> dict:
    """Gradescope's results.json of one result as reviewed; a late penalty taken from its score; lateness said."""
    data = reviewed.gradescope_dict()
    said = late_summary(row) if row is not None else ""
    if said:
        data["output"] = f"{said}\n{data['output']}"
    if row is not None and row.penalty and row.final is not None:
        data["score"] = row.final
    return data


def write_student_files(target: Path, key: str, standing: ClassStanding, name: str) -> None:
    """One student's feedback (.txt, .md, .html) and Gradescope results.json, as reviewed, the late penalty said."""
    reviewed = standing.reviewed[key]
    row = standing.first(key)
    atomic_write_text(target / GRADESCOPE / key / "results.json", json.dumps(gradescope_of(reviewed, row), indent=1))
    atomic_write_text(target / FEEDBACK / f"{key}.txt", feedback_text(standing, key))
    late = late_summary(row) if row is not None else ""
    atomic_write_text(target / FEEDBACK / f"{key}.md",
                      feedback_markdown(reviewed.result, name, comment=reviewed.comment, late=late))
    atomic_write_text(target / FEEDBACK / f"{key}.html",
                      feedback_html(reviewed.result, name, comment=reviewed.comment, late=late))


def _backup_reviews(out_dir: Path) -> None:
    from grader.reviews.store import backup_reviews

    backup_reviews(out_dir)


def regenerate(out_dir: Path, assignment: Course, to: Path | None = None, canvas_column: str | None = None,
               threshold: float = similarity.THRESHOLD, class_list: ClassList | None = None,
               policy: LatePolicy | None = None) -> ReportSummary:
    """Write every report of ``out_dir``'s stored results into ``to`` (default: ``out_dir``); a class list or late
    policy given replaces the one the batch kept (kept in ``out_dir`` when the reports are written there)."""
    target = to or out_dir
    target.mkdir(parents=True, exist_ok=True)
    if target.resolve() == out_dir.resolve():
        if class_list is not None:
            save_class_list(class_list, out_dir)
        if policy is not None:
            save_policy(policy, out_dir)
    roster = load_roster(out_dir)
    # the students of the latest intake (a student no longer in the download keeps a result file, not a grade)
    results, unreadable = read_results(out_dir, list(roster.students) if roster.from_intake else None)
    others = sorted(k for k, r in results.items() if r.assignment != assignment.name)
    missing = {**{k: f"its result cannot be read ({why}): run `grader batch` again" for k, why in unreadable.items()},
               **{k: f"its result is of another assignment ({results[k].assignment})" for k in others}}
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
    standing = class_standing(out_dir, assignment, results, roster, missing, class_list, policy)
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
    warnings += standing.warnings

    write_gradebook(standing, assignment, target / GRADEBOOK)
    write_canvas_csv(standing, column, target / CANVAS_CSV)
    for key in results:
        row = standing.first(key)
        write_student_files(target, key, standing, row.student if row else roster.student(key).name)
    pairs = similarity.similar_pairs(codes, similarity.given_code(template), threshold)
    shown = {key: standing.reviewed[key].result for key in results}  # as reviewed: overrides, manual parts
    summary = cohort(shown, roster, codes, standing.max_points)
    drawn, problems = figures(summary)
    warnings += problems
    page = report_html(assignment.name, shown, roster, summary, drawn, pairs, warnings, threshold,
                       standings=standing.rows)
    atomic_write_text(target / REPORT, page)
    _backup_reviews(out_dir)
    counts = tuple((status, sum(r.status == status for r in standing.rows)) for status in STATUSES)
    return ReportSummary(target, len(results), pairs.found, len(pairs.shown), tuple(warnings), counts)
