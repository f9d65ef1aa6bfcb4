"""No silent drift of grades: an earlier batch's stored submissions regraded with the assignment and grader as they
are now, and every student whose score would change listed, check by check (old and new points and messages).

What is regraded: each stored result whose provenance (``grader/batch/cache.py``: the submission, the assignment's
files,
the grader's code, the limits, the machine's data and packages) differs from what grading now would record; a
result whose provenance is unchanged would be graded from exactly the same inputs (grading is deterministic), so
it is compared as it is.  The unit is the submission: a batch keeps no exported evidence and no per-check
specification, so a changed check cannot be re-run on its own without executing the notebook again, and any
change of the assignment's files or of the grader changes every submission's provenance.

A change of points fails (exit 1) unless an accept file lists it: the JSON this module writes (``to_dict``), or
its ``changes`` list, reviewed by the instructor; a change is accepted when its student, task, check, old and new
points are listed.  A change of message alone is listed, never failing.
"""
from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from grader.course.assignment import Course
from grader.errors import BatchError, GraderError
from grader.results import GRADER_FAILED, SubmissionResult

log = logging.getLogger(__name__)
POINTS_DIGITS = 6


@dataclass(frozen=True)
class CheckChange:
    """One check of one student that grades otherwise now (a check only in one version: points None there)."""

    student: str  # the result's key in the batch
    name: str  # the student's name, as the intake read it
    task: str
    check: str
    old_points: float | None
    new_points: float | None
    old_message: str = ""
    new_message: str = ""

    @property
    def points_changed(self) -> bool:
        return _rounded(self.old_points) != _rounded(self.new_points)

    def key(self) -> tuple:
        return (self.student, self.task, self.check, _rounded(self.old_points), _rounded(self.new_points))

    def describe(self) -> str:
        def points(value: float | None) -> str:
            return "absent" if value is None else f"{value:g}"

        return (f"{self.name} ({self.student}): {self.task}: {self.check}: {points(self.old_points)} ->"
                f" {points(self.new_points)} points; was: {self.old_message or '-'}; now: {self.new_message or '-'}")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), POINTS_DIGITS)


@dataclass
class DriftReport:
    assignment: str
    against: str
    compared: list[str] = field(default_factory=list)  # keys compared
    regraded: list[str] = field(default_factory=list)  # of them, graded again
    unchanged_inputs: list[str] = field(default_factory=list)  # of them, provenance unchanged: not graded again
    not_compared: dict[str, str] = field(default_factory=dict)  # key -> why
    changes: list[CheckChange] = field(default_factory=list)  # points changed, not accepted
    accepted: list[CheckChange] = field(default_factory=list)  # points changed, listed in the accept file
    message_changes: list[CheckChange] = field(default_factory=list)  # same points, another message
    totals: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (old, new) of changed students

    @property
    def ok(self) -> bool:
        return not self.changes

    def students(self) -> list[str]:
        """The keys of the students whose score changes (accepted or not)."""
        return sorted({c.student for c in (*self.changes, *self.accepted)})

    def to_dict(self) -> dict[str, Any]:
        return {"assignment": self.assignment, "against": self.against, "compared": self.compared,
                "regraded": self.regraded, "unchanged_inputs": self.unchanged_inputs,
                "not_compared": self.not_compared, "changes": [asdict(c) for c in self.changes],
                "accepted": [asdict(c) for c in self.accepted],
                "message_changes": [asdict(c) for c in self.message_changes],
                "totals": {k: {"old": old, "new": new} for k, (old, new) in self.totals.items()}}

    def lines(self) -> list[str]:
        said = [f"{self.assignment}: compared {len(self.compared)} stored results of {self.against}: regraded"
                f" {len(self.regraded)}, {len(self.unchanged_inputs)} graded from unchanged inputs (kept)"]
        said += [f"not compared: {key}: {why}" for key, why in self.not_compared.items()]
        for key in self.students():
            old, new = self.totals[key]
            said.append(f"score changes: {key}: {old:g} -> {new:g}")
        said += [f"changed: {c.describe()}" for c in self.changes]
        said += [f"accepted: {c.describe()}" for c in self.accepted]
        said += [f"message only: {c.describe()}" for c in self.message_changes]
        said.append(f"{len(self.students())} students' scores would change ({len(self.changes)} check changes not"
                    f" accepted, {len(self.accepted)} accepted); {len(self.message_changes)} messages change")
        return said


def compare(key: str, name: str, old: SubmissionResult, new: SubmissionResult) -> list[CheckChange]:
    """Every check of ``old`` and ``new`` that differs in points or message, matched by task and title (the n-th
    check of a title with the n-th)."""
    def checks(result: SubmissionResult) -> dict[tuple[str, str, int], tuple[str, Any]]:
        found: dict[tuple[str, str, int], tuple[str, Any]] = {}
        for task in result.tasks:
            seen: dict[str, int] = {}
            for check in task.checks:
                title = check.title or check.kind
                seen[title] = seen.get(title, 0) + 1
                found[(task.name, title, seen[title])] = (task.title, check)
        return found

    before, after = checks(old), checks(new)
    changes = []
    for place in [*before, *(p for p in after if p not in before)]:
        task_title, was = before.get(place, (None, None))
        task_title_now, now = after.get(place, (None, None))
        change = CheckChange(student=key, name=name, task=task_title_now or task_title or place[0], check=place[1],
                             old_points=None if was is None else was.points,
                             new_points=None if now is None else now.points,
                             old_message="" if was is None else was.message,
                             new_message="" if now is None else now.message)
        if change.points_changed or change.old_message != change.new_message:
            changes.append(change)
    return changes


def read_accepted(path: Path) -> set[tuple]:
    """The changes an accept file lists: a drift report's JSON (its ``changes`` and ``accepted``), or a list."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise GraderError(f"the accept file {path} cannot be read: {exc}") from None
    entries = data if isinstance(data, list) else [*data.get("changes", []), *data.get("accepted", [])] \
        if isinstance(data, dict) else None
    if entries is None or not all(isinstance(e, dict) for e in entries):
        raise GraderError(f"the accept file {path} is not a drift report (grader validate --against --drift-out)"
                          " nor a list of its changes")
    try:
        return {CheckChange(**{k: e.get(k) for k in ("student", "task", "check", "old_points", "new_points")},
                            name="").key() for e in entries}
    except (TypeError, ValueError) as exc:
        raise GraderError(f"the accept file {path} has an entry that is not a change: {exc}") from None


def sample_keys(keys: Iterable[str], count: int | None) -> list[str]:
    """``count`` of ``keys``, the same ones every time (ordered by a digest of the key: no student favoured by a
    name's place in the alphabet), or all of them."""
    keys = sorted(keys)
    if count is None or count >= len(keys):
        return keys
    return sorted(sorted(keys, key=lambda k: hashlib.sha256(k.encode()).hexdigest())[:max(0, count)])


def drift(assignment: Course, out_dir: Path, sandbox: str = "auto", sample: int | None = None,
          accepted: set[tuple] | None = None, workers: int | None = None,
          progress: Callable[[str, SubmissionResult], None] | None = None) -> DriftReport:
    """Regrade the stored submissions of the batch in ``out_dir`` (all, or a ``sample``) with ``assignment`` and
    this grader, into a scratch folder (``out_dir`` is only read), and compare each with its stored result."""
    from grader.batch.cache import assignment_digest, grader_version, grading_environment, provenance_of
    from grader.batch.workers import GradingJob, LocalPool, assignment_reference
    from grader.intake.stage import read_manifest, staged_path
    from grader.output_folder import load_results, read_result

    try:
        manifest = read_manifest(out_dir)
    except (OSError, ValueError) as exc:
        raise BatchError(f"{out_dir}'s list of submissions cannot be read: {exc}") from None
    if manifest is None:
        raise BatchError(f"{out_dir} is not a batch's output folder (no submissions.json)")
    if manifest.assignment != assignment.name:
        raise BatchError(f"{out_dir} holds a batch of {manifest.assignment!r}, not of {assignment.name!r}")
    report = DriftReport(assignment.name, str(out_dir))
    names = {s.key: s.student for s in manifest.submissions}
    stored = load_results(out_dir, list(names))
    usable = {}
    for key in names:
        result = stored.get(key)
        if result is None:
            report.not_compared[key] = "no stored result that can be read"
        elif str(result.error or "").startswith(GRADER_FAILED):
            report.not_compared[key] = "the grader failed on it in that batch: nothing to compare with"
        elif not staged_path(out_dir, key).is_file():
            report.not_compared[key] = "its stored notebook is not there"
        else:
            usable[key] = result
    report.compared = sample_keys(usable, sample)
    limits = assignment.spec.limits
    digest = assignment_digest(assignment)
    version, environment = grader_version(), grading_environment()
    todo = []
    for key in report.compared:
        wanted = provenance_of(staged_path(out_dir, key), digest, limits, environment)
        if (read_result(out_dir, key) or {}).get("provenance") == wanted.to_dict():
            report.unchanged_inputs.append(key)
        else:
            todo.append(key)
    report.regraded = todo
    jobs = [GradingJob(key=k, notebook=str(staged_path(out_dir, k)), assignment=assignment_reference(assignment),
                       assignment_sha256=digest, grader_version=version, sandbox=sandbox, limits=asdict(limits),
                       batch=f"drift{hashlib.sha256(str(out_dir.resolve()).encode()).hexdigest()[:8]}")
            for k in todo]
    changes: list[CheckChange] = []
    with tempfile.TemporaryDirectory(prefix="notebook-grader-drift-") as scratch:
        Path(scratch).chmod(0o711)  # the sandbox's user reaches its slot's folders (as under a batch's scratch)
        pool = LocalPool(assignment, workers, Path(scratch), None,
                         cpus=limits.cpus, sandbox=sandbox,
                         batch=jobs[0].batch if jobs else "")
        try:
            for job, result in pool.grade(jobs):
                if progress:
                    progress(job.key, result)
                if str(result.error or "").startswith(GRADER_FAILED):
                    report.not_compared[job.key] = f"the grader failed on it now: {result.error}"
                    continue
                found = compare(job.key, names[job.key], usable[job.key], result)
                changes += found
                if any(c.points_changed for c in found) or usable[job.key].points != result.points:
                    report.totals[job.key] = (usable[job.key].points, result.points)
        finally:
            pool.close()
    accepted = accepted or set()
    for change in sorted(changes, key=lambda c: (c.student, c.task, c.check)):
        if not change.points_changed:
            report.message_changes.append(change)
        elif change.key() in accepted:
            report.accepted.append(change)
        else:
            report.changes.append(change)
    return report
