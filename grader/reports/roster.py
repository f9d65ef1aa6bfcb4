"""Who each result belongs to: the intake's ``submissions.json``, or the result's own name where there is none."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..errors import IntakeError, ReportError
from ..intake.stage import read_manifest


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
    """The students of the intake's ``submissions.json``; an empty roster when the intake wrote none."""
    try:
        manifest = read_manifest(out_dir)
    except IntakeError as exc:
        raise ReportError(str(exc)) from None
    if manifest is None:
        return Roster()
    students = {s.key: Student(key=s.key, name=s.student or s.key, user_id=s.user_id or "",
                               submission_id=s.submission_id or "", file=s.file) for s in manifest.submissions}
    return Roster(students, from_intake=True)
