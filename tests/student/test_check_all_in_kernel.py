"""grader.check_all() and grader.submit() in a real kernel: a partly done notebook with a changed setup cell."""
from __future__ import annotations

import os
import time

import nbformat

from .conftest import answer


def partly_done(folder):
    """Task 1 right, task 2 wrong, task 3 not done, and a line added to the setup cell; saved to disk."""
    path = folder / "tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer(nb, "numbers", "answer = 42")
    answer(nb, "array", "values = np.arange(5)")
    setup = next(c for c in nb.cells if c.metadata["grader"]["role"] == "setup")
    setup.source += "\nnp.random.seed(0)"
    nbformat.write(nb, path)
    return nb


def run_all(kernel, nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            kernel.run(cell.source)


def test_check_all_on_a_partly_done_notebook(kernel, student_folder):
    run_all(kernel, partly_done(student_folder))
    report = kernel.run("from grader.student import grader\ngrader.check_all()")
    assert not report.error, report.error
    text = report.text
    assert "A tiny assignment: 1 of 3 tasks pass their public checks, 1 failing, 1 not done" in text
    assert "PASS     Task 1: a number" in text
    assert "FAIL     Task 2: an array" in text and "FAIL array shape of values: shape is 5, expected 10" in text
    assert "NOT DONE Task 3: a choice" in text
    assert "Setup cells changed (in tiny.ipynb as saved on disk):" in text
    assert "cell 2 (import numpy as np) is a setup cell and was changed" in text
    assert "Task 3: a choice: the grader checks that word is the right answer (here, only its form is checked)" in text
    assert "<details" in report.html and "NOT DONE" in report.html


def test_check_all_finds_the_notebook_jupyter_names(kernel, student_folder):
    """With two notebooks beside public_checks.json, Jupyter's __session__ says which is open."""
    partly_done(student_folder)
    (student_folder / "tiny.ipynb").rename(student_folder / "mine.ipynb")
    (student_folder / "tiny.ipynb").write_bytes((student_folder / "mine.ipynb").read_bytes())
    nb = nbformat.read(student_folder / "tiny.ipynb", as_version=4)
    nb.cells[1].source = "import numpy as np\nfrom grader.student import check"  # this copy is as given
    nbformat.write(nb, student_folder / "tiny.ipynb")
    kernel.run("from grader.student import grader")
    assert "Setup cells: as given (in tiny.ipynb" in kernel.run("grader.check_all()").text  # named after the assignment
    kernel.run(f"__session__ = {str(student_folder / 'mine.ipynb')!r}")
    assert "Setup cells changed (in mine.ipynb" in kernel.run("grader.check_all()").text


def test_submit_in_the_notebook_asks_to_save_first(kernel, student_folder):
    nb = partly_done(student_folder)
    path = student_folder / "tiny.ipynb"
    old = time.time() - 60
    os.utime(path, (old, old))  # saved a minute ago; the cells run now
    run_all(kernel, nb)
    unsaved = kernel.run("from grader.student import grader\ngrader.submit()").text
    assert "was last saved at" in unsaved and "save the notebook (File > Save, or Ctrl+S)" in unsaved
    assert not (student_folder / "tiny-submission.ipynb").exists()
    path.touch()  # the student saves
    saved = kernel.run("grader.submit()").text
    assert "tiny.ipynb: can be handed in, but some points will be lost" in saved
    assert "Task 3: a choice: not done" in saved
    written = student_folder / "tiny-submission.ipynb"
    assert written.read_bytes() == path.read_bytes()
    import hashlib

    assert hashlib.sha256(written.read_bytes()).hexdigest() in saved


def test_colab_s_documented_calls_name_the_notebook(kernel, student_folder, tmp_path):
    """Colab cannot name its notebook file: the otter-style object takes ``notebook=`` as the functions do."""
    nb = partly_done(student_folder)
    run_all(kernel, nb)
    elsewhere = tmp_path / "drive" / "tiny.ipynb"  # as on a mounted Drive, away from the working folder
    elsewhere.parent.mkdir()
    nbformat.write(nb, elsewhere)
    report = kernel.run(f"from grader.student import grader\ngrader.check_all(notebook={str(elsewhere)!r})")
    assert not report.error, report.error
    assert "A tiny assignment: 1 of 3 tasks pass their public checks" in report.text
    handed = kernel.run(f"grader.submit(notebook={str(elsewhere)!r}, out_dir={str(tmp_path / 'out')!r})")
    assert not handed.error, handed.error
    assert (tmp_path / "out" / "tiny-submission.ipynb").is_file()
