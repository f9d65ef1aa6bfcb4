"""A new assignment made from docs/authoring.md alone, in a course folder of its own, its reference functions in
its own file (``references.py`` beside the solution): generated, validated (the reference full marks, the untouched
notebook zero), and a typical mistake graded with the message the reference names."""
from __future__ import annotations

import json

import nbformat
import pytest

from grader.course.assignment import load_assignment
from grader.results import SubmissionResult

from ..guide import write_example
from .conftest import run_cli

pytestmark = pytest.mark.slow


def test_the_guide_s_example_assignment_works_as_written(tmp_path):
    course = tmp_path / "course"
    write_example(course)
    done = run_cli("--course", str(course), "generate", "avg_pool")
    assert done.returncode == 0, done.stderr
    done = run_cli("--course", str(course), "validate", "avg_pool", "--sandbox", "bubblewrap")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reference solution: 6/6" in done.stdout and "untouched student notebook: 0/6" in done.stdout
    # a 2 x 2 average pooling with held-out checks, from the course's own references.py: max pooling is named
    assignment = load_assignment(course / "solutions" / "avg_pool" / "avg_pool.ipynb")
    nb = assignment.reference_submission()
    for cell in nb.cells:
        cell.source = cell.source.replace("blocks.mean(axis=(1, 3))", "blocks.max(axis=(1, 3))")
    nbformat.write(nb, tmp_path / "max_pool.ipynb")
    done = run_cli("--course", str(course), "grade", str(tmp_path / "max_pool.ipynb"), "-a", "avg_pool",
                   "--sandbox", "bubblewrap", "--json-out", str(tmp_path / "result.json"), "--quiet")
    assert done.returncode == 0, done.stderr
    result = SubmissionResult.from_dict(json.loads((tmp_path / "result.json").read_text()))
    pool = {c.kind: c for c in result.tasks[0].checks}
    said = "this is max pooling: keep the mean of each block, not its largest value"
    assert pool["function_example"].message == f"on the example: {said}"
    assert pool["function_matches"].message.startswith("wrong on 3 of 3 held-out cases; case 1 (8 x 8 image): " + said)
    assert result.points == 3 and result.max_points == 6
