"""Scoring a task: run its checks on the evidence, in the grader's own process."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from .checks.base import Missing, Outcome, lookup
from .results import NOT_GRADED, CheckResult, TaskResult
from .spec import CheckSpec, TaskSpec
from .student_text import one_line

log = logging.getLogger(__name__)


def run_check(check: CheckSpec, value: Any, evidence: Mapping[str, Any] | None = None) -> Outcome:
    """One check on one piece of evidence; a crash on hostile data fails the check, never the grader."""
    evidence = evidence or {}
    if isinstance(value, Missing):
        return Outcome(False, value.reason)
    _, function = lookup(check.kind)
    others = {}
    if "compare_to" in check.params:
        other = evidence.get(check.params["compare_to"], Missing(f"{check.params['compare_to']} was not exported"))
        if isinstance(other, Missing):
            return Outcome(False, other.reason)
        others["other"] = other
    if "trained_model" in check.params:  # the model whose own record the check holds the evidence against
        others["model"] = evidence.get(check.params["trained_model"],
                                       Missing(f"{check.params['trained_model']} was not exported"))
    if "uses" in check.params:
        others["namespace"] = {name: evidence.get(name, Missing(f"{name} was not exported"))
                               for name in check.params["uses"]}
    try:
        return function(value, check.params, **others)
    except Exception as exc:  # noqa: BLE001 - evidence is hostile: any failure is the submission's
        log.info("check %s failed on evidence %s: %r", check.kind, check.evidence, exc)
        return Outcome(False, f"{check.evidence} could not be checked ({type(exc).__name__}: {one_line(exc, 200)})")


def check_title(check: CheckSpec) -> str:
    return check.title or f"{check.kind.replace('_', ' ')} of {check.evidence}"


def score_task(task: TaskSpec, evidence: Mapping[str, Any], ungraded_reason: str | None = None,
               notes: tuple[str, ...] = ()) -> TaskResult:
    """The task's checks on the evidence; its feedback the notes and the reason it was not graded in full, each
    made one line (they quote what the student wrote: a newline there must not start a line of the feedback),
    then each check's lines."""
    ungraded_reason = one_line(ungraded_reason) if ungraded_reason else ungraded_reason
    results = []
    for check in task.checks:
        outcome = run_check(check, evidence.get(check.evidence, Missing(f"{check.evidence} was not exported")), evidence)
        results.append(CheckResult(kind=check.kind, title=check_title(check),
                                   points=check.points if outcome.passed else 0.0, max_points=check.points,
                                   passed=outcome.passed, message=outcome.message, public=check.public,
                                   details=outcome.details))
    points = sum(r.points for r in results)
    lines = [one_line(note) for note in notes]
    if ungraded_reason:
        lines.append(f"{NOT_GRADED} {ungraded_reason}.")
    for result in results:
        lines += result.feedback_lines()
    return TaskResult(name=task.name, title=task.title, points=points, max_points=task.max_points,
                      checks=tuple(results), ungraded_reason=ungraded_reason, feedback="\n".join(lines))
