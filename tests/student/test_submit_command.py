"""``grader submit`` as a student runs it: a complete, an incomplete and a broken notebook, and --dry-run in the
grader's sandbox with a cell that times out (the limits come from public_checks.json: no solution needed)."""
from __future__ import annotations

import hashlib
import json
import time

import nbformat
import pytest

from ..e2e.conftest import run_cli
from .conftest import answer, set_limits


def complete(folder):
    path = folder / "tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer(nb, "numbers", "answer = 6 * 7")
    answer(nb, "array", "values = np.arange(10) * 2")
    answer(nb, "last", 'word = "b"')
    nbformat.write(nb, path)
    return path


def test_a_complete_notebook(student_folder, tmp_path):
    path = complete(student_folder)
    done = run_cli("submit", str(path), "--out", str(tmp_path / "hand-in"))
    assert done.returncode == 0, done.stdout + done.stderr
    written = tmp_path / "hand-in" / "tiny-submission.ipynb"
    assert written.read_bytes() == path.read_bytes()
    assert "tiny.ipynb: ready to hand in" in done.stdout
    assert f"size {written.stat().st_size:,} bytes, SHA-256 {hashlib.sha256(written.read_bytes()).hexdigest()}" \
        in done.stdout


def test_an_incomplete_notebook(student_folder):
    path = student_folder / "tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer(nb, "numbers", "answer = 6 * 7")
    del nb.cells[next(i for i, c in enumerate(nb.cells) if c.source == 'check("last")')]
    del nb.cells[next(i for i, c in enumerate(nb.cells) if c.source == "word = ...")]  # task 3 deleted
    nbformat.write(nb, path)
    done = run_cli("submit", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "can be handed in, but some points will be lost" in done.stdout
    assert ("Task 2: an array: not done, code cell 4 (starting values = ...) still holds a ... to replace with your"
            " answer") in done.stdout
    assert "Task 3: a choice: its cells were not found (deleted?)" in done.stdout
    assert "Task 1" not in done.stdout.split("\nChecked:")[0]  # named only among the grader's own checks, below
    assert (student_folder / "tiny-submission.ipynb").is_file()


@pytest.mark.parametrize("content, reason", [
    (b'{"cells": [{"cell_type": "code", "source": "x = 1"', "not a valid notebook (invalid JSON"),
    (b"", "the file is empty"),
    (json.dumps({"metadata": {}}).encode(), "not a Jupyter notebook"),
])
def test_a_broken_notebook(student_folder, content, reason):
    path = student_folder / "tiny.ipynb"
    path.write_bytes(content)
    done = run_cli("submit", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert reason in done.stdout and "NOT written" in done.stdout
    assert not (student_folder / "tiny-submission.ipynb").exists()


def test_dry_run_tells_what_the_grader_would_meet(student_folder, tiny_assignment, tmp_path):
    path = complete(student_folder)
    nb = nbformat.read(path, as_version=4)
    answer(nb, "numbers", "answer = 6 * sevn")
    answer(nb, "array", "import time\ntime.sleep(600)\nvalues = np.arange(10) * 2")
    nbformat.write(nb, path)
    set_limits(student_folder, cell_timeout_s=3, notebook_timeout_s=60)
    started = time.monotonic()
    done = run_cli("submit", str(path), "--dry-run", "--sandbox", "bubblewrap")
    seconds = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("FAIL Task 1: a number: code cell 2, line 1 (answer = 6 * sevn) raised NameError: name 'sevn' is not"
            " defined, so it did not set answer\n") in done.stdout
    assert "FAIL form of the answer answer: the variable answer is not defined in your notebook" in done.stdout
    assert ("FAIL Task 2: an array: code cell 4, line 2 (time.sleep(600)) ran longer than the 3 s a cell may take,"
            " and was interrupted\n") in done.stdout
    assert "PASS Task 3: a choice: its public checks pass after a fresh run" in done.stdout
    print(f"\ndry run of a notebook with a cell that times out: {seconds:.1f} s")


def test_dry_run_time_against_the_grader(student_folder, tiny_assignment):
    """Printed, not asserted: the same complete notebook, dry run and graded, both in bubblewrap."""
    path = complete(student_folder)
    started = time.monotonic()
    done = run_cli("submit", str(path), "--dry-run", "--sandbox", "bubblewrap")
    dry = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    started = time.monotonic()
    graded = run_cli("grade", str(path), "-a", str(tiny_assignment.solution_path), "--sandbox", "bubblewrap")
    grading = time.monotonic() - started
    assert graded.returncode == 0 and "tiny: 4 / 4 points" in graded.stdout, graded.stdout + graded.stderr
    print(f"\ntiny, complete: grader submit --dry-run {dry:.1f} s, grader grade {grading:.1f} s")
