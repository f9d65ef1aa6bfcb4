"""What the instructor's report shows, computed from the results: scores, pass rates, the common failures, the
grading times, and the submissions that need a human look."""
from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

from grader.reports.feedback import graded_nothing
from grader.reports.roster import Roster
from grader.results import SubmissionResult

CHECK_CRASHED = "could not be checked"
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# what a student wrote, quoted in a message
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|“[^”]*”|‘[^’]*’")
REMARK = re.compile(r"\s*\([^()]*\)")  # a remark in parentheses: (the notebook stopped before this task finished)
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
    """Failures in one task with the same message (its wording aside: numbers, quoted answers, remarks in
    parentheses, case), the checks that gave it and the students who got it."""

    task: str
    checks: tuple[str, ...]
    message: str
    students: tuple[str, ...]

    @property
    def check(self) -> str:
        return ", ".join(self.checks)


@dataclass(frozen=True)
class Spread:
    """Points of a task or a check over the graded submissions: mean, standard deviation, lowest, highest, and how
    many had its full points."""

    name: str
    max_points: float
    mean: float
    spread: float
    low: float
    high: float
    full: int
    total: int


@dataclass(frozen=True)
class TaskStats:
    task: Spread
    checks: tuple[Spread, ...]


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
    stats: tuple[TaskStats, ...] = ()
    graded: int = 0  # submissions of which something was graded (the statistics' count)


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
            for check in task.checks:  # named with their task: "question 1" of one quiz is not of another
                counts[f"{task.title}: {check.title}"][0] += check.passed
                counts[f"{task.title}: {check.title}"][1] += 1
    return tuple(PassRate(name, *count) for name, count in counts.items())


def wording(message: str) -> str:
    """What a failure's message says whatever the numbers, the quoted answer and the remarks: the key that makes
    "accuracy 0.51" and "accuracy 0.62", "the answer 'c'" and "the answer 'd'" one failure."""
    text = QUOTED.sub("…", (message.splitlines() or [""])[0])
    return " ".join(NUMBER.sub("#", REMARK.sub("", text)).casefold().split()).rstrip(".:; ")


def common_failures(results: Mapping[str, SubmissionResult], roster: Roster) -> tuple[FailureReason, ...]:
    """Failed checks grouped by task and by what their message says (``wording``), the most frequent first; a
    submission of which nothing was graded is left out (the report lists it once, with why)."""
    groups: dict[tuple[str, str], tuple[str, dict[tuple[int, str], None], list[str]]] = {}
    for key, result in sorted(results.items()):
        if graded_nothing(result):
            continue
        for task in result.tasks:
            for index, check in enumerate(task.checks):
                if check.passed or check.kind == "manual":
                    continue
                first = (check.message.splitlines() or [""])[0]
                message, checks, students = groups.setdefault((task.title, wording(first)), (first, {}, []))
                checks[(index, check.title)] = None
                students.append(roster.student(key).name)
    ranked = sorted(groups.items(), key=lambda item: (-len(dict.fromkeys(item[1][2])), item[0]))
    return tuple(FailureReason(task, tuple(dict.fromkeys(title for _, title in sorted(checks))), message,
                               tuple(dict.fromkeys(students)))
                 for (task, _), (message, checks, students) in ranked[:TOP_FAILURES])


def _spread(name: str, max_points: float, values: list[float]) -> Spread:
    return Spread(name, max_points, statistics.fmean(values), statistics.pstdev(values), min(values), max(values),
                  sum(value >= max_points for value in values), len(values))


def task_stats(results: Mapping[str, SubmissionResult]) -> tuple[TaskStats, ...]:
    """Per task, then per check of it: the points' mean, spread, lowest and highest, over the submissions of which
    something was graded (in the order of the first result's tasks and checks)."""
    tasks: dict[str, tuple[str, float, list[float]]] = {}
    checks: dict[str, dict[tuple[int, str], tuple[float, list[float]]]] = defaultdict(dict)
    for _, result in sorted(results.items()):
        if graded_nothing(result):
            continue
        for task in result.tasks:
            tasks.setdefault(task.name, (task.title, task.max_points, []))[2].append(task.points)
            for index, check in enumerate(task.checks):
                checks[task.name].setdefault((index, check.title), (check.max_points, []))[1].append(check.points)
    return tuple(TaskStats(_spread(title, most, values),
                           tuple(_spread(title_, most_, values_) for (_, title_), (most_, values_)
                                 in checks[name].items()))
                 for name, (title, most, values) in tasks.items())


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
                  concerns=tuple(concerns), stats=task_stats(results),
                  graded=sum(not graded_nothing(r) for r in results.values()))
