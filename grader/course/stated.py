"""What the task text itself states, as checks students may run: the accuracy a trained model must reach, when
training must stop, when the callback must stop it.

The grader's checks of these are hidden (their parameters live in the solution), but their thresholds are no
secret: the task's own text says "the grader measures its accuracy on the test images: it needs at least 0.84".
``grader generate`` writes such a check into ``public_checks.json`` (``stated``, per task) with only the parameters
needed to measure it (the data set, its split and scaling, the thresholds), and only when the notebook's text
states every threshold it holds; a threshold the text does not state stays hidden.  ``grader submit --dry-run``
measures these on the data the student's machine has and says so.  None of them holds an answer.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from grader.course.source import AssignmentSource
from grader.errors import SpecError
from grader.spec import CheckSpec

STATED = "stated"  # the key of a task's stated checks in public_checks.json
# {kind: the parameters a stated check keeps}: nothing else of the hidden check reaches the student's files.
STATED_PARAMS = {
    "model_accuracy": ("dataset", "split", "scale", "pad", "classes", "min_accuracy"),
    "training_stopped": ("metric", "threshold", "max_epochs", "trained_model"),
    "callback_stops": ("metric", "threshold", "step"),
}
NOUNS = {"mnist": "digits", "fashion_mnist": "images"}


def _accuracies(value: Any) -> list[float]:
    values = value.values() if isinstance(value, Mapping) else [value]
    return [float(v) for v in values]


def claims(check: CheckSpec) -> list[tuple[float, str]]:
    """The numbers the text must state for ``check`` to be published: (value, "fraction" or "epochs")."""
    params = check.params
    if check.kind == "model_accuracy":
        return [(v, "fraction") for v in _accuracies(params["min_accuracy"])]
    if check.kind == "training_stopped":
        return [(float(params["threshold"]), "fraction"), (float(params["max_epochs"]), "epochs")]
    if check.kind == "callback_stops":
        return [(float(params["threshold"]), "fraction")]
    return []


def _number(value: float) -> str:
    return re.escape(f"{value:g}")


def states(text: str, value: float, unit: str) -> bool:
    """Whether ``text`` writes ``value``: a fraction as itself (``0.84``) or as a percentage (``84%``), a number of
    epochs followed by the word (``10 epochs``)."""
    plain = re.sub(r"[*_`]", "", text)  # Markdown's emphasis
    if unit == "epochs":
        return re.search(rf"(?<![\d.]){_number(value)}\s+epochs?\b", plain) is not None
    as_fraction = rf"(?<![\d.]){_number(value)}(?![\d])"
    as_percent = rf"(?<![\d.]){_number(round(value * 100, 6))}\s?%"
    return re.search(as_fraction, plain) is not None or re.search(as_percent, plain) is not None


def task_text(source: AssignmentSource, task: str) -> str:
    """What students read of a task: its text cells and the assignment's introduction (cells before any task)."""
    return "\n".join(item.cell.source for item in source.cells
                     if item.cell.cell_type != "code" and item.task in (task, None))


def stated_check(check: CheckSpec) -> CheckSpec:
    """The stated twin of a hidden check: its kind, variable, points and the parameters of ``STATED_PARAMS``."""
    keep = STATED_PARAMS[check.kind]
    return CheckSpec(kind=check.kind, evidence=check.evidence, points=check.points, public=False,
                     title=title(check), params={k: v for k, v in check.params.items() if k in keep})


def stated_checks(source: AssignmentSource) -> dict[str, list[dict[str, Any]]]:
    """For each task, the stated twins of its hidden checks whose every threshold its text states."""
    found: dict[str, list[dict[str, Any]]] = {}
    for task in source.spec.tasks:
        text = task_text(source, task.name)
        for check in task.checks:
            if check.public or check.kind not in STATED_PARAMS:
                continue
            if all(states(text, value, unit) for value, unit in claims(check)):
                found.setdefault(task.name, []).append(stated_check(check).to_dict())
    return found


def read_stated(public_checks_text: str) -> dict[str, tuple[CheckSpec, ...]]:
    """The stated checks of ``public_checks.json``, by task; a kind or a parameter this grader does not know is
    refused (a newer file, or one edited by hand)."""
    try:
        data = json.loads(public_checks_text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"public_checks.json cannot be read: {exc}") from None
    stated: dict[str, tuple[CheckSpec, ...]] = {}
    for task in data.get("tasks") or ():
        checks = []
        for entry in task.get(STATED) or ():
            check = CheckSpec.from_dict(entry)
            if check.kind not in STATED_PARAMS or set(check.params) - set(STATED_PARAMS[check.kind]):
                raise SpecError(f"public_checks.json: task {task.get('name')!r} states a check this grader does not"
                                f" know ({check.kind}): install the grader the course gives")
            if check.evidence not in (task.get("exports") or {}):
                raise SpecError(f"public_checks.json: task {task.get('name')!r} states a check of"
                                f" {check.evidence!r}, which it does not export")
            checks.append(check)
        if checks:
            stated[str(task["name"])] = tuple(checks)
    return stated


SPLITS = {"train": "training", "test": "test"}


def _split(params: Mapping[str, Any]) -> str:
    split = str(params.get("split", ""))
    return f"the {SPLITS.get(split, split)} {NOUNS.get(str(params.get('dataset')), 'images')}"


def title(check: CheckSpec) -> str:
    """What the text states, in a few words (without the threshold, which depends on the data set for MNIST)."""
    params = check.params
    if check.kind == "model_accuracy":
        return f"accuracy of {check.evidence} on {_split(params)}"
    if check.kind == "training_stopped":
        return f"training stopped by the callback (read from {check.evidence})"
    if check.kind == "callback_stops":
        metric = params.get("metric", "accuracy")
        return f"the callback {check.evidence} stops training at {metric} {float(params['threshold']):g}"
    return f"{check.kind} of {check.evidence}"


def promise(check: CheckSpec) -> str:
    """What the text states, as a sentence: the thresholds too."""
    params = check.params
    if check.kind == "model_accuracy":
        wanted = params["min_accuracy"]
        if isinstance(wanted, Mapping):
            levels = " or ".join(f"{float(v):g} ({'the full MNIST' if k == 'keras-full' else 'the MNIST subset'})"
                                 for k, v in wanted.items())
        else:
            levels = f"{float(wanted):g}"
        return f"{check.evidence} reaches an accuracy of at least {levels} on {_split(params)}"
    if check.kind == "training_stopped":
        return (f"training stops at the first epoch whose {params.get('metric', 'accuracy')} reaches"
                f" {float(params['threshold']):g}, within {int(params['max_epochs'])} epochs")
    if check.kind == "callback_stops":
        return (f"the callback {check.evidence} stops training once {params.get('metric', 'accuracy')} reaches"
                f" {float(params['threshold']):g}, and not before")
    return title(check)


def same_check(check: CheckSpec, kind: str, evidence: str, points: float) -> bool:
    return check.kind == kind and check.evidence == evidence and check.points == points


def not_stated(left_out: Iterable[Any], stated: Iterable[CheckSpec]) -> list[Any]:
    """The checks left out of the public file (``LeftOut``: kind, evidence, points) that no stated check covers."""
    remaining = list(stated)
    rest = []
    for item in left_out:
        match = next((s for s in remaining if same_check(s, item.kind, item.evidence, item.points)), None)
        if match is None:
            rest.append(item)
        else:
            remaining.remove(match)
    return rest
