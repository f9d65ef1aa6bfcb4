"""Reading submissions: broken files get a reason; deleted and copied cells are handled."""
from __future__ import annotations

import json

import nbformat
import pytest

from grader.errors import SubmissionError
from grader.grading.submission import prepare, read_submission


@pytest.mark.parametrize("content, reason", [
    ("{not json", "invalid JSON at line 1"),
    ('{"metadata": {}}', "it has no cells"),
    ('[1, 2]', "it has no cells"),
    ('{"cells": [{"cell_type": "code", "source": 5}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
     r"the source of cell 1 of the notebook \(counting from the top, text cells too\) is a number, not text"),
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
    script = ("import sys\nfrom pathlib import Path\nfrom grader.grading.submission import read_submission\n"
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


HOSTILE_DEPTH = 100_000


def _hostile(template, where: str, value: str) -> str:
    """The template's JSON with ``value`` (raw JSON text) put at ``where``."""
    data = json.loads(nbformat.writes(template))
    code = next(i for i, c in enumerate(data["cells"]) if c["cell_type"] == "code")
    if where == "notebook metadata":
        data["metadata"]["x"] = "@@"
    elif where == "cell metadata":
        data["cells"][code]["metadata"]["x"] = "@@"
    elif where == "grader metadata":
        data["cells"][code]["metadata"]["grader"]["task"] = "@@"
    elif where == "source":
        data["cells"][code]["source"] = "@@"
    elif where == "output":
        data["cells"][code]["outputs"] = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                           "data": {"text/plain": "@@"}}]
    elif where == "attachment":
        data["cells"][0]["attachments"] = {"x.png": {"image/png": "@@"}}
    elif where == "top":
        data["x"] = "@@"
    return json.dumps(data).replace('"@@"', value)


NESTED = "[" * HOSTILE_DEPTH + "]" * HOSTILE_DEPTH
NESTED_OBJECTS = '{"a": ' * HOSTILE_DEPTH + "1" + "}" * HOSTILE_DEPTH
CELL_2 = "cell 2 of the notebook (counting from the top, text cells too)"


@pytest.mark.parametrize("where, value, reason", [
    ("notebook metadata", NESTED, "the notebook's metadata is nested 100,000 levels deep (lists or dictionaries"
                                  " inside each other); the grader reads notebooks nested at most 100 levels deep"),
    ("cell metadata", NESTED_OBJECTS, f"the metadata of {CELL_2} is nested 100,000 levels deep"),
    ("grader metadata", NESTED, f"the metadata of {CELL_2} is nested 100,001 levels deep"),
    ("top", NESTED, "the notebook's 'x' entry is nested 100,000 levels deep"),
    ("source", "9" * 5000, "the notebook holds an integer of 5,000 digits; the grader reads numbers of at most 100"),
    ("cell metadata", "-" + "9" * 5000, "an integer of 5,000 digits"),
    ("source", "12", "the source of cell 2 of the notebook (counting from the top, text cells too) is a number,"
                     " not text"),
    ("source", '["a", 5]', "the source of cell 2 of the notebook (counting from the top, text cells too) is a list"),
    ("source", "{}", "is a dictionary, not text"),
])
def test_a_hostile_notebook_gets_a_reason_never_a_crash(assignment, tmp_path, where, value, reason):
    path = tmp_path / "hostile.ipynb"
    path.write_text(_hostile(assignment.template(), where, value))
    with pytest.raises(SubmissionError) as raised:
        read_submission(path)
    assert reason in str(raised.value)


@pytest.mark.parametrize("where, value", [("output", NESTED), ("attachment", NESTED), ("output", "9" * 5000),
                                          ("cell metadata", "NaN"), ("notebook metadata", "-Infinity"),
                                          ("cell metadata", "1e999"), ("grader metadata", '["convolve"]'),
                                          ("grader metadata", '{"a": 1}')])
def test_what_the_grader_drops_or_ignores_may_be_anything(assignment, tmp_path, where, value):
    """Outputs and attachments are dropped unread however deep they nest; odd metadata values are kept, and the
    grader's own metadata of the wrong type is ignored (the cell's task is found from its check call)."""
    path = tmp_path / "odd.ipynb"
    path.write_text(_hostile(assignment.template(), where, value))
    nb = read_submission(path)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    prepared = prepare(nb, assignment.template(), assignment.spec)
    assert len(prepared.notebook.cells) == len(assignment.template().cells)
    nbformat.writes(prepared.notebook)


def _notebook_json(assignment) -> dict:
    return json.loads(nbformat.writes(assignment.template()))


@pytest.mark.parametrize("edit, reason", [
    (lambda d: d.update(cells={}), "the notebook's cells are a dictionary, not a list"),
    (lambda d: d.update(cells="x"), "the notebook's cells are text, not a list"),
    (lambda d: d.update(metadata=[]), "the notebook's metadata is a list, not a dictionary"),
    (lambda d: d.update(nbformat="4"), 'the notebook\'s format version ("nbformat") is text'),
    (lambda d: d.update(nbformat=3), '("nbformat") is 3; the grader reads Jupyter\'s format 4'),
    (lambda d: d.pop("nbformat"), '("nbformat") is missing'),
    (lambda d: d.update(nbformat_minor=[5]), '("nbformat_minor") is a list'),
    (lambda d: d.update(worksheets=[]) or d.pop("cells"), "Jupyter's old notebook format (version 3)"),
    (lambda d: d["cells"].append(5), "cell 24 of the notebook (counting from the top, text cells too) is a number"),
    (lambda d: d["cells"].append(None), "is null, not a cell"),
    (lambda d: d["cells"][0].update(cell_type="python"), "cell 1 of the notebook (counting from the top, text cells"
                                                         " too) has the type 'python', not code, markdown or raw"),
    (lambda d: d["cells"][0].update(cell_type=["code"]), "has the type a list"),
    (lambda d: d["cells"][1].update(metadata=5), "the metadata of cell 2 of the notebook"),
    (lambda d: d["cells"][1].update(id=["a"]), "the id of cell 2 of the notebook (counting from the top, text cells"
                                               " too) is a list, not text"),
    (lambda d: d["cells"].extend([{"cell_type": "raw", "source": "", "metadata": {}}] * 10_001),
     "the notebook has 10,024 cells; the grader reads notebooks of at most 10,000 cells"),
])
def test_a_notebook_of_the_wrong_shape_gets_a_reason(assignment, tmp_path, edit, reason):
    data = _notebook_json(assignment)
    edit(data)
    path = tmp_path / "shape.ipynb"
    path.write_text(json.dumps(data))
    with pytest.raises(SubmissionError) as raised:
        read_submission(path)
    assert reason in str(raised.value)


def test_wrong_but_harmless_fields_are_mended(assignment, tmp_path):
    data = _notebook_json(assignment)
    code = next(c for c in data["cells"] if c["cell_type"] == "code")
    code["source"] = ["import numpy as np\n", "x = 1\n"]
    code["execution_count"] = "seven"
    path = tmp_path / "mended.ipynb"
    path.write_text(json.dumps(data))
    nb = read_submission(path)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    assert cell.source == "import numpy as np\nx = 1\n" and cell.execution_count is None


def test_many_entries_are_refused_before_they_are_built(tmp_path, monkeypatch):
    from grader.grading import notebook_file

    monkeypatch.setattr(notebook_file, "MAX_ENTRIES", 1000)
    path = tmp_path / "wide.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {"x": [{}] * 2000}, "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(SubmissionError, match="more than 1,000 entries"):
        read_submission(path)


def test_not_a_regular_file(tmp_path):
    import os
    import threading

    fifo = tmp_path / "fifo.ipynb"
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(pytest.raises(SubmissionError, read_submission, fifo)))
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert "not a regular file" in str(outcome[0].value)
    with pytest.raises(SubmissionError, match="not a regular file"):
        read_submission(tmp_path)
    with pytest.raises(SubmissionError, match="could not be opened"):
        read_submission(tmp_path / "absent.ipynb")


HOSTILE_VALUES = [None, True, 0, -1, 2**70, 1.5, "", "x", "code", [], [1, "a"], {}, {"a": []}, ["a\n", "b"],
                  {"grader": {"task": ["x"], "role": {}}}, {"grader": "setup"}, [[[[[]]]]]]


def test_any_value_anywhere_gives_a_notebook_or_a_reason(assignment, tmp_path):
    """A fuzz: a real notebook's JSON with random values put at random places (its keys, its cells' keys, new
    keys); each is read into a notebook the grader can prepare, or refused with a SubmissionError."""
    import random

    rng = random.Random(17)
    template = assignment.template()
    outcomes = {"read": 0, "refused": 0}
    for attempt in range(300):
        data = _notebook_json(assignment)
        for _ in range(rng.randint(1, 3)):
            cells = [c for c in data.get("cells", []) if isinstance(c, dict)] if isinstance(data.get("cells"), list) \
                else []
            target = data if rng.random() < 0.3 or not cells else rng.choice(cells)
            key = rng.choice(list(target) + ["grader", "outputs", "id", "attachments"])
            if key == "grader":
                target = target.setdefault("metadata", {}) if isinstance(target.get("metadata"), dict) else target
            target[key] = rng.choice(HOSTILE_VALUES)
        path = tmp_path / f"fuzz{attempt}.ipynb"
        path.write_text(json.dumps(data))
        try:
            nb = read_submission(path)
        except SubmissionError as exc:
            assert str(exc) and "Error" not in str(exc), str(exc)
            outcomes["refused"] += 1
            continue
        prepared = prepare(nb, template, assignment.spec)
        nbformat.writes(prepared.notebook)
        outcomes["read"] += 1
    assert outcomes["read"] > 30 and outcomes["refused"] > 30, outcomes


def test_a_notebook_of_the_most_cells_is_read_and_prepared_in_seconds(assignment, tmp_path):
    """Each cell's small output is skipped in a step or two, and each cell's task found by bisection: 10,000 cells
    of copies (ids and metadata gone) cost seconds, not the minutes of a pass over the file or the cells each."""
    import copy
    import time

    from grader.grading.submission import MAX_CELLS

    data = _notebook_json(assignment)
    output = {"output_type": "stream", "name": "stdout", "text": ["done [1] {2}\n"]}
    cells = data["cells"]
    while len(cells) < MAX_CELLS:
        cell = copy.deepcopy(cells[len(cells) % 23])
        cell.pop("id", None)
        cell["metadata"] = {}
        if cell["cell_type"] == "code":
            cell["outputs"] = [output]
        cells.append(cell)
    data["nbformat_minor"] = 4
    path = tmp_path / "long.ipynb"
    path.write_text(json.dumps(data))
    started = time.perf_counter()
    prepared = prepare(read_submission(path), assignment.template(), assignment.spec)
    assert len(prepared.notebook.cells) > 9000
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("where, value, reason", [
    ("notebook metadata", NESTED, "the notebook's metadata is nested 100,000 levels deep"),
    ("cell metadata", "9" * 5000, "the notebook holds an integer of 5,000 digits"),
    ("source", "12", f"the source of {CELL_2} is a number, not text"),
])
def test_grader_grade_gives_the_student_the_reason(tmp_path, where, value, reason):
    """`grader grade` on a hostile notebook: a result of zero with the reason, never a traceback."""
    from click.testing import CliRunner

    from grader.cli import main
    from grader.course.assignment import load_assignment

    path = tmp_path / "hostile.ipynb"
    path.write_text(_hostile(load_assignment("by_hand").template(), where, value))
    out = tmp_path / "result.json"
    done = CliRunner().invoke(main, ["grade", str(path), "-a", "by_hand", "--json-out", str(out)])
    assert done.exit_code == 0, done.output
    result = json.loads(out.read_text())
    assert result["points"] == 0 and reason in result["error"]
    assert f"Your notebook could not be graded: {reason}" in done.output and "Traceback" not in done.output
