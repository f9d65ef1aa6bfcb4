"""Notebooks as students really leave them are graded as they deserve: cells moved, copied, split, merged or
deleted; metadata stripped (another editor, a jupytext round trip); an old nbformat; another kernel name; a
renamed file; huge outputs.  On the by-hand assignment (real, and quick: nothing to train)."""
from __future__ import annotations

import json

import jupytext
import nbformat
import pytest

from grader.course.assignment import load_assignment
from grader.intake.stage import read_manifest

from . import notebooks as nbs
from .conftest import read_results, run_cli, task

pytestmark = pytest.mark.slow
FULL = {"convolve": 4, "pool": 3, "pictures": 3, "quiz": 5}


def code_index(nb, task_name: str, role: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.metadata.get("grader", {}).get("task")
                == task_name and c.metadata["grader"]["role"] == role)


def jupytext_round_trip(nb):
    text = jupytext.writes(nb, fmt={"extension": ".py", "format_name": "percent", "cell_metadata_filter": "-all",
                                    "notebook_metadata_filter": "-all"})
    back = jupytext.reads(text, fmt="py:percent")
    assert not any(c.metadata.get("grader") for c in back.cells)  # every grader mark is gone
    return back


def old_nbformat(nb):
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 0
    for cell in data["cells"]:
        cell.pop("id", None)
    return nbformat.from_dict(data)


def moved(nb):
    quiz = nb.cells.pop(code_index(nb, "quiz", "answer"))
    nb.cells.insert(3, quiz)  # the quiz answered first, right after the setup
    return nb


def duplicated(nb):
    index = code_index(nb, "convolve", "answer")
    nb.cells.insert(index + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[index]))))
    nb.cells[index + 1]["id"] = "copied-cell"
    return nb


def split(nb):
    index = code_index(nb, "convolve", "answer")
    head, tail = nb.cells[index].source.split("\n\n\nexample = ")
    nb.cells[index].source = head
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell("example = " + tail))  # Jupyter's split: no grader mark
    nb.cells[index + 1]["id"] = "split-off"
    return nb


def merged(nb):
    index = code_index(nb, "pool", "answer")
    nb.cells[index].source += "\n" + nb.cells[index + 1].source
    del nb.cells[index + 1]
    return nb


def deleted_check(nb):
    del nb.cells[next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and 'check("pictures")' in c.source)]
    return nb


def other_kernel(nb):
    nb.metadata["kernelspec"] = {"name": "conda-env-course-py", "display_name": "Python [conda env:course]",
                                 "language": "python"}
    return nb


def huge_output(nb):
    index = code_index(nb, "convolve", "answer")
    nb.cells[index].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * (60 * 2**20))]
    return nb


def deleted_task(nb):
    nb.cells = [c for c in nb.cells if c.metadata.get("grader", {}).get("task") != "pool"]
    return nb


MANIPULATIONS = {"jupytext_round_trip": jupytext_round_trip, "nbformat_4_0": old_nbformat, "moved": moved,
                 "duplicated": duplicated, "split": split, "merged": merged, "deleted_check_cell": deleted_check,
                 "other_kernel": other_kernel, "huge_output": huge_output, "My Notebook (2)": lambda nb: nb,
                 "deleted_task": deleted_task}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = load_assignment("by_hand")
    folder = tmp_path_factory.mktemp("as_left")
    (folder / "in").mkdir()
    for name, manipulate in MANIPULATIONS.items():
        nbformat.write(manipulate(nbs.reference(course)), folder / "in" / f"{name}.ipynb")
    done = run_cli("batch", str(folder / "in"), "-a", "by_hand", "--out", str(folder / "out"), "--sandbox",
                   "bubblewrap")
    assert done.returncode == 0, done.stderr[-3000:]
    results = read_results(folder / "out")
    # each student's result, under the key the batch gave it ("My Notebook (2)" is "My_Notebook_2")
    return {s.student: results[s.key] for s in read_manifest(folder / "out").submissions}


@pytest.mark.parametrize("name", [n for n in MANIPULATIONS if n != "deleted_task"])
def test_a_notebook_as_a_student_left_it_gets_its_full_marks(graded, name):
    result = graded[name]
    assert {t.name: t.points for t in result.tasks} == FULL, result.feedback_text()
    assert result.error is None


def test_the_figure_of_a_notebook_without_metadata_is_still_counted(graded):
    assert "1 picture shown" in task(graded["jupytext_round_trip"], "pictures").feedback


@pytest.mark.parametrize("name", ["jupytext_round_trip", "nbformat_4_0"])
def test_setup_cells_without_ids_or_marks_are_recognised(graded, name):
    assert "put back" not in graded[name].feedback_text()


def test_a_deleted_task_is_named_and_the_rest_graded(graded):
    result = graded["deleted_task"]
    assert {t.name: t.points for t in result.tasks} == {**FULL, "pool": 0, "pictures": 1}
    assert "the cells of Task 2: max pooling were not found (deleted?)" in task(result, "pool").feedback
    assert "the variable max_pool is not defined in your notebook" in task(result, "pool").feedback
