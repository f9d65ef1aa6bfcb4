"""Who each result belongs to: the intake's ``submissions.json``, or the result's own name where there is none."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from grader.errors import IntakeError, ReportError
from grader.intake.layouts import CANVAS_LAYOUT  # the one layout whose user ids are Canvas's own
from grader.intake.stage import read_manifest

LATE_NOTE = "Canvas marks it LATE"  # how an intake before the ``late`` field said it


@dataclass(frozen=True)
class Student:
    """A result's student as the intake matched them (``key`` is the result's file stem); ``user_id`` is the id
    the download gave (Canvas's user id, a Gradescope student id or email), ``canvas_id`` only Canvas's own."""

    key: str
    name: str
    user_id: str = ""
    submission_id: str = ""
    file: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    members: tuple["Student", ...] = ()  # a group's students (Gradescope), each with their own ids
    late: bool = False  # the download marks it late (Canvas's LATE)
    submitted_at: str = ""  # ISO 8601, where the download gives the time (Gradescope)

    def individuals(self) -> tuple["Student", ...]:
        """Whom the grade is for: the group's members, else the student."""
        return self.members or (self,)


@dataclass(frozen=True)
class Roster:
    """The students by result key; ``from_intake`` is false when there was no submissions.json."""

    students: Mapping[str, Student] = field(default_factory=dict)
    from_intake: bool = False
    unmatched: tuple[Mapping, ...] = ()  # the intake's files left out, with their student where it is known
    layout: str = ""

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
    canvas = manifest.layout == CANVAS_LAYOUT
    students = {}
    for s in manifest.submissions:
        members = tuple(Student(key=s.key, name=str(m.get("name") or s.student or s.key),
                                sis_user_id=str(m.get("sid") or ""), sis_login_id=str(m.get("email") or ""))
                        for m in s.members if isinstance(m, dict))
        first = members[0] if members else Student(key=s.key, name=s.student or s.key)
        students[s.key] = Student(key=s.key, name=s.student or s.key, user_id=s.user_id or "",
                                  submission_id=s.submission_id or "", file=s.file,
                                  canvas_id=(s.user_id or "") if canvas else "", sis_user_id=first.sis_user_id,
                                  sis_login_id=first.sis_login_id, members=members if len(members) > 1 else (),
                                  late=s.late or LATE_NOTE in s.notes, submitted_at=s.submitted_at or "")
    return Roster(students, from_intake=True, unmatched=tuple(u for u in manifest.unmatched if isinstance(u, dict)),
                  layout=manifest.layout)
