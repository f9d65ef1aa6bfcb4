"""The reference solutions, trained in full, get full marks and the untouched notebooks zero: read from the main job,
which grades every assignment's examples once (each reference in full, once per session).  The grading itself is
deterministic: the same submission graded again gives an identical result."""
from __future__ import annotations

import nbformat
import pytest

from grader.course.assignment import load_assignment

from . import notebooks as nbs
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


# A slow machine's training: Keras redraws its progress bars by time, so a loaded machine prints more of them;
# here at every step, and 2.5 MB printed besides (the output cap is 2 MB): what the runner sees must not change.
AS_ON_A_SLOW_MACHINE = """import keras
_progbar_init = keras.utils.Progbar.__init__
def _redraw_every_step(self, *args, **kwargs):
    kwargs["interval"] = 0.0
    _progbar_init(self, *args, **kwargs)
keras.utils.Progbar.__init__ = _redraw_every_step
for line in range(25000):
    print(line, "=" * 96)"""


def test_grading_again_on_a_slow_machine_gives_identical_results(assignment, quick_reference_graded, tmp_path):
    """The same answers graded again, their training's progress bars redrawn at every step and the output past its
    cap: the same points and messages, the feature maps still counted (issue 19)."""
    path, first = quick_reference_graded
    slow = nbs.insert_cell(nbformat.read(path, as_version=4), assignment.spec.tasks[0].name, AS_ON_A_SLOW_MACHINE,
                           where="start")
    again = grade_one(nbs.write(slow, tmp_path, "quick_reference_slow"), "fashion_cnn", "--sandbox", "bubblewrap",
                      "--gradescope", str(tmp_path / "results.json"))
    assert comparable(again) == comparable(first)
    accuracy = [c.message for t in again.tasks for c in t.checks if c.kind == "model_accuracy"]
    assert len(accuracy) >= 2 and all("measured by the grader" in m for m in accuracy)


def test_validate_grades_the_reference_and_the_untouched_notebook(tiny_assignment):
    done = run_cli("validate", str(tiny_assignment.solution_path), "--sandbox", "bubblewrap", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "reference solution: 4/4" in done.stdout and "untouched student notebook: 0/4" in done.stdout
    assert done.stdout.strip().endswith("valid")
