"""The reference solutions, trained in full, get full marks and the untouched notebooks zero: read from the main job,
which grades every assignment's examples once (each reference in full, once per session).  The grading itself is
deterministic: the same submission graded again gives an identical result."""
from __future__ import annotations

import pytest

from grader.assignment import load_assignment

from .conftest import grade_one, run_cli

pytestmark = pytest.mark.slow


def test_every_reference_solution_gets_full_marks(examples_graded, course_names):
    for name in course_names:
        course = load_assignment(name)
        result = examples_graded.result(name, "complete")
        assert result.points == result.max_points == course.spec.max_points, result.feedback_text()
        assert result.sandbox == "bubblewrap"
        accuracy = [c.message for t in result.tasks for c in t.checks if c.kind == "model_accuracy"]
        assert all("measured by the grader on the" in m for m in accuracy)


def test_every_untouched_notebook_gets_zero_with_reasons(examples_graded, course_names):
    for name in course_names:
        blank = examples_graded.result(name, "untouched")
        assert blank.points == 0, blank.feedback_text()
        assert all(t.points == 0 and t.feedback for t in blank.tasks)


def test_the_untouched_fashion_notebook_says_why(examples_graded):
    feedback = examples_graded.result("fashion_cnn", "untouched").feedback_text()
    assert "shape is (60000, 28, 28), expected (60000, 28, 28, 1)" in feedback
    assert "the variable dense_model is not defined in your notebook" in feedback
    assert "q1_convolution is still the placeholder ...: replace it with your answer" in feedback


def comparable(result) -> dict:
    data = result.to_dict()
    data.pop("execution")
    data.pop("submission")
    return data


def test_grading_again_gives_identical_results(quick_reference_graded, tmp_path):
    path, first = quick_reference_graded
    again = grade_one(path, "fashion_cnn", "--sandbox", "bubblewrap", "--gradescope", str(tmp_path / "results.json"))
    assert comparable(again) == comparable(first)
    accuracy = [c.message for t in again.tasks for c in t.checks if c.kind == "model_accuracy"]
    assert len(accuracy) >= 2 and all("measured by the grader" in m for m in accuracy)


def test_validate_grades_the_reference_and_the_untouched_notebook(tiny_assignment):
    done = run_cli("validate", str(tiny_assignment.solution_path), "--sandbox", "bubblewrap", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "reference solution: 4/4" in done.stdout and "untouched student notebook: 0/4" in done.stdout
    assert done.stdout.strip().endswith("valid")
