"""The parts of ``grader submit`` that need no kernel: what the task text states (``grader/course/stated.py``), the limits
a run on the student's machine applies (``grader/student/local_run.py``), the line a saved traceback points at."""
from __future__ import annotations

import json

import nbformat
import pytest

from grader.course.generate import public_checks_json
from grader.course.source import read_source
from grader.course.stated import read_stated, stated_checks, states
from grader.errors import SpecError
from grader.sandbox.base import INSIDE_EXPORT, INSIDE_WORKDIR, SandboxRun
from grader.spec import Limits
from grader.student.handin import saved_cells, saved_errors
from grader.student.local_run import local_job, local_limits

from .conftest import REPO


@pytest.mark.parametrize("text, value, unit, found", [
    ("it needs at least\n0.84 (the course notes report 0.88).", 0.84, "fraction", True),
    ("stops once the accuracy reaches **99.5%**", 0.995, "fraction", True),
    ("it needs at least 0.845", 0.84, "fraction", False),
    ("version 10.84", 0.84, "fraction", False),
    ("train it for **at most\n10 epochs**", 10, "epochs", True),
    ("train it for 100 epochs", 10, "epochs", False),
])
def test_what_a_text_states(text, value, unit, found):
    assert states(text, value, unit) is found


def solution(name):
    return read_source(REPO / "solutions" / name / f"{name}.ipynb")


def test_a_threshold_the_text_does_not_state_stays_hidden():
    source = solution("fashion_cnn")
    assert {task: [c["min_accuracy"] for c in checks] for task, checks in stated_checks(source).items()} == \
        {"dense": [0.84], "cnn": [0.88], "variant": [0.88]}
    for item in source.cells:
        if item.task == "dense" and item.cell.cell_type == "markdown":
            item.cell.source = item.cell.source.replace("0.84", "a good accuracy")
    assert "dense" not in stated_checks(source)
    data = json.loads(public_checks_json(source))
    assert "stated" not in data["tasks"][1] and data["tasks"][2]["stated"][0]["min_accuracy"] == 0.88


def test_stated_checks_keep_only_what_measuring_needs():
    stated = stated_checks(solution("mnist_callback"))
    assert [(c["kind"], sorted(set(c) - {"kind", "evidence", "points", "public", "title"}))
            for checks in stated.values() for c in checks] == [
        ("callback_stops", ["metric", "threshold"]),
        ("training_stopped", ["max_epochs", "metric", "threshold", "trained_model"]),
        ("model_accuracy", ["dataset", "min_accuracy", "scale", "split"]),
        ("model_accuracy", ["dataset", "min_accuracy", "scale", "split"])]


def test_a_stated_check_that_says_more_is_refused():
    data = json.loads(public_checks_json(solution("fashion_cnn")))
    data["tasks"][1]["stated"][0]["expected"] = 42
    with pytest.raises(SpecError, match="states a check this grader does not know"):
        read_stated(json.dumps(data))


def test_limits_on_a_machine_that_cannot_apply_them():
    limits = Limits(memory_mb=6144, cpus=2, max_processes=512)
    mac = local_limits(limits, platform="darwin")
    assert not mac.memory and mac.cpus == ()
    assert any(line.startswith("the limit of 6,144 MB of memory: macOS cannot limit") for line in mac.not_applied)
    assert any(line.startswith("the limit of 2 CPUs: macOS cannot bind") for line in mac.not_applied)
    assert mac.applied[0] == "900 s a cell and 1800 s for the whole notebook"
    linux = local_limits(limits, platform="linux")
    assert linux.memory and "6,144 MB of memory" in linux.applied
    assert any(line.startswith("the limit of 512 processes") for line in linux.not_applied)


def test_the_job_runs_in_the_folders_of_this_machine(tmp_path):
    run = SandboxRun(workdir=tmp_path / "work", export_dir=tmp_path / "export", limits=Limits(),
                     job={"notebook": f"{INSIDE_WORKDIR}/tiny.ipynb", "workdir": INSIDE_WORKDIR,
                          "export_dir": INSIDE_EXPORT, "tasks": []})
    job = local_job(run)
    assert job["notebook"] == str(tmp_path / "work" / "tiny.ipynb")
    assert (job["workdir"], job["export_dir"]) == (str(tmp_path / "work"), str(tmp_path / "export"))


def saved_notebook(traceback, count=3):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# title"),
                                         nbformat.v4.new_code_cell("import numpy as np"),
                                         nbformat.v4.new_code_cell("x = 6\nanswer = x * sevn")])
    nb.cells[2].execution_count = count
    nb.cells[2].outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="name 'sevn' is not defined",
                                                  traceback=traceback)]
    return nb, nbformat.writes(nb)


IPYTHON_8 = ["\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
             "\x1b[0;31mNameError\x1b[0m                                 Traceback (most recent call last)",
             "Cell \x1b[0;32mIn[3], line 2\x1b[0m\n\x1b[1;32m      1\x1b[0m x \x1b[38;5;241m=\x1b[39m 6\n"
             "\x1b[0;32m----> 2\x1b[0m answer \x1b[38;5;241m=\x1b[39m x \x1b[38;5;241m*\x1b[39m sevn\n",
             "\x1b[0;31mNameError\x1b[0m: name 'sevn' is not defined"]


@pytest.mark.parametrize("traceback, count, where", [
    (IPYTHON_8, 3, "code cell 2, line 2 (answer = x * sevn)"),
    (IPYTHON_8, 4, "code cell 2 (starting x = 6)"),  # a frame of another run of the cell says nothing of this one
    ([], 3, "code cell 2 (starting x = 6)"),
])
def test_an_error_in_the_saved_outputs_is_named_where_it_arose(traceback, count, where):
    nb, text = saved_notebook(traceback, count)
    [problem] = saved_errors(nb, text, saved_cells(text, len(nb.cells)))
    assert problem.startswith(f"{where}, as last run, raised NameError: name 'sevn' is not defined (its saved"
                              " output shows it)")


def test_saved_outputs_that_cannot_be_read_are_not_guessed():
    nb, text = saved_notebook(IPYTHON_8)
    assert saved_cells(text[:-10], len(nb.cells)) is None
    assert saved_cells(text, len(nb.cells) + 1) is None  # cells that do not match those the grader reads


def test_stopping_a_run_stops_the_kernel_it_started_in_a_session_of_its_own():
    """As Jupyter starts a kernel: in a new session, out of the runner's process group."""
    import os
    import subprocess
    import sys
    import time

    from grader.student.local_run import stop_tree

    code = ("import subprocess, sys, time\n"
            "kernel = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],\n"
            "                          start_new_session=True)\n"
            "print(kernel.pid, flush=True)\n"
            "time.sleep(120)\n")
    runner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    kernel = int(runner.stdout.readline())
    stop_tree(runner.pid)
    runner.wait(timeout=10)
    for _ in range(100):
        try:
            os.kill(kernel, 0)
        except ProcessLookupError:
            break
        if open(f"/proc/{kernel}/stat").read().split()[2] == "Z":  # dead, not yet reaped by init
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the kernel outlived its runner")
