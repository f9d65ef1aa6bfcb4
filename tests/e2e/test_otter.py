"""An instructor's own otter-assign notebook, graded end to end: otter assign makes the student's files, the
grader runs otter's tests (hidden ones too) in its own process on the notebook's variables loaded as data."""
from __future__ import annotations

import nbformat
import pytest

from grader.course.assignment import load_assignment
from grader.course.otter import OtterAssignment

from . import notebooks as nbs
from .conftest import grade_one

pytestmark = pytest.mark.slow
FLIPPED = ("feature_map = np.array([[(image[i:i + 3, j:j + 3] * kernel[::-1, ::-1]).sum() for j in range(3)]"
           " for i in range(3)])")


def student(course, **answers: str):
    """The otter student notebook with ``answers`` (placeholder text -> code), otter's check cells kept."""
    nb = course.template()
    for cell in nb.cells:
        if cell.cell_type == "code":
            for old, new in answers.items():
                cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="module")
def course():
    course = load_assignment("conv_arithmetic")
    assert isinstance(course, OtterAssignment)
    return course


def test_otter_assign_made_the_students_files_and_the_spec(course):
    assert course.out_of_date() == [] and course.leaks() == []
    assert [t.name for t in course.spec.tasks] == ["q1", "q2", "q3"] and course.spec.max_points == 7
    hidden = [c for t in course.spec.tasks for c in t.checks if not c.public]
    assert len(hidden) == 4 and all("(hidden)" in c.title for c in hidden)
    student_tests = (course.student_dir / "tests" / "q3.py").read_text()
    assert "np.allclose" not in student_tests  # the hidden test is not in the student's files


def test_a_wrong_answer_fails_its_hidden_test(course, tmp_path):
    nb = student(course, **{"output_size = ...": "output_size = 28", "pooled_size = ...": "pooled_size = 14",
                            "params_per_layer = ...": "params_per_layer = [640, 0, 36928, 0, 0, 204928, 1290]",
                            "...\nprint(feature_map)": FLIPPED})
    result = grade_one(nbs.write(nb, tmp_path, "wrong"), "conv_arithmetic", "--sandbox", "bubblewrap")
    checks = {c.title: c for t in result.tasks for c in t.checks}
    assert checks["q1 test 1"].passed and not checks["q1 test 2 (hidden)"].passed
    assert checks["q2 test 2 (hidden)"].passed
    assert checks["q3 test 2 (hidden)"].message == \
        "feature_map is not the convolution of image with kernel (did you flip the filter?)"
    assert result.points == 0.5 + 2 + 1


def test_the_tests_do_not_run_in_the_students_kernel(course, tmp_path):
    """A notebook that makes np.allclose always say yes still fails: the tests run in the grader's own process."""
    nb = student(course, **{"...\nprint(feature_map)": "feature_map = np.zeros((3, 3))\nnp.allclose = lambda *a, **k: True",
                            "output_size = ...": "output_size = 26", "pooled_size = ...": "pooled_size = 13"})
    result = grade_one(nbs.write(nb, tmp_path, "patched"), "conv_arithmetic", "--sandbox", "bubblewrap")
    checks = {c.title: c for t in result.tasks for c in t.checks}
    assert not checks["q3 test 2 (hidden)"].passed
    assert checks["q1 test 2 (hidden)"].passed and checks["q1 test 3 (hidden)"].passed
    executed_code = [c.source for c in nbformat.read(nbs.write(nb, tmp_path, "again"), 4).cells if c.cell_type == "code"]
    assert any('grader.check("q3")' in s for s in executed_code)  # otter's cells were in the submission
