"""Scoring a task: run its checks on the evidence, in the grader's own process."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from grader.checks.base import WHEN_MISSING, Missing, Outcome, lookup
from grader.results import NOT_GRADED, CheckResult, TaskResult
from grader.spec import CheckSpec, TaskSpec
from grader.student_text import one_line

log = logging.getLogger(__name__)


def run_check(check: CheckSpec, value: Any, evidence: Mapping[str, Any] | None = None) -> Outcome:
    """One check on one piece of evidence; a crash on hostile data fails the check, never the grader."""
    evidence = evidence or {}
    _, function = lookup(check.kind)
    if isinstance(value, Missing):
        try:
            return WHEN_MISSING[check.kind](check.params, value.reason) if check.kind in WHEN_MISSING \
                else Outcome(False, value.reason)
        except Exception:  # noqa: BLE001 - the links are a courtesy: the failure stands without them
            log.exception("linking the missing evidence of %s", check.kind)
            return Outcome(False, value.reason)
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


def _named(check: CheckSpec, names: tuple[str, ...]) -> set[str]:
    """A check's causes as the submission knows them: the evidence's own prefixed with its variable."""
    return {_one_name(check, name) for name in names}


def _one_name(check: CheckSpec, name: str) -> str:
    return name if name.startswith("@") else f"{check.evidence}:{name}"


def consequence(check: CheckSpec, outcome: Outcome, counted: Mapping[str, str]) -> str | None:
    """The check that already counted the mistake this failure follows from (None when it is a mistake of its own,
    or the assignment charges it anyway: ``charge_consequences``).  One mistake costs once: a CNN with 32 filters
    where 64 are asked loses the layer check, and the shapes that change with it cost nothing more.

    It follows from every name of ``follows_from``; a name may be alternatives, ``"a|b"``, any one of which
    counted is enough (an image filtered then pooled by hand follows from a wrong convolution or a wrong
    pooling)."""
    if outcome.passed or not outcome.follows_from or check.params.get("charge_consequences"):
        return None
    counted_by = [next((counted[n] for n in (_one_name(check, a) for a in name.split("|")) if n in counted), None)
                  for name in sorted(outcome.follows_from)]
    return None if None in counted_by else counted_by[0]


def score_task(task: TaskSpec, evidence: Mapping[str, Any], ungraded_reason: str | None = None,
               notes: tuple[str, ...] = (), counted: dict[str, str] | None = None) -> TaskResult:
    """The task's checks on the evidence; its feedback the notes and the reason it was not graded in full, each
    made one line (they quote what the student wrote: a newline there must not start a line of the feedback),
    then each check's lines.  ``counted`` (kept across a submission's tasks, in order) names the mistakes
    already counted and by which check: a failure that only follows from them costs no points."""
    ungraded_reason = one_line(ungraded_reason) if ungraded_reason else ungraded_reason
    counted = {} if counted is None else counted
    outcomes = [run_check(check, evidence.get(check.evidence, Missing(f"{check.evidence} was not exported")),
                          evidence) for check in task.checks]
    for check, outcome in zip(task.checks, outcomes):
        if not outcome.passed:
            for name in _named(check, outcome.causes):
                counted.setdefault(name, f"{check_title(check)} ({task.title})")
    results = []
    for check, outcome in zip(task.checks, outcomes):
        already = consequence(check, outcome, counted)
        message = outcome.message if not already else \
            f"{outcome.message}\nnot counted again: this follows from a mistake already counted by {already}"
        results.append(CheckResult(kind=check.kind, title=check_title(check),
                                   points=check.points if outcome.passed or already else 0.0,
                                   max_points=check.points, passed=outcome.passed, message=message,
                                   public=check.public, details=outcome.details, consequence_of=already or ""))
    points = sum(r.points for r in results)
    lines = [one_line(note) for note in notes]
    if ungraded_reason:
        lines.append(f"{NOT_GRADED} {ungraded_reason}.")
    for result in results:
        lines += result.feedback_lines()
    return TaskResult(name=task.name, title=task.title, points=points, max_points=task.max_points,
                      checks=tuple(results), ungraded_reason=ungraded_reason, feedback="\n".join(lines))
