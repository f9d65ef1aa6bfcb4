"""A check passes only what it checked: the student's check of a task whose points depend on a training says when
that training is not there (no history, a model never trained, a history of another model), and a passed check
always says how many of the task's points it did not check.  On mnist_callback's real public checks."""
from __future__ import annotations

import numpy as np
import pytest

from grader.student import check, check_all
from grader.student.check_report import NOT_READY, PASSED

FOLDER = "assignments/mnist_callback"


@pytest.fixture
def make_model(keras):
    def make():
        L = keras.layers
        model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"),
                                  L.MaxPooling2D(2, 2), L.Flatten(), L.Dense(128, activation="relu"),
                                  L.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    return make


def fit(model, epochs=1):
    return model.fit(np.zeros((8, 28, 28, 1), np.float32), np.zeros(8), epochs=epochs, batch_size=4, verbose=0)


def test_a_trained_model_with_its_history_passes_and_says_what_is_not_checked_here(make_model):
    model = make_model()
    report = check("model", {"model": model, "history": fit(model)}, FOLDER)
    assert report.status == PASSED
    assert report.headline() == ("Task 2: one convolution, trained with the callback: all public checks passed (4 of"
                                 " the task's 9 points); the other 5 are not checked here (below)")


def test_no_history_is_not_ready_for_the_grader(make_model):
    """The training cell raised, or history was deleted: the model's structure passes, 2 points need history."""
    model = make_model()
    fit(model)
    report = check("model", {"model": model}, FOLDER)
    assert report.all_passed and report.status == NOT_READY
    assert report.headline().endswith("all public checks passed, but history is not defined yet (2 of the task's 9"
                                      " points depend on it)")
    assert "Not ready for the grader (2 of the task's 9 points):\n    - history is not defined yet: run the cells" \
           " above first" in str(report)
    assert "Not ready for the grader" in report._repr_html_()


def test_an_untrained_model_is_not_ready_for_the_grader(make_model):
    """A model made again after its training (the history is of the one before): 3 points measure its accuracy."""
    history = fit(make_model())
    report = check("model", {"model": make_model(), "history": history}, FOLDER)
    assert report.status == NOT_READY
    assert report.headline().endswith("all public checks passed, but model is not trained yet (3 of the task's 9"
                                      " points depend on it)")
    assert "its optimizer has taken no step since it was built or compiled; train it with model.fit(...)" \
        in str(report)
    both = check("model", {"model": make_model()}, FOLDER)
    assert both.headline().endswith("but history is not defined yet and model is not trained yet (5 of the task's 9"
                                    " points depend on them)")


def test_a_history_that_cannot_be_the_models_training(make_model):
    history = fit(make_model(), epochs=3)
    model = make_model()
    fit(model, epochs=1)  # made again and trained less than its history says
    report = check("model", {"model": model, "history": history}, FOLDER)
    assert report.status == NOT_READY
    assert "history is not the training of model: the history says model trained 3 epochs of 2 steps, but its" \
           " optimizer took 2 steps" in str(report)


def test_a_history_of_the_wrong_kind(make_model):
    model = make_model()
    fit(model)
    report = check("model", {"model": model, "history": model}, FOLDER)
    assert report.status == NOT_READY
    assert "history is not what the grader reads: expected what model.fit(...) returns (a History), found" \
           " Sequential" in str(report)


def test_a_failing_public_check_says_what_else_is_missing(make_model):
    broken = check("model", {"model": "a model", "history": 5}, FOLDER)
    assert broken.headline().endswith("0 of 3 public checks passed; history is not what the grader reads (2 of the"
                                      " task's 9 points depend on it)")


def test_a_quiz_whose_points_are_all_the_graders(make_model):
    answers = {"q1_conv_params": 320, "q2_flatten_size": "1,000", "q3_dense_params": 1, "q4_reshape": "B) it"
               " normalises the pixel values", "q5_callback": "a"}
    report = check("quiz", answers, FOLDER)
    assert report.status == PASSED
    assert report.headline() == "Task 3: quiz: all public checks passed; the task's 5 points are not checked here" \
                                " (below)"


def test_check_all_does_not_count_a_task_that_is_not_ready(make_model):
    model = make_model()
    namespace = {"model": model, "q1_conv_params": 1, "q2_flatten_size": 2, "q3_dense_params": 3,
                 "q4_reshape": "a", "q5_callback": "b"}
    text = str(check_all(namespace, FOLDER))
    assert "1 of 3 tasks pass their public checks, 1 not ready for the grader, 1 not done" in text
    assert "NOT READY Task 2: one convolution, trained with the callback: all public checks passed, but history is" \
           " not defined yet and model is not trained yet" in text
    assert "           NOT READY model is not trained yet: its optimizer has taken no step" in text


def test_a_task_that_does_not_exist_gets_the_task_names():
    report = check("quizz", {}, FOLDER)
    assert str(report) == ('There is no task "quizz" in this assignment: did you mean check("quiz")? Its tasks are'
                           ' "callback", "model", "quiz".')
    assert not report.all_passed and "callback" in report._repr_html_()
