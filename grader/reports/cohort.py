"""What the instructor's report shows, computed from the results: scores, pass rates, the common failures, the
grading times, and the submissions that need a human look."""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

from ..results import SubmissionResult
from .roster import Roster

CHECK_CRASHED = "could not be checked"
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
TOP_FAILURES = 12


@dataclass(frozen=True)
class PassRate:
    name: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class FailureReason:
    """Failures of one check with the same message (numbers aside), and the students who got it."""

    check: str
    message: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class GradingTime:
    student: str
    notebook_seconds: float
    checks_seconds: float


@dataclass(frozen=True)
class Concern:
    """A submission that needs a human look, and why."""

    key: str
    student: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Cohort:
    scores: tuple[float, ...]
    max_points: float
    tasks: tuple[PassRate, ...]
    checks: tuple[PassRate, ...]
    failures: tuple[FailureReason, ...]
    times: tuple[GradingTime, ...]
    concerns: tuple[Concern, ...]


def task_rates(results: Mapping[str, SubmissionResult]) -> tuple[PassRate, ...]:
    """Per task: the submissions with its full points."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results.values():
        for task in result.tasks:
            counts[task.title][0] += task.points >= task.max_points
            counts[task.title][1] += 1
    return tuple(PassRate(name, *count) for name, count in counts.items())


def check_rates(results: Mapping[str, SubmissionResult]) -> tuple[PassRate, ...]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results.values():
        for task in result.tasks:
            for check in task.checks:
                counts[check.title][0] += check.passed
                counts[check.title][1] += 1
    return tuple(PassRate(name, *count) for name, count in counts.items())


def common_failures(results: Mapping[str, SubmissionResult], roster: Roster) -> tuple[FailureReason, ...]:
    """Failed checks grouped by check and by the first line of their message with its numbers masked."""
    groups: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for key, result in sorted(results.items()):
        for task in result.tasks:
            for check in task.checks:
                if check.passed:
                    continue
                first = (check.message.splitlines() or [""])[0]
                message, students = groups.setdefault((check.title, NUMBER.sub("#", first)), (first, []))
                students.append(roster.student(key).name)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1][1]), item[0]))
    return tuple(FailureReason(check, message, tuple(dict.fromkeys(students)))
                 for (check, _), (message, students) in ranked[:TOP_FAILURES])


def grading_times(results: Mapping[str, SubmissionResult], roster: Roster) -> tuple[GradingTime, ...]:
    """The times of the results that have them; a time that is not a number (the runner's figures pass through the
    sandbox) is left out, never a report that stops."""
    times = []
    for key, r in sorted(results.items()):
        notebook, checks = seconds(r.execution.get("seconds")), seconds(r.execution.get("checks_seconds"))
        if notebook is not None:
            times.append(GradingTime(roster.student(key).name, notebook, checks or 0.0))
    return tuple(times)


def seconds(value: object) -> float | None:
    """A number of seconds from a result's ``execution``: a finite, non-negative number, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer past a float's range
        return None
    return number if math.isfinite(number) and number >= 0 else None


def concerns_of(result: SubmissionResult, answer_lines: int) -> tuple[str, ...]:
    """Why a submission needs a human look (nothing when it does not)."""
    reasons = []
    if result.error:
        reasons.append(("grader failure: " if result.grader_failed else "not graded: ")
                       + result.error)
    if result.execution.get("timed_out"):
        reasons.append("the notebook ran out of time")
    reasons += [f"{task.title} not graded in full: {task.ungraded_reason}" for task in result.tasks
                if task.ungraded_reason and not result.error]
    reasons += [f"a check could not run: {check.title}: {check.message.splitlines()[0]}" for task in result.tasks
                for check in task.checks if CHECK_CRASHED in check.message]
    if result.points == 0 and answer_lines and not result.error:
        reasons.append(f"zero points with {answer_lines} lines of answer code")
    return tuple(reasons)


def cohort(results: Mapping[str, SubmissionResult], roster: Roster, answer_code: Mapping[str, str],
           max_points: float) -> Cohort:
    concerns = []
    for key, result in sorted(results.items()):
        lines = len([line for line in answer_code.get(key, "").splitlines() if line.strip()])
        reasons = concerns_of(result, lines)
        if reasons:
            concerns.append(Concern(key, roster.student(key).name, reasons))
    return Cohort(scores=tuple(r.points for _, r in sorted(results.items())),
                  max_points=max_points,
                  tasks=task_rates(results), checks=check_rates(results),
                  failures=common_failures(results, roster), times=grading_times(results, roster),
                  concerns=tuple(concerns))
