"""Reading submissions: broken files get a reason; deleted and copied cells are handled."""
from __future__ import annotations

import nbformat
import pytest

from grader.errors import SubmissionError
from grader.submission import prepare, read_submission


@pytest.mark.parametrize("content, reason", [
    ("{not json", "invalid JSON at line 1"),
    ('{"metadata": {}}', "it has no cells"),
    ('[1, 2]', "it has no cells"),
    ('{"cells": [{"cell_type": "code", "source": 5}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
     "could not be read"),
])
def test_unreadable_notebooks(tmp_path, content, reason):
    path = tmp_path / "s.ipynb"
    path.write_text(content)
    with pytest.raises(SubmissionError, match=reason):
        read_submission(path)


def test_binary_file(tmp_path):
    path = tmp_path / "s.ipynb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(SubmissionError, match="not a text file"):
        read_submission(path)


def test_edited_setup_cells_are_restored_and_outputs_cleared(assignment):
    nb = assignment.template()
    setup = next(c for c in nb.cells if c.metadata["grader"]["role"] == "setup")
    setup.source = "import os\nos.environ['SEED'] = 'mine'"
    answer = next(c for c in nb.cells if c.metadata["grader"]["role"] == "answer")
    answer.outputs = [nbformat.v4.new_output("stream", text="old output")]
    prepared = prepare(nb, assignment.template(), assignment.spec)
    restored = next(c for c in prepared.notebook.cells if c.get("id") == setup.id)
    assert "set_random_seed(20)" in restored.source
    assert all(not c.get("outputs") for c in prepared.notebook.cells if c.cell_type == "code")


def test_deleted_setup_and_task_cells(assignment):
    nb = assignment.template()
    nb.cells = [c for c in nb.cells if c.metadata["grader"]["role"] != "setup"
                and c.metadata["grader"]["task"] != "dense"]
    prepared = prepare(nb, assignment.template(), assignment.spec)
    assert prepared.last_cell_of_task["dense"] is None
    assert prepared.notebook.cells[0].metadata["grader"]["role"] == "setup"
    assert any("Task 2" in n and "not found" in n for n in prepared.notes)
    assert any("setup cells" in n for n in prepared.notes)


def test_copied_cells_extend_their_task(assignment):
    nb = assignment.template()
    cnn_cell = next(c for c in nb.cells if c.metadata["grader"]["task"] == "cnn" and c.cell_type == "code")
    copy = nbformat.from_dict(dict(cnn_cell))
    nb.cells.append(copy)
    prepared = prepare(nb, assignment.template(), assignment.spec)
    assert prepared.last_cell_of_task["cnn"] == len(prepared.notebook.cells) - 1
