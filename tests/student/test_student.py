"""The student's own check: public checks only, on live variables, fast."""
from __future__ import annotations

import time

from grader.student import check


def test_structure_check_of_a_live_model_is_instant(assignment, seed_cnn):
    started = time.perf_counter()
    report = check("cnn", {"cnn_model": seed_cnn}, assignment.student_dir)
    elapsed = time.perf_counter() - started
    assert report.all_passed, str(report)
    assert [c.kind for c in report.result.checks] == ["model_layers", "model_shapes", "model_compile"]
    assert elapsed < 5  # generous: it measures nothing, it only guards against training or loading data here


def test_the_issue_example_message(assignment, keras, make_model):
    L = keras.layers
    model = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))
    text = str(check("cnn", {"cnn_model": model}, assignment.student_dir))
    assert "layer 3: expected Conv2D with 64 filters, found 32" in text
    assert "layer 3 (Conv2D): its output is (11, 11, 32), expected (11, 11, 64)" in text


def test_quiz_check_reveals_no_answer(assignment):
    report = check("quiz", {"q1_convolution": "a", "q2_pooling": "b", "q3_training_speed": "a",
                            "q4_conv_output": (30, 30), "q5_pool_output": "15x15", "q6_conv_params": 1,
                            "q7_channel": "c"}, assignment.student_dir)
    assert report.all_passed, str(report)  # only the form is checked: any readable answer passes here
    assert "correct" not in str(report)
    wrong_form = check("quiz", {"q1_convolution": "b) filter out unwanted images"}, assignment.student_dir)
    assert "answer with the letter of your choice" in str(wrong_form)


def test_undefined_variables(assignment):
    report = check("data", {}, assignment.student_dir)
    assert not report.all_passed
    assert "training_images is not defined yet: run the cells above first" in str(report)
    assert "<table" in report._repr_html_() and "not defined yet" in report._repr_html_()
