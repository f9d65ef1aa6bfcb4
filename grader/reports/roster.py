"""Who each result belongs to: the intake's ``submissions.json``, or the result's own name where there is none."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..errors import ReportError

SUBMISSIONS = "submissions.json"


@dataclass(frozen=True)
class Student:
    """A result's student as the intake matched them (``key`` is the result's file stem)."""

    key: str
    name: str
    user_id: str = ""
    submission_id: str = ""
    file: str = ""


@dataclass(frozen=True)
class Roster:
    """The students by result key; ``from_intake`` is false when there was no submissions.json."""

    students: Mapping[str, Student] = field(default_factory=dict)
    from_intake: bool = False

    def student(self, key: str) -> Student:
        return self.students.get(key) or Student(key=key, name=key)


def load_roster(out_dir: Path) -> Roster:
    """The students of ``out_dir/submissions.json``; an empty roster when the intake wrote none."""
    path = out_dir / SUBMISSIONS
    if not path.is_file():
        return Roster()
    try:
        entries = json.loads(path.read_text())["submissions"]
        students = {str(e["key"]): Student(key=str(e["key"]), name=str(e.get("student") or e["key"]),
                                           user_id=_text(e.get("user_id")), submission_id=_text(e.get("submission_id")),
                                           file=_text(e.get("file"))) for e in entries}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReportError(f"{path} cannot be read ({type(exc).__name__}: {exc})") from None
    return Roster(students, from_intake=True)


def _text(value: object) -> str:
    return "" if value is None else str(value)
