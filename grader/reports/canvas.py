"""Canvas's gradebook import: a CSV in the layout of Canvas's own gradebook export.

Canvas's importer (``GradebookImporter`` in canvas-lms) reads a header row whose first columns are ``Student``,
``ID``, ``SIS User ID``, ``SIS Login ID`` and ``Section`` (the last of the student columns must be Section), then
one column per assignment named ``Title (assignment id)``; a row whose first cell says ``Points Possible`` sets
the points, and every other row is a student, found by the Canvas user ID in ``ID``, else by the SIS IDs, else
by name.  A column without ``(id)`` is matched to an assignment of that exact title, or creates a new one.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Mapping

from ..files import atomic_write_text
from ..results import SubmissionResult
from .roster import Roster

IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"
CANVAS_CSV = "canvas.csv"
COLUMN_WITH_ID = re.compile(r".*\(\d+\)\s*$")


def column_has_id(column: str) -> bool:
    return bool(COLUMN_WITH_ID.fullmatch(column))


def canvas_rows(results: Mapping[str, SubmissionResult], roster: Roster, column: str) -> list[list[str]]:
    """The header, the Points Possible row, and one row per result, sorted by student."""
    max_points = max((r.max_points for r in results.values()), default=0.0)
    rows = [[*IDENTITY_COLUMNS, column], [POINTS_POSSIBLE, "", "", "", "", f"{max_points:g}"]]
    for key in sorted(results, key=lambda k: (roster.student(k).name, k)):
        student = roster.student(key)
        rows.append([student.name, student.user_id, "", "", "", f"{results[key].points:g}"])
    return rows


def write_canvas_csv(results: Mapping[str, SubmissionResult], roster: Roster, column: str, path: Path) -> None:
    text = io.StringIO()
    csv.writer(text).writerows(canvas_rows(results, roster, column))
    atomic_write_text(path, text.getvalue())
