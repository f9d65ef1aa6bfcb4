"""Gradescope's results.json: each test's status says whether a check in it failed (a test worth 0 points is no
pass), and what a hidden answer's check says of the answer's form is shown at once, as the student's own check()
says it; the verdict waits for the due date."""
from __future__ import annotations

import json

import pytest

from grader.grading.scoring import score_task
from grader.results import HIDDEN_ON_GRADESCOPE, SubmissionResult, form_problem
from grader.spec import TaskSpec

QUIZ = TaskSpec.from_dict({"name": "quiz", "title": "Quiz", "exports": {"q1": "value", "q2": "value", "q3": "value"},
                           "checks": [
                               {"kind": "choice", "evidence": "q1", "points": 1, "expected": "b",
                                "options": {"a": "one", "b": "two"}, "title": "question 1"},
                               {"kind": "number", "evidence": "q2", "points": 1, "expected": 1600, "integer": True,
                                "title": "question 2"},
                               {"kind": "shape", "evidence": "q3", "points": 1, "expected": [26, 26],
                                "title": "question 3"}]})


def gradescope_of(answers: dict) -> tuple[dict, dict]:
    task = score_task(QUIZ, answers)
    result = SubmissionResult("ana.ipynb", "by_hand", task.points, task.max_points, (task,), "bubblewrap")
    tests = result.to_gradescope_dict()["tests"]
    return tests[0], tests[1]


@pytest.mark.parametrize("answers", [{"q1": "c", "q2": "forty", "q3": (26, 26, 64)},
                                     {"q1": None, "q2": True, "q3": "a square"}])
def test_the_form_of_a_hidden_answer_is_shown_at_once_in_the_student_s_own_words(answers):
    visible, hidden = gradescope_of(answers)
    own = score_task(QUIZ.public_view(), answers)  # what the student's check() says
    said = [check.message.split("\n")[0] for check in own.checks]
    assert all(not check.passed for check in own.checks)
    for check, message in zip(QUIZ.checks, said):
        assert f"[FAIL] {check.title}: the form of the answer: {message}" in visible["output"]
    assert visible["status"] == "failed" and visible["max_score"] == 0 and visible["visibility"] == "visible"
    assert hidden["status"] == "failed" and hidden["visibility"] == HIDDEN_ON_GRADESCOPE


def test_a_verdict_waits_for_the_due_date_and_right_answers_pass():
    visible, hidden = gradescope_of({"q1": "a", "q2": 1601, "q3": (13, 13)})
    assert "not the right answer" not in visible["output"] and "the form of the answer" not in visible["output"]
    assert "status" not in visible  # nothing shown yet: no verdict either way
    assert hidden["status"] == "failed" and hidden["output"].count("is not the right answer") == 3
    visible, hidden = gradescope_of({"q1": "b", "q2": "1,600", "q3": 26})
    assert hidden["status"] == "passed" and hidden["score"] == hidden["max_score"] == 3
    assert all(form_problem(check) is None for check in score_task(QUIZ, {"q1": "a", "q2": 2, "q3": 3}).checks)


def test_a_test_worth_nothing_that_lists_a_failure_is_failed():
    task = TaskSpec.from_dict({"name": "t", "title": "T", "exports": {"x": "value"}, "checks": [
        {"kind": "number", "evidence": "x", "points": 0, "expected": 1, "public": True, "title": "a free check"},
        {"kind": "number", "evidence": "x", "points": 2, "expected": 2, "public": True, "title": "worth two"}]})
    scored = score_task(task, {"x": 2})
    result = SubmissionResult("a.ipynb", "a", scored.points, scored.max_points, (scored,), "bubblewrap")
    (test,) = result.to_gradescope_dict()["tests"]
    assert (test["score"], test["max_score"], test["status"]) == (2, 2, "failed")  # full points, yet a [FAIL] line
    assert "[FAIL] a free check (0/0)" in test["output"]
    json.dumps(result.to_gradescope_dict())
