"""Checks on a Keras callback that stops training at an accuracy threshold, probed with chosen logs.

The grader gives a copy of the student's callback the logs Keras gives at the end of an epoch, with
accuracies just under the threshold (training must go on) and at or over it (training must stop).  At the
threshold itself the accuracy is the value Keras logs (a float32, as in real training), so that ``>`` and
``>=`` both stop there, as they do when the callback runs in ``fit``.

A variable that holds a list of one callback (``callbacks = [myCallback()]``) loses the point for the form (the
task asks for the object) but its callback is probed: ``fit(callbacks=[callbacks])`` flattens the list, so it
stops training as the object would.  A callback that reads a key the logs do not hold (``logs["acc"]``) is told
the name Keras logs the metric under.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import numpy as np

from grader.checks.base import Missing, Outcome, check, guard, with_article
from grader.checks.training import STOPS_WRONG
from grader.grading.probes import ProbedCallback, case_builder, case_id
from grader.inside.inkernel import callback_hooks, callback_object, epoch_end, one_callback

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


def _live_outcome(callback: Any, case: dict) -> dict:
    """The probe of a live callback (the student's check), by the same code the grader runs in the kernel."""
    import keras

    return epoch_end(callback_object(one_callback(callback)), keras.Sequential([keras.Input((1,)),
                                                                              keras.layers.Dense(1)]), case)


def _run_live(callback: Any, case: dict) -> Any:
    """Whether a live callback stopped training on ``case``, or a ``Missing`` saying what it raised."""
    outcome = _live_outcome(callback, case)
    if outcome["status"] != "ok":
        return Missing(f"calling on_epoch_end raised {outcome['detail']}")
    return outcome["stopped"]


def _keys_not_logged(value: Any, params: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys the callback read that the logs Keras gives do not hold (``"acc"``)."""
    if isinstance(value, ProbedCallback):
        return value.missing_keys
    _, over = _cases(params)
    return tuple(_live_outcome(value, _logs(params, over[-1])).get("missing_keys", ()))


def _wrong_key(key: str, metric: str) -> str:
    if key.startswith("val_") and key != f"val_{metric}" and "acc" in key.lower():
        key_meant = f"val_{metric}"
        return (f"your callback reads logs['{key}']; Keras logs the validation metric as '{key_meant}', and the task"
                f" watches the training {metric}: read logs['{metric}']")
    if key == f"val_{metric}":
        return (f"your callback reads logs['{key}'], the {metric} on the validation data (logged only when fit is"
                f" given validation data); the task stops at the training {metric}: read logs['{metric}']")
    if "acc" in key.lower():
        return (f"your callback reads logs['{key}']; the task's metric is '{metric}', which Keras logs as"
                f" '{metric}' when the model is compiled with metrics=['{metric}']: read logs['{metric}']")
    return f"your callback reads logs['{key}'], which Keras does not log; the training accuracy is logs['{metric}']"


def _list_form(value: Any) -> str | None:
    """What to say when the variable holds a list (or tuple), or the class, instead of the callback itself; None if it
    does not."""
    if isinstance(value, ProbedCallback):
        container, variable, name = value.container, value.name, value.class_name
    elif isinstance(value, (list, tuple)):
        container, variable = f"{type(value).__name__} of {len(value)}", ""
        name = type(one_callback(value)).__name__
    else:
        return None
    if not container:
        return None
    if container == "class":
        return f"{variable} is the class {name} itself: create the callback object, {variable} = {name}()"
    kind = container.split(" of ")[0]
    name = name if container.endswith(" of 1") else "myCallback"
    if variable:
        return f"{variable} is a {kind}: assign the callback object itself, {variable} = {name}()"
    return f"it is a {kind}: assign the callback object itself ({name}()), not a {kind} of it"


@check("callback_form", "callback")
def callback_form(value: Any, params: Mapping[str, Any]) -> Outcome:
    """A ``tf.keras.callbacks.Callback`` (an object of your class, not the class) with its own ``on_epoch_end``."""
    in_a_list = _list_form(value)
    if in_a_list:
        return Outcome(False, in_a_list)
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
        return Outcome(False, f"it is {with_article(name)}, not a tf.keras.callbacks.Callback: define your class as"
                              f" class {name}(tf.keras.callbacks.Callback)")
    if name == "LambdaCallback":
        return Outcome(False, "it is a LambdaCallback: the task asks for a class of your own, class"
                              " myCallback(tf.keras.callbacks.Callback), with its own on_epoch_end")
    if "on_epoch_end" not in hooks:
        defined = f" (it defines {', '.join(hooks)})" if hooks else ""
        return Outcome(False, f"{name} does not define on_epoch_end{defined}: the task stops training at the end of"
                              " an epoch")
    return Outcome(True, f"{name} is a Keras callback with its own on_epoch_end")


@check("callback_stops", "callback")
def callback_stops(value: Any, params: Mapping[str, Any]) -> Outcome:
    """Training goes on below the threshold and stops at it and above it; a key the logs do not hold is named.
    A callback that does not is a mistake the training it stopped (or did not) follows from (``STOPS_WRONG``)."""
    outcome = _callback_stops(value, params)
    return outcome if outcome.passed else replace(outcome, causes=(STOPS_WRONG,))


def _callback_stops(value: Any, params: Mapping[str, Any]) -> Outcome:
    metric = str(params.get("metric", "accuracy"))
    outcome = _stops_at_threshold(value, params)
    wrong_keys = _keys_not_logged(value, params)
    if not outcome.passed and wrong_keys:
        return Outcome(False, _wrong_key(wrong_keys[0], metric))
    return outcome


def _stops_at_threshold(value: Any, params: Mapping[str, Any]) -> Outcome:
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
