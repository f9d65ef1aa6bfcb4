"""Reading submissions: broken files get a reason; deleted and copied cells are handled."""
from __future__ import annotations

import json

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


def _notebook_with_a_huge_output(path, template, output_mb: int) -> None:
    """A student's notebook whose answer cell printed ``output_mb`` MB, written as a stream."""
    data = json.loads(nbformat.writes(template))
    answer = next(i for i, c in enumerate(data["cells"]) if c["metadata"]["grader"]["role"] == "answer")
    data["cells"][answer]["outputs"] = ["@OUTPUT@"]
    before, after = json.dumps(data).split('"@OUTPUT@"')
    chunk = "x" * 2**20
    with path.open("w") as handle:
        handle.write(before)
        handle.write('{"output_type": "stream", "name": "stdout", "text": "')
        for _ in range(output_mb):
            handle.write(chunk)
        handle.write('"}')
        handle.write(after)


def test_a_notebook_made_huge_by_its_outputs_is_read_without_them(assignment, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "huge.ipynb"
    _notebook_with_a_huge_output(path, assignment.template(), 300)
    assert path.stat().st_size > 300 * 2**20
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
    script = ("import sys\nfrom pathlib import Path\nfrom grader.submission import read_submission\n"
              "nb = read_submission(Path(sys.argv[1]))\n"
              "peak = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]\n"
              "print(len(nb.cells), sum(len(c.get('outputs', [])) for c in nb.cells), int(peak) // 1024)")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    cells, outputs, peak_mb = map(int, done.stdout.split())
    assert cells == len(assignment.template().cells) and outputs == 0
    print(f"peak memory reading a {path.stat().st_size / 2**20:.0f} MB notebook: {peak_mb} MB")
    assert peak_mb < 250  # the file is never held whole: the outputs are dropped while they are read


def test_a_notebook_still_too_large_without_outputs_is_refused(assignment, tmp_path):
    nb = assignment.template()
    nb.cells[-1].source = "x" * (60 * 2**20)
    path = tmp_path / "pasted.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(SubmissionError, match="without its outputs, are more than 50 MB"):
        read_submission(path)


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.ipynb"
    path.write_bytes(b"")
    with pytest.raises(SubmissionError, match="invalid JSON|empty"):
        read_submission(path)
