"""The class list (``grader batch --roster FILE``): who should have handed in, from the CSV an instructor has.

- Canvas's gradebook export (Grades > Export): ``Student, ID, SIS User ID, SIS Login ID, Section`` and a column per
  assignment; a ``Points Possible`` row and Canvas's ``Student, Test`` left out. ``ID`` is Canvas's user id, which
  Canvas's download puts in its file names.
- Gradescope's roster (Roster > Download): ``First Name, Last Name`` (or ``Name``), ``SID``, ``Email``, ``Role``;
  only students are kept. Gradescope's export names its submitters by the same SID and email.
- any other CSV with a header naming the columns: a name (``name``, ``student``, ``full name``, or ``first name``
  and ``last name``) and, where known, ``id``/``user id``, ``sid``/``student id``, ``email``/``login``,
  ``section``.

A batch keeps the list it was given, as read, in ``OUT/roster.json``.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import IntakeError
from grader.files import atomic_write_text
from grader.student_text import one_line

CLASS_LIST = "roster.json"
MAX_BYTES = 20 * 2**20
MAX_ROWS = 100_000
CANVAS = "Canvas gradebook export"
GRADESCOPE = "Gradescope roster"
PLAIN = "CSV class list"
CANVAS_TEST_STUDENT = "student, test"
NAMES = ("name", "student", "full name", "student name", "display name")
IDS = ("id", "user id", "user_id", "canvas id", "canvas user id")
SIDS = ("sid", "student id", "student_id", "sis user id", "sis id", "student number", "matriculation number")
LOGINS = ("email", "e-mail", "email address", "sis login id", "login", "login id", "username")
SECTIONS = ("section", "sections")


@dataclass(frozen=True)
class Enrolled:
    """One student of the class list; ``canvas_id`` only from Canvas's own export."""

    name: str
    user_id: str = ""
    sis_user_id: str = ""
    login: str = ""
    section: str = ""
    canvas_id: str = ""

    def identities(self) -> tuple[str, ...]:
        return tuple(i for i in (self.canvas_id, self.user_id, self.sis_user_id, self.login) if i)


@dataclass(frozen=True)
class ClassList:
    source: str
    students: tuple[Enrolled, ...] = ()
    left_out: tuple[str, ...] = field(default_factory=tuple)  # rows not taken, and why

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "students": [asdict(s) for s in self.students], "left_out": list(self.left_out)}

    @classmethod
    def from_dict(cls, data: Any) -> "ClassList":
        if not isinstance(data, dict) or not isinstance(data.get("students"), list):
            raise ValueError("it is not a class list (source, students)")
        students = []
        for entry in data["students"]:
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise ValueError(f"a student that is not a mapping of texts: {str(entry)[:80]}")
            students.append(Enrolled(**entry))
        return cls(str(data.get("source", PLAIN)), tuple(students),
                   tuple(str(x) for x in data.get("left_out", []) if isinstance(x, str)))


def _header_index(header: list[str], names: tuple[str, ...]) -> int | None:
    wanted = [h.strip().lower() for h in header]
    for name in names:
        if name in wanted:
            return wanted.index(name)
    return None


def read_class_list(path: Path) -> ClassList:
    """The students of ``path`` (Canvas's gradebook export, Gradescope's roster or a CSV with a header)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise IntakeError(f"the roster {path} is larger than {MAX_BYTES >> 20} MB: is it a class list?")
        raw = path.read_bytes()
    except OSError as exc:
        raise IntakeError(f"the roster {path} cannot be read ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # a spreadsheet's export on Windows
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))[:MAX_ROWS + 2]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise IntakeError(f"the roster {path} is empty")
    header = [cell.strip() for cell in rows[0]]
    lower = [h.lower() for h in header]
    if "student" in lower and "id" in lower and "sis user id" in lower:
        source = CANVAS
    elif "sid" in lower and ("role" in lower or "email" in lower):
        source = GRADESCOPE
    else:
        source = PLAIN
    name_at = _header_index(header, NAMES)
    first_at, last_at = _header_index(header, ("first name",)), _header_index(header, ("last name",))
    if name_at is None and (first_at is None or last_at is None):
        raise IntakeError(f"the roster {path} has no column of names in its first row ({', '.join(header[:8])}):"
                          " give Canvas's gradebook export, Gradescope's roster, or a CSV with a header naming"
                          " name (or first name and last name), id, sid, email, section")
    columns = {"user_id": _header_index(header, IDS), "sis_user_id": _header_index(header, SIDS),
               "login": _header_index(header, LOGINS), "section": _header_index(header, SECTIONS)}
    role_at = _header_index(header, ("role",))
    students, left_out, seen = [], [], set()
    for number, row in enumerate(rows[1:], start=2):
        def cell(at: int | None) -> str:
            return one_line(row[at].strip(), 200) if at is not None and at < len(row) else ""

        name = cell(name_at) if name_at is not None else " ".join(p for p in (cell(first_at), cell(last_at)) if p)
        if name.strip().lower() == "points possible" or (not name and not cell(columns["user_id"])):
            continue  # Canvas's row of the assignments' points; a blank name with no id
        if source == CANVAS and name.lower() == CANVAS_TEST_STUDENT:
            left_out.append(f"row {number}: Canvas's test student")
            continue
        if role_at is not None and cell(role_at) and cell(role_at).lower() not in ("student", "students"):
            left_out.append(f"row {number}: {name} ({cell(role_at)}): not a student")
            continue
        student = Enrolled(name=name or cell(columns["user_id"]), **{k: cell(at) for k, at in columns.items()})
        if source == CANVAS:
            student = Enrolled(**{**asdict(student), "canvas_id": student.user_id})
        identity = student.identities() or (student.name.lower(),)
        if identity in seen:
            left_out.append(f"row {number}: {name} twice in the roster: the first row kept")
            continue
        seen.add(identity)
        students.append(student)
    if not students:
        raise IntakeError(f"the roster {path} ({source}) lists no student")
    return ClassList(source, tuple(students), tuple(left_out))


def save_class_list(class_list: ClassList, out_dir: Path) -> None:
    atomic_write_text(out_dir / CLASS_LIST, json.dumps(class_list.to_dict(), indent=1, ensure_ascii=False))


def load_class_list(out_dir: Path) -> ClassList | None:
    """The class list a batch of ``out_dir`` was given; None where it was given none."""
    path = out_dir / CLASS_LIST
    if not path.is_file():
        return None
    try:
        return ClassList.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, RecursionError) as exc:
        raise IntakeError(f"{path} cannot be read ({type(exc).__name__}: {str(exc)[:200]}): give --roster"
                          " again") from None
