"""``grader submit`` as a student meets it (issue 18, points 1 and 2): "ready" only when it is true, errors in the
saved outputs named, what was and was not checked said; ``--dry-run`` on a machine with no sandbox at all (no
bubblewrap, no container engine: macOS, Windows, Colab, a JupyterHub), run in a fresh kernel on that machine with
the grader's limits, the limits it could not apply named, and what the task text states (the accuracies, the
callback stopping) measured on the data the machine has."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ..e2e.conftest import REPO
from ..e2e.notebooks import quick, replace, write
from .conftest import answer, set_limits

NO_SANDBOX_PATH = str(Path(sys.executable).parent)  # the venv's programs only: no bwrap, podman or docker


def submit(*args: str, no_sandbox: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """``grader submit ...`` in a subprocess; with ``no_sandbox``, on a PATH where no sandbox can be found."""
    env = {**os.environ, **({"PATH": NO_SANDBOX_PATH} if no_sandbox else {})}
    return subprocess.run([sys.executable, "-m", "grader", "submit", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def tiny_notebook(folder: Path, numbers: str = "answer = 6 * 7", array: str = "values = np.arange(10) * 2") -> Path:
    path = folder / "tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer(nb, "numbers", numbers)
    answer(nb, "array", array)
    answer(nb, "last", 'word = "b"')
    nbformat.write(nb, path)
    return path


def run_and_save(path: Path) -> None:
    """What a student does: run every cell in Jupyter (errors and all), then save."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, allow_errors=True, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)


def test_saved_outputs_that_show_an_error_are_not_ready(student_folder):
    path = tiny_notebook(student_folder, numbers="x = 6\nanswer = x * sevn")
    run_and_save(path)
    assert any(o.get("ename") == "NameError" for c in nbformat.read(path, 4).cells for o in c.get("outputs", ()))
    done = submit(str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "tiny.ipynb: can be handed in, but some points will be lost" in done.stdout
    assert ("code cell 2, line 2 (answer = x * sevn), as last run, raised NameError: name 'sevn' is not defined (its"
            " saved output shows it)") in done.stdout
    assert "Not checked:\n  - nothing was run: whether it runs from the top in a fresh kernel" in done.stdout
    assert "`grader submit --dry-run tiny.ipynb` runs it as the grader will" in done.stdout
    assert (student_folder / "tiny-submission.ipynb").read_bytes() == path.read_bytes()


def test_a_clean_saved_notebook_is_ready_only_as_far_as_its_file_shows(student_folder):
    path = tiny_notebook(student_folder)
    run_and_save(path)
    done = submit(str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("tiny.ipynb: ready to hand in, as far as the saved file shows: nothing was run")
    assert "the errors its saved outputs show, from when you last ran it" in done.stdout  # checked: none
    assert "nothing was run" in done.stdout and "the grader's own checks, which need the solution" in done.stdout
    assert "Task 1: a number (1 point): whether answer is right (here only the form of an answer is checked)" \
        in done.stdout


def test_a_notebook_never_run_says_so(student_folder):
    done = submit(str(tiny_notebook(student_folder)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(no cell of the saved notebook shows that it ran: no execution count, no output)" in done.stdout


def test_dry_run_with_no_sandbox_on_the_machine(student_folder):
    """No bubblewrap, no container engine: the dry run runs on this machine, with the grader's time limits."""
    assert not any(shutil.which(tool, path=NO_SANDBOX_PATH) for tool in ("bwrap", "podman", "docker"))
    path = tiny_notebook(student_folder, numbers="answer = 6 * sevn",
                         array="import time\ntime.sleep(600)\nvalues = np.arange(10) * 2")
    set_limits(student_folder, cell_timeout_s=3, notebook_timeout_s=60)
    done = submit(str(path), "--dry-run")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Run from the top in a fresh kernel, on this machine, without a sandbox:" in done.stdout
    assert "the grader's limits applied: 3 s a cell and 60 s for the whole notebook" in done.stdout
    task_lines = {line.split(": ", 1)[0].strip(): line for line in done.stdout.splitlines()
                  if line.startswith("  FAIL Task") or line.startswith("  PASS Task")}
    assert "raised NameError: name 'sevn' is not defined" in task_lines["FAIL Task 1"]
    assert "ran longer than the 3 s a cell may take, and was interrupted" in task_lines["FAIL Task 2"]
    assert "PASS Task 3: a choice: its public checks pass after a fresh run" in done.stdout
    assert "not applied here: the limit of 256 processes" in done.stdout
    assert "not applied here: the grader's lack of network" in done.stdout
    assert (student_folder / "tiny-submission.ipynb").is_file()


def test_dry_run_of_a_complete_notebook_with_no_sandbox_is_ready(student_folder):
    done = submit(str(tiny_notebook(student_folder)), "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("tiny.ipynb: ready to hand in: it ran from the top in a fresh kernel, and every"
                                  " check it could be given here passed")


def test_a_sandbox_named_but_missing_writes_nothing(student_folder):
    path = tiny_notebook(student_folder)
    done = submit(str(path), "--dry-run", "--sandbox", "bubblewrap")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "NOT written" in done.stdout and "bubblewrap is not installed" in done.stdout
    assert "leave --sandbox out to run it on this machine" in done.stdout
    assert not (student_folder / "tiny-submission.ipynb").exists()


def course_folder(tmp_path: Path, name: str, nb) -> Path:
    """A student's folder of a course assignment: its public_checks.json as given, and the notebook."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copyfile(REPO / "assignments" / name / "public_checks.json", folder / "public_checks.json")
    return write(nb, folder, name)


def stated_lines(stdout: str) -> list[str]:
    start = stdout.index("What the task text states, measured here as the grader measures it")
    return stdout[start:stdout.index("\nChecked:", start)].splitlines()[1:]


@pytest.mark.slow
def test_fashion_cnn_below_the_accuracies_its_text_states(assignment, tmp_path):
    """The three models trained on 3,000 images for one epoch: every public check passes, every stated accuracy
    fails, measured on this machine's Fashion-MNIST."""
    path = course_folder(tmp_path, "fashion_cnn", quick(assignment.reference_submission()))
    done = submit(str(path), "--dry-run")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fashion_cnn.ipynb: can be handed in, but some points will be lost" in done.stdout
    assert "on this machine, without a sandbox" in done.stdout
    assert all(f"PASS Task {n}:" in done.stdout for n in range(1, 7))
    lines = stated_lines(done.stdout)
    assert [line.split(": accuracy measured here")[0] for line in lines] == [
        "  FAIL Task 2: a dense baseline: accuracy of dense_model on the test images",
        "  FAIL Task 3: a convolutional network: accuracy of cnn_model on the test images",
        "  FAIL Task 4: fewer filters first: accuracy of variant_model on the test images"], lines
    assert [line.rsplit("needed at least ", 1)[1] for line in lines] == ["0.84.", "0.88.", "0.88."]
    assert "on the 10,000 test images" in lines[0]
    assert "Task 6: quiz (7 points): whether q1_convolution" in done.stdout


@pytest.mark.slow
def test_mnist_callback_whose_callback_never_fired(tmp_path):
    """Trained one epoch on 1,000 digits, the callback never fires and the accuracy is far below the text's; the
    reference, trained as the task says, is ready."""
    from grader.course.assignment import load_assignment

    course = load_assignment("mnist_callback")
    nb = replace(course.reference_submission(), "model.fit(training_images, training_labels, epochs=10,",
                 "model.fit(training_images[:1000], training_labels[:1000], epochs=1,")
    path = course_folder(tmp_path, "mnist_callback", nb)
    done = submit(str(path), "--dry-run")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = stated_lines(done.stdout)
    assert lines[0].startswith("  PASS Task 1: a callback that stops training at 99.5% accuracy: the callback"
                               " callbacks stops training at accuracy 0.995")
    assert lines[1].startswith("  FAIL Task 2: one convolution, trained with the callback: training stopped by the"
                               " callback (read from history): fit ran the 1 epoch it was asked for and ended at accuracy")
    test_accuracy = lines[3]
    assert "accuracy of model on the test digits" in test_accuracy and "FAIL" in test_accuracy
    assert test_accuracy.endswith(("needed at least 0.93.", "needed at least 0.97.")), test_accuracy

    (tmp_path / "reference").mkdir()
    reference = course_folder(tmp_path / "reference", "mnist_callback", course.reference_submission())
    done = submit(str(reference), "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(line.startswith("  PASS") for line in stated_lines(done.stdout))


def test_the_stated_checks_given_to_students_hold_no_answer():
    """What public_checks.json states is what the task text states: the thresholds, never an answer."""
    from grader.course.assignment import load_assignment
    from grader.course.stated import STATED_PARAMS, read_stated

    for name in ("fashion_cnn", "mnist_callback", "lenet5", "by_hand"):
        text = (REPO / "assignments" / name / "public_checks.json").read_text()
        stated = read_stated(text)
        hidden = {(c.kind, c.evidence) for t in load_assignment(name).spec.tasks for c in t.checks if not c.public}
        for checks in stated.values():
            for check in checks:
                assert (check.kind, check.evidence) in hidden
                assert set(check.params) <= set(STATED_PARAMS[check.kind])
        assert name != "fashion_cnn" or len(stated) == 3
        assert name != "by_hand" or not stated
        assert json.loads(text)  # and the rest of the file as it was
