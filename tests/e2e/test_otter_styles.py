"""Otter master notebooks as instructors write them, in each of otter's test styles (OK format and exception-based;
test functions with the notebook's names as parameters; tests that call the student's function), generated,
validated and graded, with the scores compared to ``otter run`` on the same submissions."""
from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from grader.course.assignment import load_assignment
from grader.course.otter import OtterAssignment

from . import otter_masters as om
from .conftest import read_results, run_cli

pytestmark = pytest.mark.slow
SUBMISSIONS = {"right": om.RIGHT, "wrong": om.WRONG, "edge": om.EDGE}
EXPECTED = {"right": {"q1": 2, "q2": 3}, "wrong": {"q1": 1, "q2": 0}, "edge": {"q1": 2, "q2": 1}}


def otter_runs(course: OtterAssignment, notebooks: dict, tmp_path) -> dict[str, subprocess.Popen]:
    """``otter run`` on the autograder zip otter assign made, one process per notebook, started at once."""
    bundle = sorted((course.build.autograder_notebook.parent).glob("*-autograder_*.zip"))[-1]
    started = {}
    for label, notebook in notebooks.items():
        (tmp_path / f"otter-{label}").mkdir()
        started[label] = subprocess.Popen([sys.executable, "-m", "otter", "run", "-a", str(bundle), "-o",
                                           str(tmp_path / f"otter-{label}"), str(notebook)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return started


def otter_scores(process: subprocess.Popen, out) -> dict[str, float]:
    """Each question's score in ``otter run``'s results."""
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors[-2000:]
    tests = json.loads((out / "results.json").read_text())["tests"]
    return {t["name"]: float(t["score"]) for t in tests if t["name"] in ("q1", "q2")}


@pytest.mark.parametrize("style", om.STYLES)
def test_an_otter_notebook_grades_as_otter_run_does(style, tmp_path):
    course = load_assignment(om.write_course(tmp_path / "course", style))
    assert isinstance(course, OtterAssignment)
    course.write_student_files()
    assert course.out_of_date() == [] and course.leaks() == []
    checks = {c.title: c for t in course.spec.tasks for c in t.checks}
    assert list(checks) == ["q1 test_q1_shapes", "q1 test_q1_values (hidden)", "q2 test_q2_example",
                            "q2 test_q2_images (hidden)"]  # each check named after its test function
    assert checks["q1 test_q1_shapes"].params["uses"] == ["training_images", "test_images"]
    assert course.spec.task("q2").exports == {"pool": "function", "training_images": "any"}
    (tmp_path / "submissions").mkdir()
    for label, answers in SUBMISSIONS.items():
        nbformat.write(om.submission(course.template(), answers), tmp_path / "submissions" / f"{label}.ipynb")
    runs = otter_runs(course, {label: tmp_path / "submissions" / f"{label}.ipynb" for label in SUBMISSIONS}, tmp_path)
    done = run_cli("batch", str(tmp_path / "submissions"), "-a", str(course.solution_path), "--out",
                   str(tmp_path / "out"), "--sandbox", "bubblewrap")
    assert done.returncode == 0, done.stderr[-3000:]
    results = read_results(tmp_path / "out")
    for label in SUBMISSIONS:
        ours = results[label]
        theirs = otter_scores(runs[label], tmp_path / f"otter-{label}")
        assert {t.name: t.points for t in ours.tasks} == theirs == EXPECTED[label], label
        if label == "wrong":
            messages = {c.title: c.message for t in ours.tasks for c in t.checks}
            # a public test's failing line is shown, as otter shows it; a hidden one's is not
            assert messages["q2 test_q2_example"] == ("the test failed (AssertionError) at: assert"
                                                      " pool(np.array([[1.0, 3.0], [5.0, 7.0]])).tolist() == [[4.0]]")
            assert messages["q2 test_q2_images (hidden)"] == "the test failed (AssertionError)"
            assert messages["q1 test_q1_values (hidden)"] == "AssertionError: the images are not divided by 32"
