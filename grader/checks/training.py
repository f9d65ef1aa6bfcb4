"""Checks on how training went, read from what ``model.fit`` returned (its history) and from the notebook's
figures (counted by the runner).

A history is only what the student's code says happened: it can be built by hand.  Where the task names the model
it trained (``trained_model``), the history's claim is held against what the model itself records, the number of
steps its optimizer took: a history that claims more training than the model had is a contradiction, named and
never credited.  (More steps than the history claims is honest: a model trained by two calls of ``fit``.)"""
from __future__ import annotations

from typing import Any, Mapping

from grader.checks.base import Missing, Outcome, check, guard


@guard("history")
def is_history(value: Any) -> Outcome | None:
    if isinstance(value, dict) and isinstance(value.get("metrics"), dict):
        return None
    if hasattr(value, "history") and isinstance(value.history, dict):
        return None
    return Outcome(False, f"expected what model.fit(...) returns (a History), found {type(value).__name__}")


def _metrics(value: Any) -> dict[str, list[float]]:
    if isinstance(value, dict):
        return {k: list(v) for k, v in value["metrics"].items()}
    return {k: [float(x) for x in v] for k, v in value.history.items()}


def optimizer_steps(model: Any) -> int | None:
    """How many steps the model's optimizer took (None without an optimizer that counts them)."""
    iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
    try:
        return int(iterations.numpy()) if iterations is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def _steps_per_epoch(value: Any) -> int | None:
    steps = value.get("steps") if isinstance(value, dict) else (getattr(value, "params", None) or {}).get("steps")
    return steps if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0 else None


def training_contradiction(value: Any, params: Mapping[str, Any], model: Any) -> Outcome | None:
    """Why the history cannot be what training ``model`` did (None when it can be)."""
    name = str(params.get("trained_model", "the model"))
    if isinstance(model, Missing):
        return Outcome(False, f"the training cannot be confirmed without {name}: {model.reason}")
    done = optimizer_steps(model)
    if done is None:
        return Outcome(False, f"{name} has no optimizer state, so the training its history describes cannot be"
                              f" confirmed: compile {name} and train it with {name}.fit(...)")
    epochs = len(next(iter(_metrics(value).values()), []))
    per_epoch = _steps_per_epoch(value)
    planned = _planned_epochs(value)
    stopped = planned is not None and planned > epochs  # its last epoch may have been stopped after a step (a
    # callback's on_train_batch_end), which Keras records all the same
    claimed = (epochs - 1) * (per_epoch or 1) + 1 if stopped else epochs * (per_epoch or 1)
    if done < claimed:
        steps = f" of {per_epoch:,} steps" if per_epoch else ""
        return Outcome(False, f"the history says {name} trained {epochs} epoch{'s' if epochs != 1 else ''}{steps},"
                              f" but its optimizer took {done:,} steps: this history was not made by training"
                              f" {name}")
    return None


# A callback that does not stop training where it should (``callbacks.callback_stops``): a training that stopped at
# the wrong epoch follows from it, and is not charged again (one that ran more epochs than allowed, or whose
# history contradicts the model, is a mistake of its own).
STOPS_WRONG = "@callback-stops-wrong"


@check("training_stopped", "history")
def training_stopped(value: Any, params: Mapping[str, Any], model: Any = None) -> Outcome:
    """Training ran at most ``max_epochs`` and stopped at the first epoch that reached the threshold.

    A training that reached the threshold only at its last planned epoch also stopped at the right time (the
    course's graders could not tell it from a callback that never fired); one that went on after reaching it did
    not.  One that ran every epoch allowed without reaching it had nothing to stop: a right callback does that
    (the seed decides whether 0.995 is reached in 10 epochs; the model's accuracy is its own check), so it
    passes; stopping below the threshold, or fewer epochs than allowed, does not."""
    metric = str(params.get("metric", "accuracy"))
    threshold = float(params["threshold"])
    most = int(params["max_epochs"])
    values = _metrics(value).get(metric)
    if not values:
        return Outcome(False, f"the history has no '{metric}': compile the model with metrics=['{metric}']",
                       follows_from=(STOPS_WRONG,))
    if len(values) > most:
        return Outcome(False, f"training ran {len(values)} epochs, more than the {most} allowed")
    reached = [i for i, v in enumerate(values) if v >= threshold]
    if "trained_model" in params and (reached or len(values) == most):  # a pass must be what training did
        contradiction = training_contradiction(value, params, model)
        if contradiction:
            return contradiction
    if not reached and len(values) == most:  # a right callback never fails this: nothing to stop, and it did not
        return Outcome(True, f"{metric} stayed below {threshold:g} for the {most} epochs allowed (best"
                             f" {max(values):.4f}), so there was nothing to stop, and training was not stopped early")
    if not reached:  # a consequence of the callback where it stopped training early, not where fit was asked for
        planned = _planned_epochs(value)  # fewer epochs
        stopped_early = planned is None or planned > len(values)
        return Outcome(False, _never_reached(value, metric, threshold, values, most),
                       follows_from=(STOPS_WRONG,) if stopped_early else ())
    first = reached[0]
    if first < len(values) - 1:
        return Outcome(False, f"{metric} reached {values[first]:.4f} at epoch {first + 1}, but training went on to"
                              f" epoch {len(values)}: the callback did not stop it", follows_from=(STOPS_WRONG,))
    return Outcome(True, f"training stopped after epoch {len(values)}, the first to reach {metric} {threshold:g}"
                         f" ({values[-1]:.4f})")


def _planned_epochs(value: Any) -> int | None:
    """The epochs ``fit`` was asked for (None when the history does not say)."""
    planned = value.get("planned_epochs") if isinstance(value, dict) else \
        (getattr(value, "params", None) or {}).get("epochs")
    return planned if isinstance(planned, int) and not isinstance(planned, bool) and planned > 0 else None


def _never_reached(value: Any, metric: str, threshold: float, values: list[float], most: int) -> str:
    """Why training ended below the threshold before the epochs allowed: stopped early (by the callback), or fit
    was asked for fewer epochs."""
    epochs, last, best = len(values), values[-1], max(values)
    planned = _planned_epochs(value)
    at = f"{metric} {last:.4f}" + (f" (best {best:.4f})" if best != last else "")
    if planned is not None and planned > epochs:
        return (f"training stopped after epoch {epochs} of the {planned} asked for, at {at}, before {metric} reached"
                f" {threshold:g}: something stopped it too early (does the callback compare {metric} with"
                f" {threshold:g}?)")
    count = f"{epochs} epoch{'s' if epochs != 1 else ''}"
    asked = f"fit ran the {count} it was asked for" if planned == epochs else f"training ran {count}"
    return (f"{asked} and ended at {at}, below {threshold:g}: train for up to {most} epochs (epochs={most}) so"
            " that the callback stops it once it reaches the threshold")


@guard("figure")
def is_figure_count(value: Any) -> Outcome | None:
    if isinstance(value, dict) and isinstance(value.get("pictures"), int):
        return None
    return Outcome(False, "the figures of this task could not be counted")


@check("figure_shown", "figure")
def figure_shown(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The task's cells showed at least ``min_pictures`` pictures (plots)."""
    least = int(params.get("min_pictures", 1))
    shown = int(value["pictures"])
    if shown >= least:
        return Outcome(True, f"{shown} picture{'s' if shown != 1 else ''} shown")
    return Outcome(False, f"{shown} pictures shown in this task's cells, expected at least {least}: does the cell"
                          " call plt.show() (or end with the figure)?")
