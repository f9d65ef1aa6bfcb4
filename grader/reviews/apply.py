"""The one function every output calls: the results as reviewed (``review_adjustments``).

An override stands only on the evidence it was made against: when the check's result changed since (a regrade, a
changed assignment), the override is not applied and is flagged for another look, its note in the check's message
(never applied silently, never dropped: it stays in the database until a reviewer saves that part again). Manual
parts (``TaskSpec.manual``) become checks of kind ``manual``: 0 points and "not graded yet" until a reviewer gives
points. Reviewer comments go into the check's message, so every output that shows checks shows them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from grader.results import CheckResult, SubmissionResult, lines_of
from grader.reviews.store import PartReview, ReviewStore, SubmissionReview, check_part, fingerprint, manual_part
from grader.spec import MANUAL, AssignmentSpec, TaskSpec
from grader.student_text import one_line

COMMENT_TITLE = "Reviewer's comment"

NOT_GRADED_YET = "not graded yet: a reviewer grades this part"


@dataclass(frozen=True)
class Flag:
    """An override that is not applied, and why."""

    task: str
    part: str
    title: str
    why: str

    def __str__(self) -> str:
        return f"{self.title}: {self.why}"


@dataclass(frozen=True)
class Reviewed:
    """A submission's result as graded (``raw``) and as reviewed (``result``: every output shows this one)."""

    raw: SubmissionResult
    result: SubmissionResult
    flags: tuple[Flag, ...] = ()
    comment: str = ""
    pending: tuple[str, ...] = ()  # manual parts not graded yet (their titles)
    done: bool = False  # a reviewer marked the submission reviewed
    version: int = 0

    @property
    def points(self) -> float:
        """The points the review adds (negative: removes) to the machine's."""
        return self.result.points - self.raw.points

    @property
    def max_points(self) -> float:
        """The points of the manual parts, which the machine's maximum leaves out."""
        return self.result.max_points - self.raw.max_points

    @property
    def flagged(self) -> tuple[str, ...]:
        return tuple(str(flag) for flag in self.flags)

    @property
    def needs_look(self) -> bool:
        return bool(self.flags or self.pending)

    def feedback_text(self) -> str:
        """The student's plain-text feedback (``feedback/<key>.txt``): the reviewer's comment after the total; a
        submission of which nothing was graded says why once, then each task's points (no line for every check)."""
        from grader.reports.feedback import graded_nothing  # (grader.reports imports this module)

        result = self.result
        if graded_nothing(result):
            lines = [f"{one_line(result.assignment)}: {result.points:g} / {result.max_points:g} points",
                     f"Your notebook could not be graded: {one_line(result.error)}", "", "No task could be graded:",
                     *(f"  {one_line(task.title)}: {task.points:g} / {task.max_points:g}" for task in result.tasks)]
            text = "\n".join(lines) + "\n"
        else:
            text = result.feedback_text()
        if not self.comment:
            return text
        first, _, rest = text.partition("\n")
        said = "\n".join(f"  {one_line(line)}" for line in lines_of(self.comment)).lstrip()
        return f"{first}\n{COMMENT_TITLE}: {said}\n{rest}"

    def gradescope_dict(self) -> dict[str, Any]:
        data = self.result.to_gradescope_dict()
        if self.comment:
            said = "\n".join(f"  {one_line(line)}" for line in lines_of(self.comment)).lstrip()
            data["output"] = f"{COMMENT_TITLE}: {said}\n{data['output']}"
        return data


def _note(message: str, *lines: str) -> str:
    return "\n".join([message, *(line for line in lines if line)])


def _reviewed_check(check: CheckResult, part: PartReview | None, task: str, index: int
                    ) -> tuple[CheckResult, Flag | None]:
    if part is None:
        return check, None
    comment = f"Reviewer: {part.comment}" if part.comment else ""
    if part.points is None:
        return replace(check, message=_note(check.message, comment)), None
    if part.fingerprint != fingerprint(check):
        why = (f"a reviewer gave {part.points:g} of {check.max_points:g} points ({part.reason or 'no reason given'})"
               " when this check's result was different; not applied until a reviewer looks again")
        return (replace(check, message=_note(check.message, f"Waiting for another look: {why}.", comment)),
                Flag(task, check_part(index), check.title, why))
    points = min(max(part.points, 0.0), check.max_points)
    passed = points >= check.max_points if check.max_points > 0 else check.passed
    was = f"{check.points:g}"
    return replace(check, points=points, passed=passed,
                   message=_note(check.message, f"Changed by a reviewer from {was} to {points:g} points:"
                                 f" {part.reason or 'no reason given'}.", comment)), None


def _manual_checks(spec: TaskSpec, title: str, review: SubmissionReview) -> tuple[list[CheckResult], list[str]]:
    checks, pending = [], []
    for index, manual in enumerate(spec.manual):
        part = review.part(spec.name, manual_part(index))
        if part is None or part.points is None:
            pending.append(f"{title}: {manual.title}")
            message = _note(NOT_GRADED_YET, f"Reviewer: {part.comment}" if part and part.comment else "")
            checks.append(CheckResult(MANUAL, manual.title, 0.0, manual.points, False, message))
            continue
        points = min(max(part.points, 0.0), manual.points)
        checks.append(CheckResult(MANUAL, manual.title, points, manual.points, points >= manual.points,
                                  _note(f"graded by a reviewer: {points:g} of {manual.points:g}",
                                        part.reason, f"Reviewer: {part.comment}" if part.comment else "")))
    return checks, pending


def apply_review(raw: SubmissionResult, review: SubmissionReview, spec: AssignmentSpec | None = None) -> Reviewed:
    """``raw`` as ``review`` changes it (pure: the same inputs give the same result)."""
    specs = {task.name: task for task in spec.tasks} if spec else {}
    tasks, flags, pending, used = [], [], [], set()
    for task in raw.tasks:
        checks = []
        for index, check in enumerate(task.checks):
            part = review.part(task.name, check_part(index))
            used.add((task.name, check_part(index)))
            reviewed, flag = _reviewed_check(check, part, task.name, index)
            checks.append(reviewed)
            flags += [flag] if flag else []
        manual, waiting = _manual_checks(specs[task.name], task.title, review) if task.name in specs else ([], [])
        used |= {(task.name, manual_part(i)) for i in range(len(manual))}
        pending += waiting
        delta = sum(c.points for c in checks) - sum(c.points for c in task.checks)
        all_checks = (*checks, *manual)
        changed = replace(task, checks=all_checks, points=task.points + delta + sum(c.points for c in manual),
                          max_points=task.max_points + sum(c.max_points for c in manual))
        tasks.append(changed if all_checks == task.checks else
                     replace(changed, feedback="\n".join(changed.feedback_lines())))
    for part in review.parts:  # a change to a part no result has now (the assignment changed): kept, and said
        if (part.task, part.part) not in used and part.points is not None:
            flags.append(Flag(part.task, part.part, part.title, f"a reviewer gave {part.points:g} points to a part"
                              " this result no longer has; not applied until a reviewer looks again"))
    added = sum(t.points for t in tasks) - sum(t.points for t in raw.tasks)
    added_max = sum(t.max_points for t in tasks) - sum(t.max_points for t in raw.tasks)
    result = replace(raw, tasks=tuple(tasks), points=raw.points + added, max_points=raw.max_points + added_max)
    return Reviewed(raw=raw, result=result, flags=tuple(flags), comment=review.comment, pending=tuple(pending),
                    done=review.done, version=review.version)


def review_adjustments(out_dir: Path, results: Mapping[str, SubmissionResult],
                       spec: AssignmentSpec | None = None) -> dict[str, Reviewed]:
    """Every result of ``results`` as reviewed (one read of the database); unchanged without reviews."""
    reviews = ReviewStore(out_dir).all()
    return {key: apply_review(raw, reviews.get(key, SubmissionReview(key)), spec) for key, raw in results.items()}
