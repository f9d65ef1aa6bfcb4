"""A training history is held against the model's own record: a history made up by hand is named, never credited;
every honest way of training (one fit, two fits, the history's dict) keeps its points."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from grader.checks.base import Missing
from grader.grading.scoring import run_check
from grader.spec import CheckSpec

CHECK = CheckSpec(kind="training_stopped", evidence="history", points=2,
                  params={"metric": "accuracy", "threshold": 0.5, "max_epochs": 10, "trained_model": "model"})
STOPPED_AT_2 = {"accuracy": [0.4, 0.6], "loss": [1.0, 0.5]}


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, size=64)


@pytest.fixture
def model(keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def exported(history) -> dict:
    """The history as the exporter saves it (what the grader reads)."""
    params = getattr(history, "params", {}) or {}
    return {"metrics": {k: [float(x) for x in v] for k, v in history.history.items()},
            "epochs": list(history.epoch), "planned_epochs": params.get("epochs"), "steps": params.get("steps")}


def honest(model, data, epochs=2):
    history = model.fit(*data, epochs=epochs, batch_size=16, verbose=0)
    history.history = dict(STOPPED_AT_2)  # the accuracies are the test's; the training is real
    return history


def test_a_history_made_up_by_hand_for_an_untrained_model_is_a_contradiction(model):
    fake = SimpleNamespace(history=dict(STOPPED_AT_2), epoch=[0, 1], params={"epochs": 10, "steps": 4})
    for value in (fake, exported(fake)):
        outcome = run_check(CHECK, value, {"model": model})
        assert not outcome.passed
        assert outcome.message == ("the history says model trained 2 epochs of 4 steps, but its optimizer took 0"
                                   " steps: this history was not made by training model")


def test_a_history_claiming_more_epochs_than_the_model_trained_is_a_contradiction(model, data):
    model.fit(*data, epochs=1, batch_size=16, verbose=0)  # 4 steps
    fake = {"metrics": dict(STOPPED_AT_2), "epochs": [0, 1], "steps": 4}
    outcome = run_check(CHECK, fake, {"model": model})
    assert not outcome.passed and "its optimizer took 4 steps" in outcome.message
    without_steps = {"metrics": {"accuracy": [0.1] * 5 + [0.6]}, "epochs": list(range(6))}
    assert "trained 6 epochs, but its optimizer took 4 steps" in run_check(CHECK, without_steps,
                                                                          {"model": model}).message


@pytest.mark.parametrize("form", ["History", "exported", "dict of metrics"])
def test_honest_training_keeps_its_points(model, data, form):
    history = honest(model, data)
    value = {"History": history, "exported": exported(history),
             "dict of metrics": {"metrics": history.history, "epochs": [0, 1]}}[form]
    outcome = run_check(CHECK, value, {"model": model})
    assert outcome.passed, outcome.message


def test_a_model_trained_by_two_fits_is_honest(model, data):
    model.fit(*data, epochs=3, batch_size=16, verbose=0)
    assert run_check(CHECK, exported(honest(model, data)), {"model": model}).passed


def test_without_the_model_the_training_cannot_be_confirmed(model, data):
    history = honest(model, data)
    outcome = run_check(CHECK, exported(history), {"model": Missing("the variable model is not defined")})
    assert not outcome.passed
    assert outcome.message == "the training cannot be confirmed without model: the variable model is not defined"
    uncompiled = type(model).from_config(model.get_config())
    assert "model has no optimizer state" in run_check(CHECK, exported(history), {"model": uncompiled}).message


def test_ten_epochs_below_the_threshold_pass_only_when_the_model_trained_them(model, data):
    """A right callback with a seed that never reaches the threshold in the epochs allowed passes (nothing to
    stop); the same history made up by hand for an untrained model is still a contradiction."""
    below = {"metrics": {"accuracy": [0.3] * 10}, "epochs": list(range(10)), "steps": 4, "planned_epochs": 10}
    assert "its optimizer took 0 steps" in run_check(CHECK, below, {"model": model}).message
    model.fit(*data, epochs=10, batch_size=16, verbose=0)
    outcome = run_check(CHECK, below, {"model": model})
    assert outcome.passed and "nothing to stop" in outcome.message


def test_a_training_stopped_within_an_epoch_is_honest(model, data, keras):
    """Fairness audit: a callback that stops at a batch's end ends the fit within its epoch, which Keras records
    all the same (2 epochs of 4 steps, 5 steps taken): not a history 'made up', whatever else is wrong."""
    class StopAtStep5(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 5:
                self.model.stop_training = True

    history = model.fit(*data, epochs=10, batch_size=16, verbose=0, callbacks=[StopAtStep5()])
    assert len(history.epoch) == 2 and int(model.optimizer.iterations.numpy()) == 5
    history.history = dict(STOPPED_AT_2)
    outcome = run_check(CHECK, exported(history), {"model": model})
    assert outcome.passed, outcome.message


def test_a_training_that_went_on_because_the_callback_never_stops_is_not_charged_again(model, data):
    """One mistake costs once (fairness audit): a callback that never stops loses callback_stops; the training it
    did not stop follows from it. Without that counted, the same training costs its points."""
    from grader.checks.training import STOPS_WRONG
    from grader.grading.scoring import score_task
    from grader.spec import TaskSpec

    model.fit(*data, epochs=4, batch_size=16, verbose=0)
    went_on = {"metrics": {"accuracy": [0.4, 0.6, 0.7, 0.8]}, "epochs": [0, 1, 2, 3], "steps": 4}
    task = TaskSpec("model", "Model", {"history": "history", "model": "keras_model"}, (CHECK,))
    evidence = {"history": went_on, "model": model}
    assert score_task(task, evidence, counted={STOPS_WRONG: "callback stops (Callback)"}).points == 2
    assert score_task(task, evidence, counted={}).points == 0


def test_too_few_epochs_asked_for_is_a_mistake_of_its_own(model, data):
    """Review: a training that ran the 2 epochs fit was asked for, below the threshold, does not follow from a
    wrong callback (fit(epochs=2) is another mistake): charged even when the callback's mistake was counted."""
    from grader.checks.training import STOPS_WRONG
    from grader.grading.scoring import score_task
    from grader.spec import TaskSpec

    model.fit(*data, epochs=2, batch_size=16, verbose=0)
    asked_two = {"metrics": {"accuracy": [0.3, 0.4]}, "epochs": [0, 1], "steps": 4, "planned_epochs": 2}
    task = TaskSpec("model", "Model", {"history": "history", "model": "keras_model"}, (CHECK,))
    scored = score_task(task, {"history": asked_two, "model": model}, counted={STOPS_WRONG: "callback (Callback)"})
    assert scored.points == 0, scored.feedback
