"""Checks on a Keras callback that stops training at an accuracy threshold, probed with chosen logs.

The grader gives a copy of the student's callback the logs Keras gives at the end of an epoch, with
accuracies just under the threshold (training must go on) and at or over it (training must stop).  At the
threshold itself the accuracy is the value Keras logs (a float32, as in real training), so that ``>`` and
``>=`` both stop there, as they do when the callback runs in ``fit``.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..inkernel import callback_hooks, epoch_end
from ..probes import ProbedCallback, case_builder, case_id
from .base import Missing, Outcome, check, guard

UNDER = (0.5, 0.9, 0.97, 0.99)


@guard("callback")
def is_callback_evidence(value: Any) -> Outcome | None:
    return None  # a live object (the student's check) or the probe's findings (the grader)


def _cases(params: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    threshold = float(params["threshold"])
    step = float(params.get("step", 0.0001))
    under = sorted({u for u in UNDER if u < threshold - step} | {round(threshold - step, 6)})
    at = float(np.float32(threshold))  # what Keras logs for an accuracy of exactly the threshold
    over = sorted({at, *(v for v in (round(threshold + step, 6), 1.0) if v <= 1.0)})
    return under, over


def _logs(params: Mapping[str, Any], accuracy: float) -> dict:
    return {"logs": {str(params.get("metric", "accuracy")): accuracy, "loss": 0.05}, "epoch": 3}


@case_builder("callback_stops")
def stop_cases(params: Mapping[str, Any]) -> list[dict]:
    under, over = _cases(params)
    return [_logs(params, a) for a in under + over]


def _stopped(value: Any, params: Mapping[str, Any], accuracy: float) -> Any:
    case = _logs(params, accuracy)
    if isinstance(value, ProbedCallback):
        return value.stopped.get(case_id(case), Missing("this case was not tried"))
    return _run_live(value, case)


def _run_live(callback: Any, case: dict) -> Any:
    """The probe of a live callback (the student's check), by the same code the grader runs in the kernel."""
    import keras

    outcome = epoch_end(callback, keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]), case)
    if outcome["status"] != "ok":
        return Missing(f"calling on_epoch_end raised {outcome['detail']}")
    return outcome["stopped"]


@check("callback_form", "callback")
def callback_form(value: Any, params: Mapping[str, Any]) -> Outcome:
    """A ``tf.keras.callbacks.Callback`` (an object of your class, not the class) with its own ``on_epoch_end``."""
    if isinstance(value, ProbedCallback):
        is_callback, hooks, name = value.is_callback, value.hooks, value.class_name
    else:
        import keras

        if isinstance(value, type):
            return Outcome(False, f"{value.__name__} is a class: create the callback with {value.__name__}()")
        is_callback = isinstance(value, keras.callbacks.Callback)
        name = type(value).__name__
        hooks = callback_hooks(value)
    if not is_callback:
        return Outcome(False, f"it is a {name}, not a tf.keras.callbacks.Callback: define your class as"
                              f" class {name}(tf.keras.callbacks.Callback)")
    if "on_epoch_end" not in hooks:
        defined = f" (it defines {', '.join(hooks)})" if hooks else ""
        return Outcome(False, f"{name} does not define on_epoch_end{defined}: the task stops training at the end of"
                              " an epoch")
    return Outcome(True, f"{name} is a Keras callback with its own on_epoch_end")


@check("callback_stops", "callback")
def callback_stops(value: Any, params: Mapping[str, Any]) -> Outcome:
    """Training goes on below the threshold and stops at it and above it."""
    threshold = float(params["threshold"])
    metric = str(params.get("metric", "accuracy"))
    under, over = _cases(params)
    problems = []
    for accuracy in under:
        stopped = _stopped(value, params, accuracy)
        if isinstance(stopped, Missing):
            return Outcome(False, stopped.reason)
        if stopped:
            problems.append(f"it stops training at {metric} {accuracy:g}, before it reaches {threshold:g}")
            break
    missed = []
    for accuracy in over:
        stopped = _stopped(value, params, accuracy)
        if isinstance(stopped, Missing):
            return Outcome(False, stopped.reason)
        if not stopped:
            missed.append(accuracy)
    if missed and len(missed) == len(over):
        problems.append(f"it never stops training, not even at {metric} {over[-1]:g}: does on_epoch_end read"
                        f" logs['{metric}'] (Keras names it '{metric}', not 'acc') and set"
                        " self.model.stop_training = True?")
    elif missed:
        problems.append(f"it does not stop at {metric} {missed[0]:.6g}, which reaches {threshold:g}")
    if problems:
        return Outcome(False, "; ".join(problems))
    return Outcome(True, f"training goes on below {metric} {threshold:g} and stops once it reaches it")
