"""``gradebook.csv``: a row per student (``grader/reports/standing.py``), with what they handed in, its status, the
machine's points, a reviewer's changes, the late penalty, the final points, and each task's points as reviewed."""
from __future__ import annotations

from pathlib import Path

from grader.course.assignment import Course
from grader.files import atomic_write_csv
from grader.reports.standing import ClassStanding, points_cell

COLUMNS = ("submission", "student", "points", "max_points", "review", "late_penalty", "final_points", "status",
           "reason", "user_id", "sis_user_id", "sis_login_id", "section", "file", "submitted_at", "due", "late")


def gradebook_rows(standing: ClassStanding, assignment: Course) -> list[list[str]]:
    """The header, then a row per student: ``points`` the machine's, ``final_points`` what the student gets (blank
    when nothing could be graded), the tasks' points as reviewed."""
    tasks = [t.name for t in assignment.spec.tasks]
    rows = [[*COLUMNS, *tasks, "sandbox", "problem"]]
    for row in standing.rows:
        reviewed = standing.reviewed.get(row.key)
        result = getattr(reviewed, "result", None)
        by_name = {t.name: t.points for t in result.tasks} if result is not None else {}
        rows.append([f"{row.key}.ipynb" if row.key else "", row.student, points_cell(row.raw), f"{row.max_points:g}",
                     f"{row.review:g}" if row.review else "", f"{row.penalty:g}" if row.penalty else "",
                     points_cell(row.final), row.status, row.reason, row.user_id, row.sis_user_id, row.sis_login_id,
                     row.section, row.file, row.late.submitted_at, row.late.due, row.late.label(),
                     *(f"{by_name[t]:g}" if t in by_name else "" for t in tasks),
                     result.sandbox if result is not None else "", (result.error or "") if result is not None else ""])
    return rows


def write_gradebook(standing: ClassStanding, assignment: Course, path: Path) -> None:
    atomic_write_csv(path, gradebook_rows(standing, assignment))
