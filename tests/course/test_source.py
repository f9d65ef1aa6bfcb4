"""Reading the solution notebook: the spec of the first assignment, and malformed sources."""
from __future__ import annotations

import nbformat
import pytest

from grader.course.source import read_source
from grader.errors import SpecError


def test_the_first_assignment(assignment):
    spec = assignment.spec
    assert [t.name for t in spec.tasks] == ["data", "dense", "cnn", "variant", "inside", "quiz"]
    assert spec.max_points == 40
    variant = next(c for c in spec.task("variant").checks if c.kind == "model_shapes")
    assert variant.params["total_params"] == 225034
    cnn = spec.task("cnn")
    shapes = next(c for c in cnn.checks if c.kind == "model_shapes")
    assert shapes.params["params"] == [640, 0, 36928, 0, 0, 204928, 1290]
    assert shapes.params["total_params"] == 243786
    dense = next(c for c in spec.task("dense").checks if c.kind == "model_shapes")
    assert dense.params["total_params"] == 101770


@pytest.mark.parametrize("name, total, params", [
    ("mnist_callback", 693962, [320, 0, 0, 692352, 1290]),
    ("lenet5", 61706, [156, 0, 2416, 0, 0, 48120, 10164, 850]),
])
def test_the_course_parameter_counts(name, total, params):
    from grader.course.assignment import load_assignment

    shapes = next(c for t in load_assignment(name).spec.tasks for c in t.checks if c.kind == "model_shapes")
    assert shapes.params["total_params"] == total == sum(params) and shapes.params["params"] == params


def _write(tmp_path, *cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    return path


RAW = nbformat.v4.new_raw_cell


@pytest.mark.parametrize("cells, message", [
    ((RAW("# BEGIN QUESTION\nname: a"),), "not closed"),
    ((RAW("# ASSIGNMENT CONFIG\nname: x"), RAW("# END QUESTION")), "END QUESTION without"),
    ((RAW("# ASSIGNMENT CONFIG\nname: x"), RAW("# BEGIN CHECKS\n- kind: choice")), "checks outside"),
    ((RAW("# BEGIN QUESTION\nname: a"), RAW("# END QUESTION")), "ASSIGNMENT CONFIG"),
    ((RAW("# ASSIGNMENT CONFIG\nname: x"), RAW("# BEGIN QUESTION\nname: a\nexport: {m: pickle}"),
      RAW("# END QUESTION")), "unknown kind"),
    ((RAW("# ASSIGNMENT CONFIG\nname: x"), RAW("# BEGIN QUESTION\nname: a\nexport: {m: array}"),
      RAW("# BEGIN CHECKS\n- {kind: array_shape, evidence: other, points: 1}"), RAW("# END QUESTION")),
     "does not export"),
    ((RAW("# ASSIGNMENT CONFIG\nname: x\nlimits: {gpus: 1}"),), "unknown limits"),
    ((RAW("# ASSIGNMENT CONFIG\nname: [x"),), "invalid YAML"),
])
def test_malformed_sources_are_refused_with_a_reason(tmp_path, cells, message):
    with pytest.raises(SpecError, match=message):
        read_source(_write(tmp_path, *cells))
