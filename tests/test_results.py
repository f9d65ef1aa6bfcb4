"""A result as Gradescope shows it: the checks students can run themselves at once, the hidden ones only after the
due date (else resubmitting would probe them), the points all there."""
from __future__ import annotations

import json
import unicodedata

from grader.grading.scoring import score_task
from grader.results import HIDDEN_ON_GRADESCOPE, CheckResult, SubmissionResult, TaskResult
from grader.spec import TaskSpec


def check(title: str, passed: bool, public: bool, points: float = 1.0, message: str = "") -> CheckResult:
    return CheckResult(kind="answer_choice", title=title, points=points if passed else 0.0, max_points=points,
                       passed=passed, message=message or ("correct" if passed else "option b is not the right answer"),
                       public=public)


def task(name: str, *checks: CheckResult, ungraded: str | None = None) -> TaskResult:
    feedback = "\n".join(["the task's cells were found by their check() call",
                          *(line for c in checks for line in c.feedback_lines())])
    return TaskResult(name=name, title=f"Task {name}", points=sum(c.points for c in checks),
                      max_points=sum(c.max_points for c in checks), checks=checks, ungraded_reason=ungraded,
                      feedback=feedback)


def result(*tasks: TaskResult, error: str | None = None) -> SubmissionResult:
    return SubmissionResult(submission="ana.ipynb", assignment="by_hand", points=sum(t.points for t in tasks),
                            max_points=sum(t.max_points for t in tasks), tasks=tasks, sandbox="bubblewrap",
                            execution={"seconds": 12.6}, error=error)


def test_hidden_checks_are_shown_on_gradescope_only_after_the_due_date():
    graded = result(task("convolve", check("shape", True, True, 2), check("held-out images", False, False, 4)),
                    task("quiz", *(check(f"question {n}", n != 2, False) for n in range(1, 4))))
    scored = graded.to_gradescope_dict()
    tests = {t["name"]: t for t in scored["tests"]}
    assert list(tests) == ["Task convolve", "Task convolve: hidden checks", "Task quiz", "Task quiz: hidden checks"]
    visible = [t for t in scored["tests"] if t["visibility"] == "visible"]
    hidden = [t for t in scored["tests"] if t["visibility"] == HIDDEN_ON_GRADESCOPE]
    assert [t["name"] for t in hidden] == ["Task convolve: hidden checks", "Task quiz: hidden checks"]
    shown_now = json.dumps(visible)
    assert "held-out images" not in shown_now and "question 2" not in shown_now
    assert "option b is not the right answer" not in shown_now  # nothing a resubmission could probe
    assert "[PASS] shape (2/2): correct" in tests["Task convolve"]["output"]
    assert "1 more check of this task: shown after the due date" in tests["Task convolve"]["output"]
    assert "3 more checks" in tests["Task quiz"]["output"]
    assert "[FAIL] question 2 (0/1): option b is not the right answer" in tests["Task quiz: hidden checks"]["output"]
    assert (tests["Task convolve"]["score"], tests["Task convolve"]["max_score"]) == (2, 2)
    assert (tests["Task convolve: hidden checks"]["score"], tests["Task convolve: hidden checks"]["max_score"]) == (0, 4)
    assert (tests["Task quiz"]["score"], tests["Task quiz"]["max_score"]) == (0, 0)
    assert sum(t["score"] for t in scored["tests"]) == scored["score"] == graded.points == 4
    assert sum(t["max_score"] for t in scored["tests"]) == graded.max_points == 9
    assert scored["execution_time"] == 13
    assert "4" not in scored["output"] and "after the due date" in scored["output"]  # no total to subtract from
    assert "the task's cells were found" in tests["Task convolve"]["output"]  # the grader's notes, at once


def test_a_task_not_graded_is_one_visible_test_with_the_reason():
    ungraded = TaskResult(name="model", title="Task model", points=0, max_points=5,
                          ungraded_reason="the notebook could not be read", feedback="")
    scored = result(ungraded, error="the notebook could not be read").to_gradescope_dict()
    assert scored["tests"] == [{"name": "Task model", "score": 0, "max_score": 5, "visibility": "visible",
                                "status": "failed", "output": "Not graded in full: the notebook could not be read."}]


def test_feedback_lines_are_the_ones_score_task_writes():
    spec = TaskSpec.from_dict({"name": "quiz", "title": "Quiz", "exports": {"q1": "value"}, "checks": [
        {"kind": "number", "evidence": "q1", "points": 1, "expected": 4, "title": "question 1"}]})
    scored = score_task(spec, {"q1": 5})
    assert scored.feedback.splitlines() == scored.checks[0].feedback_lines()
    assert scored.feedback == "[FAIL] question 1 (0/1): 5 is not the right answer"


def test_without_hidden_checks_the_total_is_said_at_once():
    scored = result(task("shape", check("shape", True, True, 2), check("dtype", False, True, 1))).to_gradescope_dict()
    assert scored["output"] == "2 / 3 points"
    assert [t["visibility"] for t in scored["tests"]] == ["visible"]


def test_a_result_file_with_fields_of_the_wrong_type_is_refused_by_name():
    import pytest

    good = result(task("quiz", check("question 1", True, False))).to_dict()
    bad_feedback = {**good, "tasks": [{**good["tasks"][0], "feedback": 5}]}
    bad_check = {**good["tasks"][0]["checks"][0], "message": 7}
    bad_message = {**good, "tasks": [{**good["tasks"][0], "checks": [bad_check]}]}
    for data, field in ((bad_feedback, "'feedback' is not text"), (bad_message, "'message' is not text"),
                        ({**good, "points": "1"}, "'points' is not a number")):
        with pytest.raises(ValueError, match=field):
            SubmissionResult.from_dict(data)
    assert SubmissionResult.from_dict(good).to_gradescope_dict()["score"] == 1


def _lines_starting_with_a_mark(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.lstrip().startswith(("[PASS]", "[FAIL]"))]


def test_what_a_student_wrote_starts_no_line_and_sends_no_control():
    """Escape codes, a carriage return, a bidi override, a newline before a fake ``[PASS]`` line, in a check's
    message, a note, the reason a task was not graded and the error: the plain-text feedback (feedback/*.txt, what
    ``grader grade`` prints) and Gradescope's output keep them on their line, as visible escapes."""
    from grader.student_text import CONTROL_CATEGORIES, JOINERS

    from .reports.builders import FAKE_PASS, hostile_result

    hostile = hostile_result()
    text = hostile.feedback_text()
    assert [c for c in text if unicodedata.category(c) in CONTROL_CATEGORIES and c not in JOINERS and c != "\n"] == []
    assert _lines_starting_with_a_mark(text) == ["[FAIL] convolve on held-out images (0/4): it raised ValueError:"
                                                 r" \x1b[2J\x1b]52;c;aGVsbG8=\x07\rboom",
                                                 "[FAIL] layers of cnn_model (0/2): layer 3: expected Conv2D with 64"
                                                 " filters, found 32"]
    assert r"\x1b[2J\x1b]52;c;aGVsbG8=\x07\rboom\n[PASS] hidden check (10/10)\u202eeulav" in text  # shown, as typed
    assert "\n         layer 4: expected MaxPooling2D" in text  # the grader's own lines stay lines
    assert text.count(FAKE_PASS) == 5 and '"[PASS] hidden check (10/10)\\u202eeulav"' in text  # quoted, not a line
    outputs = "\n".join([hostile.to_gradescope_dict()["output"],
                         *(t["output"] for t in hostile.to_gradescope_dict()["tests"])])
    assert [c for c in outputs if unicodedata.category(c) in CONTROL_CATEGORIES and c != "\n"] == []
    assert not any(line.startswith("[PASS]") for line in _lines_starting_with_a_mark(outputs))


def test_a_cell_s_report_keeps_what_the_student_wrote_on_one_line():
    from grader.results import CellReport

    from .reports.builders import HOSTILE

    cell = CellReport(index=2, status="error", ename=f"Value{HOSTILE}", evalue=HOSTILE, first_line=f"x = {HOSTILE}")
    for text in (cell.ename, cell.evalue, cell.first_line):
        assert text.isascii() and text.isprintable() and r"\n[PASS] hidden check" in text
    assert CellReport(**vars(cell)) == cell  # read back (from a worker's JSON), the same
