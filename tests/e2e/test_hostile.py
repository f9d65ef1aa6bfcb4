"""Bad submissions in the local sandbox (bubblewrap) each get a clear reason, keep the credit they earned, and the
batch goes on.  They are graded on the tiny NumPy assignment: what they test is the sandbox, not the course."""
from __future__ import annotations

import os

import pytest

from . import notebooks as nbs
from .conftest import REPO, Listener, grade_one, points_by_task, read_gradebook, read_results, run_cli, task
from .tiny import BASELINE

pytestmark = pytest.mark.slow
CELL_TIMEOUT = 10
MEMORY_BOMB = "hog = []\nwhile True:\n    hog.append(bytearray(2**26))"


def hostile(assignment, port: int) -> dict:
    r = lambda: nbs.reference(assignment)  # noqa: E731
    return {
        "baseline": r(),
        "infinite_loop": nbs.insert_cell(r(), "array", "while True:\n    pass"),
        "sys_exit": nbs.insert_cell(r(), "numbers", "import sys\nsys.exit()"),
        "os_exit": nbs.insert_cell(r(), "array", "import os\nos._exit(1)", where="start"),
        "memory_bomb": nbs.insert_cell(r(), "last", MEMORY_BOMB),
        "network": nbs.insert_cell(r(), "last", nbs.network_probe(port)),
        "deleted_task_cell": _without_answer_cell(r(), "numbers"),
        "fork_storm": nbs.insert_cell(r(), "last", nbs.FORK_STORM),
        "snoop": nbs.insert_cell(r(), "last", nbs.SNOOP % (str(REPO / "solutions"), str(REPO / "tests"),
                                                           str(assignment.solution_path))),
        "forge": nbs.insert_cell(r(), "last", nbs.FORGE),
        "kill_parent": nbs.insert_cell(r(), "array", "import os, signal\nos.kill(os.getppid(), signal.SIGINT)\n"
                                       "os.kill(os.getppid(), 9)\nprint('STILL HERE')", where="start"),
        "flood": nbs.insert_cell(r(), "last", nbs.FLOOD),
        "disk_fill": nbs.insert_cell(r(), "last", nbs.DISK_FILL),
        "detect": nbs.insert_cell(r(), "numbers", nbs.DETECT, where="start"),
    }


def _without_answer_cell(nb, name):
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and c.metadata["grader"]["task"] == name
                                            and c.metadata["grader"]["role"] == "answer")]
    return nb


@pytest.fixture(scope="module")
def graded(tiny_assignment, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    listener = Listener()
    try:
        for name, nb in hostile(tiny_assignment, listener.port).items():
            nbs.write(nb, folder / "in", name)
        (folder / "in" / "invalid_json.ipynb").write_text('{"cells": [ this is not json')
        done = run_cli("batch", str(folder / "in"), "-a", str(tiny_assignment.solution_path), "--out",
                       str(folder / "out"), "--sandbox", "bubblewrap", "--cell-timeout", str(CELL_TIMEOUT))
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr[-3000:]
    return read_results(folder / "out"), folder / "out", listener


def printed(out, name: str) -> str:
    return nbs.printed(out / "executed" / name / "executed.ipynb")


def test_every_submission_has_a_result(graded):
    results, out, _ = graded
    assert sorted(results) == sorted(["baseline", "infinite_loop", "sys_exit", "os_exit", "memory_bomb", "network",
                                      "deleted_task_cell", "invalid_json", "fork_storm", "snoop", "forge",
                                      "kill_parent", "flood", "disk_fill", "detect"])
    assert len(read_gradebook(out)) == 15
    assert {r.sandbox for r in results.values()} == {"bubblewrap"}
    assert points_by_task(results["baseline"]) == BASELINE


def test_an_infinite_loop_is_interrupted_and_costs_nothing_else(graded):
    result = graded[0]["infinite_loop"]
    assert points_by_task(result) == BASELINE
    assert f"ran longer than the {CELL_TIMEOUT} s a cell may take, and was interrupted" in task(result, "array").feedback


def test_sys_exit_is_reported(graded):
    result = graded[0]["sys_exit"]
    assert points_by_task(result) == BASELINE
    assert "called sys.exit()" in task(result, "numbers").feedback


def test_os_exit_keeps_the_earlier_tasks(graded):
    result = graded[0]["os_exit"]
    assert points_by_task(result) == {"numbers": 1, "array": 0, "last": 0}
    for name in ("array", "last"):
        assert "the kernel stopped in code cell" in task(result, name).ungraded_reason
        assert "(exit code 1): does the code call exit(), os._exit()" in task(result, name).ungraded_reason


def test_a_memory_bomb_is_stopped_with_a_reason(graded):
    result = graded[0]["memory_bomb"]
    feedback = task(result, "last").feedback
    assert "ran out of memory (the limit is 2,048 MB)" in feedback or "more memory than the 2,048 MB" in feedback
    assert points_by_task(result)["array"] == 2


def test_no_network_inside_the_sandbox(graded):
    results, out, listener = graded
    assert listener.connections == 0
    assert points_by_task(results["network"]) == BASELINE
    text = printed(out, "network")
    assert "CONNECTED" not in text and text.count("blocked:") == 2


def test_invalid_json_gets_a_reason(graded):
    result = graded[0]["invalid_json"]
    assert result.points == 0
    assert "not a valid notebook (invalid JSON" in result.error
    assert "Download" in result.feedback_text()


def test_a_deleted_task_cell(graded):
    result = graded[0]["deleted_task_cell"]
    assert points_by_task(result) == {**BASELINE, "numbers": 0}
    assert "the variable answer is not defined in your notebook" in task(result, "numbers").feedback


def test_a_fork_storm_stops_at_the_process_limit(graded):
    results, out, _ = graded
    assert points_by_task(results["fork_storm"]) == BASELINE
    line = next(l for l in printed(out, "fork_storm").splitlines() if l.startswith("STARTED"))
    _, started, error = line.split()
    assert int(started) < 256 and error == "BlockingIOError"


def test_the_solution_checks_and_tests_are_not_in_the_sandbox(graded, tiny_assignment):
    results, out, _ = graded
    text = printed(out, "snoop")
    for path in (REPO / "solutions", REPO / "tests", tiny_assignment.solution_path):
        assert f"ABSENT {path}" in text
    notebooks = next(l for l in text.splitlines() if l.startswith("NOTEBOOKS"))
    assert notebooks == "NOTEBOOKS ['/home/student/work/tiny.ipynb']"
    assert points_by_task(results["snoop"]) == BASELINE


def test_forged_status_and_results_files_change_nothing(graded):
    result = graded[0]["forge"]
    assert points_by_task(result) == BASELINE and result.error is None and result.points == 4


def test_the_kernel_cannot_kill_the_process_running_it(graded):
    results, out, _ = graded
    assert points_by_task(results["kill_parent"]) == BASELINE  # the runner is PID 1: the signals are ignored
    assert "STILL HERE" in printed(out, "kill_parent")


def test_a_flood_of_output_is_truncated(graded):
    results, out, _ = graded
    result = results["flood"]
    assert points_by_task(result) == BASELINE
    assert result.execution["truncated_output"] is True
    assert (out / "executed" / "flood" / "executed.ipynb").stat().st_size < 10 * 2**20


def test_filling_the_disk_is_stopped_at_the_budget(graded):
    """As root the work folder is a tmpfs of the budget's size (the write fails, the rest of the notebook runs, as
    in the container); otherwise a watchdog stops the sandbox."""
    result = graded[0]["disk_fill"]
    if os.geteuid() == 0:
        assert points_by_task(result) == BASELINE
        assert "No space left on device" in task(result, "last").feedback
    else:
        assert points_by_task(result) == {**BASELINE, "last": 0}
        assert "wrote more than the 256 MB of files it may write" in task(result, "last").ungraded_reason


def test_nothing_tells_the_notebook_it_is_graded(graded):
    results, out, _ = graded
    assert points_by_task(results["detect"]) == BASELINE
    nbs.assert_looks_ordinary(printed(out, "detect"), "tiny.ipynb")


def test_a_sleep_past_the_notebook_limit_keeps_the_earlier_tasks(tiny_assignment, tmp_path):
    nb = nbs.insert_cell(nbs.reference(tiny_assignment), "array", "import time\ntime.sleep(3600)", where="start")
    result = grade_one(nbs.write(nb, tmp_path, "sleeper"), str(tiny_assignment.solution_path), "--sandbox",
                       "bubblewrap", "--notebook-timeout", "15", "--cell-timeout", "60", timeout=300)
    assert points_by_task(result) == {"numbers": 1, "array": 0, "last": 0}
    assert result.execution["seconds"] < 15 + 60
    assert "was still running when the notebook reached its time limit (15 s)" in task(result, "array").ungraded_reason
    assert "the notebook reached its time limit (15 s)" in task(result, "last").ungraded_reason
