"""public_checks.json as the student's side reads it: what it says of hidden checks, and which notebook is theirs."""
from __future__ import annotations

import json
import shutil

import pytest

from grader.course.handout import find_handout, notebook_path
from grader.course.leaks import find_leaks
from grader.errors import SpecError


def test_hidden_checks_are_named_by_kind_only(tiny_assignment, tmp_path):
    handout = find_handout(tiny_assignment.student_dir)
    assert [(c.kind, c.evidence, c.points) for c in handout.left_out["numbers"]] == [("number", "answer", 1.0)]
    assert handout.limits.cell_timeout_s == 60 and handout.setup_cells[0]["id"] == "common-1"
    copy = tmp_path / "tiny"
    shutil.copytree(tiny_assignment.student_dir, copy)
    assert find_leaks(tiny_assignment.source, copy) == []
    data = json.loads((copy / "public_checks.json").read_text())
    data["tasks"][0]["also_graded"][0]["expected"] = 42  # a generator that said more would be caught
    (copy / "public_checks.json").write_text(json.dumps(data))
    assert any("says more than" in p for p in find_leaks(tiny_assignment.source, copy))


def test_which_notebook(student_folder, monkeypatch):
    handout = find_handout(student_folder)
    assert notebook_path(handout, {}) == student_folder / "tiny.ipynb"  # the only one
    (student_folder / "tiny-submission.ipynb").write_text("{}")  # a hand-in copy is never the notebook
    assert notebook_path(handout, {}) == student_folder / "tiny.ipynb"
    (student_folder / "copy.ipynb").write_text("{}")
    assert notebook_path(handout, {}) == student_folder / "tiny.ipynb"  # two: the one named after the assignment
    monkeypatch.setenv("JPY_SESSION_NAME", str(student_folder / "copy.ipynb"))
    assert notebook_path(handout, {}) == student_folder / "copy.ipynb"  # Jupyter says which
    monkeypatch.delenv("JPY_SESSION_NAME")
    (student_folder / "tiny.ipynb").rename(student_folder / "mine.ipynb")
    with pytest.raises(SpecError, match="which notebook is yours"):
        notebook_path(handout, {})
