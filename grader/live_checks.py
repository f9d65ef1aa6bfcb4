"""A task's public checks on the live variables of a notebook: the same checks and words as the grader's.

Nothing here trains, loads a data set or reads the solution: only ``public_checks.json`` and the variables.
"""
from __future__ import annotations

from typing import Any, Mapping

from .check_report import CheckReport
from .checks.base import Missing
from .coverage import left_out_lines, left_out_points
from .handout import Handout
from .scoring import score_task

NOT_IN_NAMESPACE = ("figure",)  # counted from the pictures the notebook shows, not read from a variable


def live_evidence(name: str, namespace: Mapping[str, Any]) -> Any:
    if name not in namespace:
        return Missing(f"{name} is not defined yet: run the cells above first")
    if namespace[name] is Ellipsis:
        return Missing(f"{name} is still the placeholder ...: replace it with your answer")
    return namespace[name]


def check_task(handout: Handout, task_name: str, namespace: Mapping[str, Any]) -> CheckReport:
    task = handout.task(task_name)
    variables = tuple(name for name, kind in task.exports.items() if kind not in NOT_IN_NAMESPACE)
    evidence = {name: live_evidence(name, namespace) for name in task.exports}
    undefined = tuple(name for name in variables if isinstance(evidence[name], Missing))
    left_out = handout.left_out.get(task_name, ())
    return CheckReport(score_task(task, evidence), tuple(left_out_lines(left_out)), left_out_points(left_out),
                       variables, undefined)
