"""Canvas's gradebook import: a CSV in the layout of Canvas's own gradebook export.

Canvas's importer (``GradebookImporter`` in canvas-lms) reads a header row whose first columns are ``Student``,
``ID``, ``SIS User ID``, ``SIS Login ID`` and ``Section`` (the last of the student columns must be Section), then
one column per assignment named ``Title (assignment id)``; a row whose first cell says ``Points Possible`` sets
the points, and every other row is a student, found by the Canvas user ID in ``ID``, else by the SIS IDs, else
by name. Only a Canvas download gives Canvas user IDs; a Gradescope export's student ID goes in ``SIS User ID`` and
its email in ``SIS Login ID`` (Canvas reads ``ID`` as its own user ID: a student number there could be another
student's), and each member of a group gets the group's row. A column without ``(id)`` is matched to an
assignment of that exact title, or creates a new one.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from ..files import atomic_write_csv
from ..results import SubmissionResult
from .roster import Roster

IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"
CANVAS_CSV = "canvas.csv"
COLUMN_WITH_ID = re.compile(r".*\(\d+\)\s*$")


def column_has_id(column: str) -> bool:
    return bool(COLUMN_WITH_ID.fullmatch(column))


def canvas_rows(results: Mapping[str, SubmissionResult], roster: Roster, column: str,
                max_points: float) -> list[list[str]]:
    """The header, the Points Possible row (the assignment's points), and one row per result, by student."""
    rows = [[*IDENTITY_COLUMNS, column], [POINTS_POSSIBLE, "", "", "", "", f"{max_points:g}"]]
    graded = [(student, results[key].points) for key in results for student in roster.student(key).individuals()]
    for student, points in sorted(graded, key=lambda row: (row[0].name, row[0].key)):
        rows.append([student.name, student.canvas_id, student.sis_user_id, student.sis_login_id, "",
                     f"{points:g}"])
    return rows


def write_canvas_csv(results: Mapping[str, SubmissionResult], roster: Roster, column: str, max_points: float,
                     path: Path) -> None:
    atomic_write_csv(path, canvas_rows(results, roster, column, max_points))
