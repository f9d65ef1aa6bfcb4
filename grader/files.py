"""Files written so that a reader (or a batch killed half-way) sees the old content or the new, never a part;
CSV files so that a spreadsheet opening them runs nothing a student wrote, and a terminal showing them (``cat``,
``less``) gets no control a student wrote."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable, Sequence

from grader.student_text import one_line

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what Excel, LibreOffice and Sheets read as a formula


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_partial_files(folder: Path) -> int:
    """Remove what an interrupted atomic write left behind; how many."""
    count = 0
    if folder.is_dir():
        for leftover in folder.rglob(".*.part"):
            leftover.unlink(missing_ok=True)
            count += 1
    return count


def spreadsheet_text(cell: str) -> str:
    """A cell that a spreadsheet shows as the text it is: one that begins like a formula (a student's name
    ``=HYPERLINK(...)`` from a file name) gets a leading apostrophe, as OWASP advises against CSV injection;
    numbers stay numbers."""
    if not cell.startswith(FORMULA_STARTS):
        return cell
    try:
        float(cell)
        return cell
    except ValueError:
        return "'" + cell


def atomic_write_csv(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """Each text cell ``one_line`` (a row per line, no escape code), then ``spreadsheet_text``."""
    text = io.StringIO()
    csv.writer(text).writerows([spreadsheet_text(one_line(c)) if isinstance(c, str) else c for c in row]
                               for row in rows)
    atomic_write_text(path, text.getvalue())
