"""Canvas's gradebook import: a CSV in the layout of Canvas's own gradebook export.

Canvas's importer (``GradebookImporter`` in canvas-lms) reads a header row whose first columns are ``Student``,
``ID``, ``SIS User ID``, ``SIS Login ID`` and ``Section`` (the last of the student columns must be Section), then
one column per assignment named ``Title (assignment id)``; a row whose first cell says ``Points Possible`` sets
the points, and every other row is a student, found by the Canvas user ID in ``ID``, else by the SIS IDs, else
by name. Only a Canvas download (or Canvas's gradebook export given as the class list) gives Canvas user IDs; a
Gradescope export's student ID goes in ``SIS User ID`` and its email in ``SIS Login ID`` (Canvas reads ``ID`` as its
own user ID: a student number there could be another student's), and each member of a group gets the group's row.
A column without ``(id)`` is matched to an assignment of that exact title, or creates a new one.

Every student of the class gets a row (``grader/reports/standing.py``) with their final points (a review's changes
and the late penalty in them); a student with nothing gradable (a wrong file, a notebook that could not be graded,
no submission) gets an empty cell, which Canvas's importer leaves as it was: never a silent 0. The report says why.
"""
from __future__ import annotations

import re
from pathlib import Path

from grader.files import atomic_write_csv
from grader.reports.standing import ClassStanding, points_cell

IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"
CANVAS_CSV = "canvas.csv"
COLUMN_WITH_ID = re.compile(r".*\(\d+\)\s*$")


def column_has_id(column: str) -> bool:
    return bool(COLUMN_WITH_ID.fullmatch(column))


def canvas_rows(standing: ClassStanding, column: str) -> list[list[str]]:
    """The header, the Points Possible row (the assignment's points), and one row per student, by name."""
    rows = [[*IDENTITY_COLUMNS, column], [POINTS_POSSIBLE, "", "", "", "", f"{standing.max_points:g}"]]
    for row in sorted(standing.rows, key=lambda r: (r.student, r.key, r.user_id)):
        rows.append([row.student, row.canvas_id, row.sis_user_id, row.sis_login_id, row.section,
                     points_cell(row.final)])
    return rows


def write_canvas_csv(standing: ClassStanding, column: str, path: Path) -> None:
    atomic_write_csv(path, canvas_rows(standing, column))
