"""Where every student stands: one row per student, the one source of every output (gradebook.csv, canvas.csv,
Gradescope's results.json, the feedback, the report's table of students).

A row is made from what the download held (``submissions.json``: the graded submissions, and the files left out with
their student where the download says whose they are), the class list given with ``--roster`` (every student on it
gets a row, handed in or not), the stored results, the reviews (``grader.reviews``: the points a reviewer changed
or gave) and the late policy. Its status is one of:

- ``graded``: a result with points; ``final = max(0, raw + review - penalty)``;
- ``not gradable``: a notebook that could not be graded (empty, not JSON, the grader failed, no result), with why;
  no points (``final`` is None: canvas.csv leaves the grade blank, never a silent 0);
- ``wrong file``: the student handed in something that holds no notebook (a PDF), with what it was;
- ``no submission``: on the class list, nothing in the download.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping

from grader.course.assignment import Course
from grader.intake.classlist import ClassList, Enrolled, load_class_list
from grader.intake.layouts import CANVAS_LAYOUT
from grader.intake.stage import NOT_GRADABLE as UNMATCHED_NOT_GRADABLE
from grader.intake.stage import WRONG_FILE as UNMATCHED_WRONG_FILE
from grader.reports.late import LateInfo, LatePolicy, load_policy
from grader.reports.roster import Roster
from grader.results import SubmissionResult
from grader.reviews.apply import Reviewed
from grader.reviews.apply import review_adjustments as reviewed_results

log = logging.getLogger(__name__)
GRADED = "graded"
NOT_GRADABLE = UNMATCHED_NOT_GRADABLE
WRONG_FILE = UNMATCHED_WRONG_FILE
NO_SUBMISSION = "no submission"
STATUSES = (GRADED, NOT_GRADABLE, WRONG_FILE, NO_SUBMISSION)
NOT_ON_LIST = "not on the class list"


@dataclass(frozen=True)
class Standing:
    """One student's row (a group's members get a row each, with the group's submission)."""

    key: str  # the result's key (file stem under results/); "" for a student with no notebook graded
    student: str
    user_id: str = ""  # the id the download or the class list gave (Canvas user id, Gradescope SID or email)
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    file: str = ""  # what the student handed in, as the download names it
    status: str = GRADED
    reason: str = ""  # why not graded, what the wrong file was; "" for a plain graded row
    raw: float | None = None  # the machine's points; None when nothing was graded
    review: float = 0.0  # points a reviewer added (negative: removed)
    review_max: float = 0.0  # points of the parts a reviewer grades, beyond the machine's
    penalty: float = 0.0  # late penalty, in points
    final: float | None = None  # what the student gets; None: left blank (nothing gradable)
    max_points: float = 0.0
    late: LateInfo = field(default_factory=LateInfo)
    needs_look: bool = False  # a review waits for another look (an override flagged, a manual part not graded)

    @property
    def graded(self) -> bool:
        return self.status == GRADED


@dataclass(frozen=True)
class ClassStanding:
    """Every row, and what made them: the reviewed results by key, the policy, the class list, warnings."""

    rows: tuple[Standing, ...]
    reviewed: Mapping[str, Reviewed]
    policy: LatePolicy
    class_list: ClassList | None
    max_points: float
    warnings: tuple[str, ...] = ()

    def of(self, key: str) -> list[Standing]:
        return [row for row in self.rows if row.key == key]

    def first(self, key: str) -> Standing | None:
        return next(iter(self.of(key)), None)


def review_adjustments(out_dir: Path, results: Mapping[str, SubmissionResult], assignment: Course
                       ) -> Mapping[str, Reviewed]:
    """The one call into the reviews (``grader/reviews``): each result as reviewed."""
    return reviewed_results(out_dir, results, assignment.spec)


def possible_points(assignment: Course) -> float:
    """The machine's points and those of the parts a reviewer grades."""
    return assignment.spec.max_points + assignment.spec.manual_points


_LETTERS = re.compile(r"[^\w]+")


def name_forms(name: str) -> set[str]:
    """A name as the downloads write it, letters only, lower case: Canvas's file names say ``smithjane`` for its
    export's ``Smith, Jane``; a roster's ``Jane Smith`` is also ``smithjane``."""
    text = name.strip().lower()
    if "," in text:
        last, _, first = text.partition(",")
        parts = [first.strip(), last.strip()]
    else:
        parts = text.split()
    if not parts:
        return set()
    joined = _LETTERS.sub("", "".join(parts)).replace("_", "")
    turned = _LETTERS.sub("", "".join(parts[-1:] + parts[:-1])).replace("_", "")
    return {form for form in (joined, turned) if form}


@dataclass(frozen=True)
class _Found:
    """One student the download has: by a graded key, or by a file left out."""

    name: str
    key: str = ""
    user_id: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    file: str = ""
    late: bool = False
    submitted_at: str = ""
    status: str = ""  # of a file left out
    reason: str = ""

    def identities(self) -> list[str]:
        return [i.strip().lower() for i in (self.canvas_id, self.user_id, self.sis_user_id, self.sis_login_id) if i]


def _found_in_download(roster: Roster, keys: Iterable[str]) -> list[_Found]:
    found = []
    for key in keys:
        s = roster.student(key)
        if s.members:
            found += [_Found(m.name, key, m.sis_user_id or m.sis_login_id, "", m.sis_user_id, m.sis_login_id, s.file,
                             s.late, s.submitted_at) for m in s.members]
        else:
            found.append(_Found(s.name, key, s.user_id, s.canvas_id, s.sis_user_id, s.sis_login_id, s.file, s.late,
                                s.submitted_at))
    canvas = roster.layout == CANVAS_LAYOUT
    left: dict[str, _Found] = {}
    for entry in roster.unmatched:
        if not isinstance(entry.get("student"), str) or not entry.get("student"):
            continue
        members = [m for m in entry.get("members") or [] if isinstance(m, dict)]
        user_id = str(entry.get("user_id") or "")
        people = [_Found(str(m.get("name") or entry["student"]), "", str(m.get("sid") or m.get("email") or ""), "",
                         str(m.get("sid") or ""), str(m.get("email") or "")) for m in members] \
            or [_Found(entry["student"], "", user_id, user_id if canvas else "")]
        for person in people:
            identity = (person.identities() or [person.name.lower()])[0]
            earlier = left.get(identity)
            files = [earlier.file] if earlier else []
            reasons = [earlier.reason] if earlier else []
            status = str(entry.get("status") or WRONG_FILE)
            if earlier and earlier.status == NOT_GRADABLE:
                status = NOT_GRADABLE
            said = f"{entry.get('file', '')}: {entry.get('reason', '')}"
            left[identity] = replace(person, file="; ".join(files + [str(entry.get("file", ""))]),
                                     reason="; ".join(reasons + [said]),
                                     status=status, late=bool(entry.get("late")),
                                     submitted_at=str(entry.get("submitted_at") or ""))
    graded_ids = {i for f in found for i in (f.identities() or [f.name.lower()])}
    found += [f for identity, f in left.items() if identity not in graded_ids]
    return found


def _match(found: list[_Found], class_list: ClassList) -> tuple[list[tuple[_Found | None, Enrolled | None]], int]:
    """Pairs of (found, enrolled): each enrolled student once, a found one by id, else by a name only one has."""
    by_id: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    for position, student in enumerate(class_list.students):
        for identity in student.identities():
            by_id.setdefault(identity.strip().lower(), position)
        for form in name_forms(student.name):
            by_name.setdefault(form, []).append(position)
    taken: dict[int, _Found] = {}
    pairs: list[tuple[_Found | None, Enrolled | None]] = []
    dropped = 0
    for person in sorted(found, key=lambda f: (not f.key, f.name.lower())):  # graded ones first
        number = next((by_id[i] for i in person.identities() if i in by_id), None)
        if number is None:
            named = {n for form in name_forms(person.name) for n in by_name.get(form, [])}
            number = named.pop() if len(named) == 1 else None
        if number is not None and number in taken:
            if not person.key:  # a file left out of a student whose notebook is graded
                continue
            number = None
        if number is None:
            if person.key or person.user_id:
                pairs.append((person, None))
            else:
                dropped += 1  # a stray file of a folder, whose name is no one on the list
            continue
        taken[number] = person
    pairs += [(taken.get(n), student) for n, student in enumerate(class_list.students)]
    return pairs, dropped


def _row(person: _Found | None, enrolled: Enrolled | None) -> Standing:
    if enrolled is None:
        assert person is not None
        return Standing(key=person.key, student=person.name, user_id=person.user_id, canvas_id=person.canvas_id,
                        sis_user_id=person.sis_user_id, sis_login_id=person.sis_login_id, file=person.file,
                        status=person.status or GRADED, reason=person.reason)
    if person is None:
        return Standing(key="", student=enrolled.name, user_id=enrolled.user_id or enrolled.sis_user_id,
                        canvas_id=enrolled.canvas_id, sis_user_id=enrolled.sis_user_id,
                        sis_login_id=enrolled.login, section=enrolled.section, status=NO_SUBMISSION,
                        reason="nothing of theirs in the download")
    return Standing(key=person.key, student=enrolled.name, user_id=person.user_id or enrolled.user_id,
                    canvas_id=enrolled.canvas_id or person.canvas_id,
                    sis_user_id=enrolled.sis_user_id or person.sis_user_id,
                    sis_login_id=enrolled.login or person.sis_login_id, section=enrolled.section, file=person.file,
                    status=person.status or GRADED, reason=person.reason)


def _scored(row: Standing, person: _Found | None, results: Mapping[str, SubmissionResult],
            reviewed: Mapping[str, Reviewed], missing: Mapping[str, str], policy: LatePolicy, most: float
            ) -> Standing:
    identities = [row.key, row.student, row.user_id, row.canvas_id, row.sis_user_id, row.sis_login_id,
                  *([person.name] if person else [])]
    late = policy.apply(identities, person.submitted_at, person.late) if person else LateInfo()
    row = replace(row, late=late, max_points=most)
    if row.status in (WRONG_FILE, NO_SUBMISSION) or (row.status == NOT_GRADABLE and not row.key):
        return row
    result = results.get(row.key)
    if result is None:
        return replace(row, status=NOT_GRADABLE, reason=missing.get(row.key, "not graded yet: run `grader batch`"))
    review = reviewed[row.key]
    row = replace(row, raw=result.points, review=review.points, review_max=review.max_points,
                  needs_look=review.needs_look, max_points=result.max_points + review.max_points)
    if result.error:
        return replace(row, status=NOT_GRADABLE, reason=result.error)
    earned = max(0.0, result.points + review.points)
    penalty = round(earned * late.percent / 100, 2)
    return replace(row, status=GRADED, penalty=penalty, final=round(max(0.0, earned - penalty), 4))


def class_standing(out_dir: Path, assignment: Course, results: Mapping[str, SubmissionResult], roster: Roster,
                   missing: Mapping[str, str] | None = None, class_list: ClassList | None = None,
                   policy: LatePolicy | None = None) -> ClassStanding:
    """Every student's row: those of the class list (``OUT/roster.json`` unless given), else those the download
    has (their graded submissions, the files that hold no notebook), each with their status and points;
    ``missing``: why a submission has no result in ``results`` (its result cannot be read, is another
    assignment's), by key."""
    missing = dict(missing or {})
    class_list = class_list if class_list is not None else load_class_list(out_dir)
    policy = policy if policy is not None else load_policy(out_dir)
    most = possible_points(assignment)
    reviewed = review_adjustments(out_dir, results, assignment)
    keys = list(roster.students) if roster.from_intake else sorted(set(results) | set(missing))
    found = _found_in_download(roster, keys)
    warnings = []
    if class_list is None:
        pairs: list[tuple[_Found | None, Enrolled | None]] = [(person, None) for person in found]
    else:
        pairs, dropped = _match(found, class_list)
        strangers = sorted({p.name for p, e in pairs if e is None and p is not None})
        if strangers:
            warnings.append(f"{len(strangers)} students in the download are not on the class list"
                            f" ({class_list.source}), listed anyway: " + ", ".join(strangers))
        if dropped:
            warnings.append(f"{dropped} files of the download belong to no one on the class list (see the files"
                            " left out)")
        if class_list.left_out:
            warnings.append("the class list's rows left out: " + "; ".join(class_list.left_out))
    rows = []
    for person, enrolled in pairs:
        row = _row(person, enrolled)
        if class_list is not None and enrolled is None:
            row = replace(row, reason="; ".join(r for r in (row.reason, NOT_ON_LIST) if r))
        rows.append(_scored(row, person, results, reviewed, missing, policy, most))
    rows.sort(key=lambda r: (not r.key, f"{r.key}.ipynb", r.student.lower(), r.user_id))  # as the files sort
    blank = [r.student for r in rows if r.status == NOT_GRADABLE]
    if blank:
        warnings.append(f"{len(blank)} submissions could not be graded; their grade is left blank in canvas.csv"
                        " (see the reason of each): " + ", ".join(blank))
    if policy.penalises and roster.layout == CANVAS_LAYOUT and any(r.penalty for r in rows):
        warnings.append("late penalties are in canvas.csv's points: if the Canvas assignment has a late policy of its"
                        " own, Canvas deducts again when it imports them; turn one of the two off")
    return ClassStanding(tuple(rows), reviewed, policy, class_list, most, tuple(warnings))


def points_cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def late_summary(row: Standing) -> str:
    """For a student: "" when on time, else what the policy did, with the points."""
    if not row.late.late:
        return ""
    text = f"Handed in late ({row.late.rule or 'marked late'})"
    if row.penalty and row.raw is not None and row.final is not None:
        text += f": {row.raw + row.review:g} points, late penalty {row.penalty:g}, final {row.final:g}"
    return text + "."


def feedback_text(standing: ClassStanding, key: str) -> str:
    """A student's plain-text feedback (``feedback/<key>.txt``): the result as reviewed, the late penalty said under
    its first line (the total)."""
    text = standing.reviewed[key].feedback_text()
    row = standing.first(key)
    said = late_summary(row) if row is not None else ""
    if not said:
        return text
    first, _, rest = text.partition("\n")
    return f"{first}\n{said}\n{rest}"
