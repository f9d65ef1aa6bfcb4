"""The reference solution, trained in full, gets full marks, the same twice; the blank notebook gets zero."""
from __future__ import annotations

import json

import nbformat
import pytest

from grader.grade import grade_submission
from grader.results import SubmissionResult
from grader.sandbox.select import choose_sandbox
from grader.validate import validate

from .conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def validation(assignment, sandbox):
    return validate(assignment, sandbox)


def test_the_assignment_is_valid(validation):
    assert validation.problems == []


def test_the_reference_solution_gets_full_marks(validation):
    result = validation.reference
    assert result.points == result.max_points == 24
    assert result.sandbox == "bubblewrap"
    accuracy = {c.title: c.message for t in result.tasks for c in t.checks if c.kind == "model_accuracy"}
    assert all("measured by the grader on the 10,000 test images" in m for m in accuracy.values())


def test_the_untouched_notebook_gets_zero_with_reasons(validation):
    blank = validation.blank
    assert blank.points == 0
    feedback = blank.feedback_text()
    assert "shape is (60000, 28, 28), expected (60000, 28, 28, 1)" in feedback
    assert "the variable dense_model is not defined in your notebook" in feedback
    assert "q1_convolution is still the placeholder ...: replace it with your answer" in feedback


def comparable(result: SubmissionResult) -> dict:
    data = result.to_dict()
    data.pop("execution")
    data.pop("submission")
    return data


def test_grading_the_reference_again_gives_identical_results(validation, assignment, tmp_path):
    path = tmp_path / "reference.ipynb"
    nbformat.write(assignment.reference_submission(), path)
    out = tmp_path / "result.json"
    gradescope = tmp_path / "results.json"
    done = run_cli("grade", str(path), "-a", "fashion_cnn", "--json-out", str(out), "--gradescope", str(gradescope),
                   "--sandbox", "bubblewrap")
    assert done.returncode == 0, done.stderr[-3000:]
    again = SubmissionResult.from_dict(json.loads(out.read_text()))
    assert comparable(again) == comparable(validation.reference)
    assert "24 / 24 points" in done.stdout
    scored = json.loads(gradescope.read_text())
    assert scored["score"] == 24
    assert [t["max_score"] for t in scored["tests"]] == [6, 6, 9, 3]


@pytest.mark.container
def test_the_reference_solution_gets_full_marks_in_a_container(validation, assignment, tmp_path):
    path = tmp_path / "reference.ipynb"
    nbformat.write(assignment.reference_submission(), path)
    result = grade_submission(path, assignment, choose_sandbox("container"))
    assert result.sandbox == "container"
    assert result.points == result.max_points == 24, result.feedback_text()
    in_bubblewrap = {c.title: c.passed for t in validation.reference.tasks for c in t.checks}
    assert {c.title: c.passed for t in result.tasks for c in t.checks} == in_bubblewrap
