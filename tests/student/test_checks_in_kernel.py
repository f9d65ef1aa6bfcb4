"""check("task") in a real Jupyter kernel, cell by cell, as a student runs it: the words for a right and a wrong
answer, an HTML table for JupyterLab, what the grader does besides, and no answer given away."""
from __future__ import annotations

import statistics

import nbformat
import pytest

from .conftest import cells_of

TIMED_CALLS = 7


def run_setup(kernel, folder):
    setup = next(c for c in cells_of(folder / "tiny.ipynb") if c.metadata["grader"]["role"] == "setup")
    assert not kernel.run(setup.source).error


def test_a_wrong_then_a_right_answer(kernel, student_folder):
    run_setup(kernel, student_folder)
    kernel.run("values = np.arange(5)")
    wrong = kernel.run('check("array")')
    assert "Task 2: an array: 0 of 1 public checks passed" in wrong.text
    assert "FAIL array shape of values: shape is 5, expected 10" in wrong.text
    assert "<table" in wrong.html and "FAIL" in wrong.html
    assert "the grader checks the range of the values in values" in wrong.text  # what the public checks leave out
    kernel.run("values = np.arange(10) * 2")
    right = kernel.run('check("array")')
    assert "Task 2: an array: all public checks passed" in right.text
    assert "FAIL" not in right.text and "PASS array shape of values" in right.text


def test_an_answer_is_checked_for_its_form_only(kernel, student_folder):
    run_setup(kernel, student_folder)
    kernel.run("answer = 41")
    report = kernel.run('check("numbers")')
    assert "all public checks passed" in report.text  # a readable number: the grader will say if it is right
    assert "the grader checks that answer is the right answer (here, only its form is checked)" in report.text
    assert "42" not in report.text + report.html  # the expected answer is nowhere
    kernel.run('word = "option z"')
    form = kernel.run('check("last")')
    assert "FAIL form of the answer word" in form.text


def test_not_done_yet(kernel, student_folder):
    run_setup(kernel, student_folder)
    kernel.run("word = ...")
    report = kernel.run('check("last")').text
    assert "Task 3: a choice: not done yet (word not defined)" in report
    assert "word is still the placeholder ...: replace it with your answer" in report


def test_otter_shape(kernel, student_folder):
    run_setup(kernel, student_folder)
    kernel.run("from grader.student import grader\nanswer = 42")
    assert "Task 1: a number: all public checks passed" in kernel.run('grader.check("numbers")').text


@pytest.mark.parametrize("task", ["numbers", "array", "last"])
def test_time_of_each_check(kernel, student_folder, task):
    """Printed, never asserted on: the median of several calls of a check, on the right answer."""
    run_setup(kernel, student_folder)
    kernel.run('answer = 42\nvalues = np.arange(10) * 2\nword = "b"')
    timed = kernel.run("import time\nseconds = []\nfor _ in range(%d):\n    started = time.perf_counter()\n"
                       "    report = check(%r)\n    seconds.append(time.perf_counter() - started)\n"
                       "assert report.all_passed, report\nprint(sorted(seconds))" % (TIMED_CALLS, task))
    assert not timed.error, timed.error
    seconds = eval(timed.text.strip())  # noqa: S307 - the list the kernel printed
    print(f"check({task!r}) in a kernel: median {statistics.median(seconds) * 1000:.1f} ms over {TIMED_CALLS} calls")


def test_by_hand_checks_and_their_time(tmp_path):
    """The by-hand assignment (its tasks need no training), its reference answers run cell by cell in a kernel:
    every check cell says all its public checks pass; the median time of each check is printed."""
    import shutil

    from .conftest import REPO
    from .kernel import StudentKernel

    shutil.copytree(REPO / "assignments" / "by_hand", tmp_path / "by_hand")
    complete = nbformat.read(REPO / "examples" / "by_hand" / "by_hand_complete.ipynb", as_version=4)
    with StudentKernel(tmp_path / "by_hand") as kernel:
        for cell in complete.cells:
            if cell.cell_type != "code":
                continue
            shown = kernel.run(cell.source)
            assert not shown.error, (cell.source, shown.error)
            if "check(" in cell.source:
                assert "all public checks passed" in shown.text, shown.text
        for task in ("convolve", "pool", "pictures", "quiz"):
            timed = kernel.run("import time\nseconds = []\nfor _ in range(%d):\n    started = time.perf_counter()\n"
                               "    check(%r)\n    seconds.append(time.perf_counter() - started)\nprint(seconds)"
                               % (TIMED_CALLS, task))
            seconds = eval(timed.text.strip())  # noqa: S307 - the list the kernel printed
            print(f"by_hand check({task!r}): median {statistics.median(seconds) * 1000:.1f} ms")
