"""Bad submissions each get a clear reason, keep the credit they earned, and the batch goes on."""
from __future__ import annotations

import json

import nbformat
import pytest

from grader.results import SubmissionResult

from . import notebooks as nbs
from .conftest import REPO, Listener, points_by_task, read_gradebook, read_results, run_cli, task

pytestmark = pytest.mark.slow
BASELINE = {"data": 6, "dense": 4, "cnn": 6, "quiz": 3}  # the quick reference: accuracy misses for lack of training
CELL_TIMEOUT = 40


def hostile(assignment, port: int) -> dict:
    q = lambda: nbs.quick(nbs.reference(assignment))  # noqa: E731
    return {
        "baseline": q(),
        "infinite_loop": nbs.insert_cell(q(), "cnn", "while True:\n    pass"),
        "sys_exit": nbs.insert_cell(q(), "dense", "import sys\nsys.exit()"),
        "os_exit": nbs.insert_cell(q(), "cnn", "import os\nos._exit(1)", where="start"),
        "memory_bomb": nbs.insert_cell(q(), "quiz", "hog = []\nwhile True:\n    hog.append(bytearray(2**28))"),
        "network": nbs.insert_cell(q(), "quiz", nbs.network_probe(port)),
        "deleted_task_cell": _without_answer_cell(q(), "dense"),
        "fork_storm": nbs.insert_cell(q(), "quiz", nbs.FORK_STORM),
        "snoop": nbs.insert_cell(q(), "quiz", nbs.SNOOP % (str(assignment.solution_path), str(REPO / "tests"),
                                                            str(assignment.student_dir))),
        "forge": nbs.insert_cell(q(), "quiz", nbs.FORGE),
        "kill_parent": nbs.insert_cell(q(), "cnn", "import os\nos.kill(os.getppid(), 9)", where="start"),
        "flood": nbs.insert_cell(q(), "quiz", nbs.FLOOD),
        "disk_fill": nbs.insert_cell(q(), "quiz", nbs.DISK_FILL),
    }


def _without_answer_cell(nb, name):
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and c.metadata["grader"]["task"] == name
                                            and c.metadata["grader"]["role"] == "answer")]
    return nb


@pytest.fixture(scope="module")
def graded(assignment, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    listener = Listener()
    try:
        for name, nb in hostile(assignment, listener.port).items():
            nbs.write(nb, folder / "in", name)
        (folder / "in" / "invalid_json.ipynb").write_text('{"cells": [ this is not json')
        done = run_cli("batch", str(folder / "in"), "-a", "fashion_cnn", "--out", str(folder / "out"), "--sandbox", "bubblewrap",
                       "--cell-timeout", str(CELL_TIMEOUT), "--notebook-timeout", "600", "--memory-mb", "6144")
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr[-3000:]
    return read_results(folder / "out"), folder / "out", listener


def test_every_submission_has_a_result(graded):
    results, out, _ = graded
    assert sorted(results) == sorted(["baseline", "infinite_loop", "sys_exit", "os_exit", "memory_bomb", "network",
                                      "deleted_task_cell", "invalid_json", "fork_storm", "snoop", "forge",
                                      "kill_parent", "flood", "disk_fill"])
    assert len(read_gradebook(out)) == 14
    assert {r.sandbox for r in results.values()} == {"bubblewrap"}
    assert points_by_task(results["baseline"]) == BASELINE


def test_an_infinite_loop_is_interrupted_and_costs_nothing_else(graded):
    result = graded[0]["infinite_loop"]
    assert points_by_task(result) == BASELINE
    assert f"ran longer than the {CELL_TIMEOUT} s a cell may take, and was interrupted" in task(result, "cnn").feedback


def test_sys_exit_is_reported(graded):
    result = graded[0]["sys_exit"]
    assert points_by_task(result) == BASELINE
    assert "called sys.exit()" in task(result, "dense").feedback


def test_os_exit_keeps_the_earlier_tasks(graded):
    result = graded[0]["os_exit"]
    assert points_by_task(result) == {"data": 6, "dense": 4, "cnn": 0, "quiz": 0}
    for name in ("cnn", "quiz"):
        assert "the kernel stopped in cell" in task(result, name).ungraded_reason
        assert "(exit code 1): does the code call exit(), os._exit()" in task(result, name).ungraded_reason


def test_a_memory_bomb_is_stopped_with_a_reason(graded):
    result = graded[0]["memory_bomb"]
    feedback = task(result, "quiz").feedback
    assert "ran out of memory (the limit is 6,144 MB)" in feedback or "more memory than the 6,144 MB" in feedback
    assert points_by_task(result)["data"] == 6


def test_no_network_inside_the_sandbox(graded):
    results, out, listener = graded
    assert listener.connections == 0
    assert points_by_task(results["network"]) == BASELINE
    executed = nbformat.read(out / "executed" / "network" / "executed.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "CONNECTED" not in printed
    assert printed.count("blocked:") == 2


def test_invalid_json_gets_a_reason(graded):
    result = graded[0]["invalid_json"]
    assert result.points == 0
    assert "not a valid notebook (invalid JSON" in result.error
    assert "Download" in result.feedback_text()


def test_a_deleted_task_cell(graded):
    result = graded[0]["deleted_task_cell"]
    assert points_by_task(result) == {"data": 6, "dense": 0, "cnn": 6, "quiz": 3}
    assert "the variable dense_model is not defined in your notebook" in task(result, "dense").feedback


def printed(out, name: str) -> str:
    executed = nbformat.read(out / "executed" / name / "executed.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", ()))


def test_a_fork_storm_stops_at_the_process_limit(graded):
    results, out, _ = graded
    assert points_by_task(results["fork_storm"]) == BASELINE
    line = next(l for l in printed(out, "fork_storm").splitlines() if l.startswith("STARTED"))
    _, started, error = line.split()
    assert int(started) < 512 and error == "BlockingIOError"


def test_the_solution_checks_and_tests_are_not_in_the_sandbox(graded, assignment):
    results, out, _ = graded
    text = printed(out, "snoop")
    for path in (assignment.solution_path, REPO / "tests", assignment.student_dir):
        assert f"ABSENT {path}" in text
    notebooks = next(l for l in text.splitlines() if l.startswith("NOTEBOOKS"))
    assert "/home/student/work/submission.ipynb" in notebooks and "fashion_cnn.ipynb" not in notebooks
    assert points_by_task(results["snoop"]) == BASELINE


def test_forged_status_and_results_files_change_nothing(graded):
    result = graded[0]["forge"]
    assert points_by_task(result) == BASELINE and result.error is None


def test_killing_the_runner_keeps_the_earlier_tasks(graded):
    result = graded[0]["kill_parent"]
    assert points_by_task(result) == {"data": 6, "dense": 4, "cnn": 0, "quiz": 0}
    assert "the process running it was killed" in result.error or "could not be run to the end" in result.error


def test_a_flood_of_output_is_truncated(graded):
    results, out, _ = graded
    result = results["flood"]
    assert points_by_task(result) == BASELINE
    assert result.execution["truncated_output"] is True
    assert (out / "executed" / "flood" / "executed.ipynb").stat().st_size < 10 * 2**20


def test_filling_the_disk_is_stopped_at_the_budget(graded):
    result = graded[0]["disk_fill"]
    assert points_by_task(result) == {**BASELINE, "quiz": 0}
    assert "wrote more than the 1,024 MB of files it may write" in task(result, "quiz").ungraded_reason


def test_a_sleep_past_the_notebook_limit_keeps_the_earlier_tasks(assignment, tmp_path):
    nb = nbs.insert_cell(nbs.quick(nbs.reference(assignment)), "dense", "import time\ntime.sleep(3600)",
                         where="start")
    path = nbs.write(nb, tmp_path, "sleeper")
    out = tmp_path / "result.json"
    done = run_cli("grade", str(path), "-a", "fashion_cnn", "--sandbox", "bubblewrap", "--json-out", str(out),
                   "--notebook-timeout", "90", "--cell-timeout", "600", timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = SubmissionResult.from_dict(json.loads(out.read_text()))
    assert points_by_task(result) == {"data": 6, "dense": 0, "cnn": 0, "quiz": 0}
    assert result.execution["seconds"] < 90 + 60
    assert "was still running when the notebook reached its time limit (90 s)" in task(result, "dense").ungraded_reason
    for name in ("cnn", "quiz"):
        assert "the notebook reached its time limit (90 s)" in task(result, name).ungraded_reason
