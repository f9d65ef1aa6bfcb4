"""What the grader's own checks of a task need that the notebook's live variables do not have yet.

A public check sees only what it reads: a model's layers say nothing of its training, and a task's ``history`` can
be gone (deleted, or never made: the training cell raised) while its model is still there.  Of each check the
grader runs that students cannot, the student's side knows only its kind, the variable it reads and its points
(``public_checks.json``); from those it tells what that check will not find:

* its variable not defined, still the placeholder ``...``, or not the kind of thing the grader reads (the same
  test every piece of evidence of its kind passes in the grader);
* for a check that measures what training did (an accuracy, when training stopped), a model whose optimizer has
  taken no step since it was built or compiled, and a history that cannot be the training of the task's model
  (it claims more steps than the model's optimizer took, as the grader holds it against them).

Nothing here says what a hidden check expects: only what it reads, and whether that is there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from grader.checks.base import Missing, guard_of
from grader.course.handout import LeftOut
from grader.spec import TaskSpec

NEED_TRAINING = ("model_accuracy", "training_stopped")  # hidden checks that measure what training did
NOT_IN_NAMESPACE = ("figure",)  # counted from the pictures the notebook shows, not read from a variable


@dataclass(frozen=True)
class Unmet:
    """Something the grader's checks of a task will not find: what (short), why and what to do, and the points of
    the checks that need it."""

    what: str
    advice: str
    points: float

    def line(self) -> str:
        return f"{self.what}: {self.advice}"


def unmet_needs(task: TaskSpec, left_out: Iterable[LeftOut], evidence: Mapping[str, Any]) -> tuple[Unmet, ...]:
    """What each check the grader runs beyond the public ones needs and does not find, once per finding (its points
    those of every check that needs it)."""
    read_publicly = {check.evidence for check in task.checks}
    found: dict[tuple[str, str], float] = {}
    for check in left_out:
        for what, advice in _needs(check, task, evidence, read_publicly):
            found[(what, advice)] = found.get((what, advice), 0.0) + check.points
    return tuple(Unmet(what, advice, points) for (what, advice), points in found.items())


def _needs(check: LeftOut, task: TaskSpec, evidence: Mapping[str, Any],
           read_publicly: set[str]) -> list[tuple[str, str]]:
    kind = task.exports.get(check.evidence)
    if kind is None or kind in NOT_IN_NAMESPACE:
        return []
    value = evidence.get(check.evidence)
    problem = _guard_problem(kind, value)  # (None for a Missing value)
    if (isinstance(value, Missing) or problem) and check.evidence in read_publicly:
        return []  # a public check reads it, and says what is wrong
    if isinstance(value, Missing):
        what, _, advice = value.reason.partition(": ")
        return [(what, advice or "the grader reads it")]
    if problem:
        return [(f"{check.evidence} is not what the grader reads", problem)]
    if check.kind not in NEED_TRAINING:
        return []
    if kind == "keras_model":
        return [need for need in [untrained(check.evidence, value)] if need]
    if kind == "history":
        return history_needs(check.evidence, value, task, evidence)
    return []


def _guard_problem(kind: str, value: Any) -> str | None:
    """What the grader's test of every piece of evidence of ``kind`` says of ``value`` (None: it passes)."""
    guard = None if isinstance(value, Missing) else guard_of(kind)
    outcome = guard(value) if guard else None
    return outcome.message if outcome is not None else None


def untrained(name: str, model: Any) -> tuple[str, str] | None:
    """(what, advice) when ``model``'s optimizer has taken no step since it was built or compiled; else None."""
    from grader.checks.training import optimizer_steps

    steps = optimizer_steps(model)
    if steps is None:
        return (f"{name} is not trained yet",
                f"it is not compiled, so it was never trained: compile it, then train it with {name}.fit(...)")
    if steps == 0:
        return (f"{name} is not trained yet",
                f"its optimizer has taken no step since it was built or compiled; train it with {name}.fit(...),"
                " after its last compile")
    return None


def history_needs(name: str, history: Any, task: TaskSpec, evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What a history the grader reads for a training's course does not show: an epoch, and, where the task has one
    model, that model's training (a model re-created or compiled again after ``fit`` has not had it)."""
    from grader.checks.training import training_contradiction

    metrics = history["metrics"] if isinstance(history, dict) else history.history
    if not any(metrics.values()):
        return [(f"{name} records no epoch", f"it must be what {name} = model.fit(...) returns, after training")]
    models = [variable for variable, kind in task.exports.items() if kind == "keras_model"]
    if len(models) != 1 or isinstance(evidence.get(models[0]), Missing) or untrained(models[0], evidence[models[0]]):
        return []  # said of the model itself
    contradiction = training_contradiction(history, {"trained_model": models[0]}, evidence[models[0]])
    if contradiction is None:
        return []
    return [(f"{name} is not the training of {models[0]}",
             f"{contradiction.message}; was {models[0]} made or compiled again after that training? Then run the"
             " training cell again")]
