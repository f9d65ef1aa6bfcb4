"""A task's public checks on the live variables of a notebook: the same checks and words as the grader's.

Nothing here trains, loads a data set or reads the solution: only ``public_checks.json`` and the variables.  A
variable is checked as the grader will see it: a subclassed Keras model as the network of its layers, which is how
the grader's export saves it.  Besides the public checks, the report says what the grader's own checks of the task
need and do not find (``grader/student/readiness.py``): a model not trained yet, a history gone.
"""
from __future__ import annotations

import difflib
from typing import Any, Mapping

from grader.checks.base import Missing
from grader.course.coverage import left_out_lines, left_out_points
from grader.course.handout import Handout
from grader.grading.scoring import score_task
from grader.spec import TaskSpec
from grader.student.check_report import CheckReport, UnknownTask
from grader.student.readiness import NOT_IN_NAMESPACE, unmet_needs


def input_hints(task: TaskSpec) -> dict[str, tuple]:
    """The input shape each model of the task should have, as the public checks say (the grader's export traces a
    subclassed model that never said on it)."""
    return {check.evidence: tuple(check.params["input_shape"]) for check in task.checks
            if task.exports.get(check.evidence) == "keras_model" and "input_shape" in check.params}


def as_graded(name: str, value: Any, hint: tuple | None) -> Any:
    """A Keras model as the grader's export saves it: a subclassed model as the network of its layers."""
    import sys

    keras = sys.modules.get("keras")
    if keras is None or not isinstance(value, keras.Model):
        return value
    from grader.inside.inkernel import network_of

    try:
        return network_of(value, hint)[0]
    except TypeError as exc:  # the words the grader's export gives
        return Missing(f"the grader cannot read {name}: {exc}")


def live_evidence(name: str, namespace: Mapping[str, Any], kind: str = "any", hint: tuple | None = None) -> Any:
    """The variable ``name`` as the grader reads it, or a ``Missing`` saying what is wrong and what to do (its
    reason is always ``what: what to do``)."""
    if name not in namespace:
        return Missing(f"{name} is not defined yet: run the cells above first")
    if namespace[name] is Ellipsis:
        return Missing(f"{name} is still the placeholder ...: replace it with your answer")
    if _unwritten_function(namespace[name], kind):
        return Missing(f"{name} is not done yet: its code still holds the placeholder ... (# YOUR CODE HERE):"
                       " write the function")
    if kind == "keras_model":
        return as_graded(name, namespace[name], hint)
    if kind == "array":
        return as_exported_array(namespace[name])
    return namespace[name]


def as_exported_array(value: Any) -> Any:
    """An array variable as the grader's export saves it (``inkernel.as_array``): a TensorFlow tensor or a list of
    numbers is the array it holds (the export took them; the check must not say "expected a NumPy array")."""
    from grader.inside.inkernel import as_array

    try:
        return as_array(value)
    except Exception:  # noqa: BLE001 - what cannot be an array is the array check's to name
        return value


def _unwritten_function(value: Any, kind: str) -> bool:
    """A function of the template, its body still the placeholder (``...  # YOUR CODE HERE``)."""
    from grader.inside.inkernel import still_placeholder

    return kind == "function" and callable(value) and still_placeholder(value)


def check_task(handout: Handout, task_name: str, namespace: Mapping[str, Any]) -> CheckReport | UnknownTask:
    names = [task.name for task in handout.spec.tasks]
    if task_name not in names:
        return UnknownTask(str(task_name), tuple(names), tuple(difflib.get_close_matches(str(task_name), names, 1)))
    return check_known_task(handout, task_name, namespace)


def check_known_task(handout: Handout, task_name: str, namespace: Mapping[str, Any]) -> CheckReport:
    """The public checks of a task the assignment has (``check_task`` first tells an unknown name)."""
    task = handout.task(task_name)
    variables = tuple(name for name, kind in task.exports.items() if kind not in NOT_IN_NAMESPACE)
    hints = input_hints(task)
    evidence = {name: live_evidence(name, namespace, kind, hints.get(name)) for name, kind in task.exports.items()}
    undefined = tuple(name for name in variables if name not in namespace or namespace[name] is Ellipsis
                      or _unwritten_function(namespace[name], task.exports[name]))
    left_out = handout.left_out.get(task_name, ())
    return CheckReport(score_task(task, evidence), tuple(left_out_lines(left_out)), left_out_points(left_out),
                       variables, undefined, unmet_needs(task, left_out, evidence))
