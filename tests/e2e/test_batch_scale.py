"""Batch grading as an instructor runs it: a Canvas download graded from its zip, results reused only while nothing
changed, a batch killed with SIGKILL and started again, and the same batch on a real Dask cluster."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from grader.batch.cache import folder_digest
from grader.batch.run import scratch_root
from grader.results import GRADER_FAILED, SubmissionResult

from . import batch_downloads as dl
from .conftest import REPO, grade_one, run_cli, without_times


def batch(source: Path, assignment: str, out: Path, *options: str) -> subprocess.CompletedProcess:
    done = run_cli("batch", str(source), "-a", assignment, "--out", str(out), "--sandbox", "bubblewrap", *options)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def counts(done: subprocess.CompletedProcess) -> tuple[int, int]:
    found = re.search(r"graded (\d+), reused (\d+) earlier results", done.stdout)
    assert found, done.stdout
    return int(found[1]), int(found[2])


@pytest.fixture(scope="module")
def own_tiny(tmp_path_factory):
    """A copy of the tiny assignment of this module's own, which a test edits."""
    from grader.course.assignment import load_assignment

    from . import tiny

    course = load_assignment(tiny.write_solution(tmp_path_factory.mktemp("own-tiny")))
    course.write_student_files()
    return course


@pytest.fixture(scope="module")
def download(own_tiny, tmp_path_factory) -> Path:
    return dl.write_canvas_zip(tmp_path_factory.mktemp("canvas") / "submissions.zip", dl.canvas_members(own_tiny))


@pytest.fixture(scope="module")
def uninterrupted(own_tiny, download, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    started = time.monotonic()
    done = batch(download, str(own_tiny.solution_path), out, "--workers", "2")
    print(f"\nbatch of {len(dl.EXPECTED_POINTS)} tiny submissions, 2 workers: {time.monotonic() - started:.1f} s")
    return out, done


def test_a_canvas_zip_is_graded_student_by_student(uninterrupted):
    out, done = uninterrupted
    rows = {r.split(",")[0]: r.split(",") for r in dl.gradebook_text(out).splitlines()[1:]}
    assert {k.removesuffix(".ipynb"): float(r[2]) for k, r in rows.items()} == dl.EXPECTED_POINTS
    assert rows["evanseve_105.ipynb"][1] == "evanseve"
    assert "the file is empty" in dl.result_json(out, "dunndan_104")["error"]
    assert "replaced: evanseve_105_9005_tiny.ipynb by evanseve_105_9105_tiny-1.ipynb" in done.stdout
    assert "Canvas download: 6 students" in done.stdout
    assert counts(done) == (6, 0)
    execution = dl.result_json(out, "adamsana_101")["execution"]  # where the time went, phase by phase
    assert set(execution["phases"]) == {"read_and_prepare", "sandbox", "checks:numbers", "checks:array",
                                        "checks:last", "keep"}
    assert 0 < execution["runner_seconds"] <= execution["phases"]["sandbox"]
    assert "2 local workers, 1 of" in done.stdout


def test_the_batch_grades_as_grader_grade_does(own_tiny, uninterrupted, tmp_path):
    """Two workers, each executing one submission while its resident checker checks the last: the same results as
    one `grader grade` process per submission (time figures aside)."""
    out, _ = uninterrupted
    for key in ("adamsana_101", "bakerben_102", "dunndan_104"):
        staged = shutil.copy(out / "submissions" / f"{key}.ipynb", tmp_path)
        alone = grade_one(Path(staged), str(own_tiny.solution_path), "--sandbox", "bubblewrap")
        in_batch = SubmissionResult.from_dict(dl.result_json(out, key))
        assert without_times(in_batch) == without_times(alone), key


def test_results_are_reused_until_something_changes_and_grader_failures_are_retried(own_tiny, download,
                                                                                      uninterrupted, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(uninterrupted[0], out)
    assert counts(batch(download, str(own_tiny.solution_path), out)) == (0, 6)
    failed = out / "results" / "adamsana_101.json"  # as if the grader had failed on Ana's last time
    stored = json.loads(failed.read_text())
    failed.write_text(json.dumps({**stored, "points": 0, "error": f"{GRADER_FAILED} (CheckerFailed: it died)"}))
    assert counts(batch(download, str(own_tiny.solution_path), out)) == (1, 5)  # tried again, not kept
    assert dl.result_json(out, "adamsana_101")["points"] == stored["points"] and not dl.result_json(
        out, "adamsana_101")["error"]
    failed.write_text(json.dumps({**stored, "points": str(stored["points"])}))  # damaged by hand, same provenance
    assert counts(batch(download, str(own_tiny.solution_path), out)) == (1, 5)  # graded again, not dropped
    assert dl.result_json(out, "adamsana_101")["points"] == stored["points"]
    assert "adamsana" in dl.gradebook_text(out)
    failed.write_text("[1]")  # JSON, but not a result
    assert counts(batch(download, str(own_tiny.solution_path), out)) == (1, 5)
    members = dl.canvas_members(own_tiny)
    members["bakerben_102_9002_tiny.ipynb"] = members["adamsana_101_9001_tiny.ipynb"]  # Ben fixed his answer
    edited = dl.write_canvas_zip(tmp_path / "again.zip", members)
    assert counts(batch(edited, str(own_tiny.solution_path), out)) == (1, 5)
    assert dl.result_json(out, "bakerben_102")["points"] == 4
    solution = nbformat.read(own_tiny.solution_path, as_version=4)
    solution.cells.append(nbformat.v4.new_markdown_cell("An instructor's late clarification."))
    nbformat.write(solution, own_tiny.solution_path)
    own_tiny.write_student_files()
    try:
        assert counts(batch(edited, str(own_tiny.solution_path), out)) == (6, 0)
    finally:
        solution.cells.pop()
        nbformat.write(solution, own_tiny.solution_path)
        own_tiny.write_student_files()


def test_a_new_grader_version_is_another_digest(tmp_path):
    package = tmp_path / "grader"
    shutil.copytree(REPO / "grader", package, ignore=shutil.ignore_patterns("__pycache__"))
    before = folder_digest([package], (".py",), leave_out=("reports",))
    (package / "reports").mkdir(exist_ok=True)
    (package / "reports" / "extra.py").write_text("# reports never change a grade\n")
    assert folder_digest([package], (".py",), leave_out=("reports",)) == before
    with (package / "scoring.py").open("a") as handle:
        handle.write("\n# a change of the grading code\n")
    assert folder_digest([package], (".py",), leave_out=("reports",)) != before


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline and str(os.getpid()) != entry.name:
                found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_batch_killed_with_sigkill_resumes_where_it_stopped(own_tiny, download, uninterrupted, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "batch", str(download), "-a", str(own_tiny.solution_path), "--out",
               str(out), "--sandbox", "bubblewrap", "--workers", "1"]
    victim = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    scratch = str(scratch_root(out))
    checker = f"grader.grading.checker {own_tiny.solution_path}"
    try:
        # Killed while the slow student's notebook runs: two results written, one grading under way.
        wait_for(lambda: len(list((out / "results").glob("*.json"))) >= 2 and processes_mentioning(scratch)
                 and processes_mentioning(checker), 120, "two results and a grading under way")
        assert list(Path(scratch).glob("slot-*/notebook-grader-checker-*/checker.log"))  # its log: in the scratch
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
    written = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}
    wait_for(lambda: not processes_mentioning(scratch), 10, "the killed batch's processes to end")
    assert not processes_mentioning(str(out))
    # its worker's resident checker (named by the assignment it checks) died with it
    wait_for(lambda: not processes_mentioning(checker), 10, "the checker to end")
    assert len(written) < len(dl.EXPECTED_POINTS)
    started = time.monotonic()
    done = batch(download, str(own_tiny.solution_path), out, "--workers", "1")
    print(f"\nresumed after SIGKILL: {len(written)} results kept, {time.monotonic() - started:.1f} s to finish")
    assert counts(done) == (len(dl.EXPECTED_POINTS) - len(written), len(written))
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json") if p.name in written} == written
    assert dl.gradebook_text(out) == dl.gradebook_text(uninterrupted[0])
    assert not list(out.rglob("*.part")) and not Path(scratch).exists()
    assert scratch not in Path("/proc/self/mountinfo").read_text()


@pytest.fixture
def dask_cluster(tmp_path):
    """A real Dask cluster on this machine: a scheduler and two workers, each a process of its own."""
    pytest.importorskip("distributed")
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler_file = tmp_path / "scheduler.json"
    processes = [subprocess.Popen([*dask, "--scheduler-file", str(scheduler_file), "--port", "0",
                                   "--dashboard-address", ":0"], cwd=REPO, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
    try:
        wait_for(scheduler_file.exists, 60, "the scheduler")
        for number in range(2):
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
                 "--nthreads", "1", "--no-nanny", "--name", f"worker-{number}", "--dashboard-address", ":0"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
            yield client, processes[1:]
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_the_batch_on_a_dask_cluster_equals_the_local_one_even_when_a_worker_dies(own_tiny, download, uninterrupted,
                                                                                  dask_cluster, tmp_path):
    client, workers = dask_cluster
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "batch", str(download), "-a", str(own_tiny.solution_path), "--out",
               str(out), "--sandbox", "bubblewrap", "--scheduler", client.scheduler.address]
    batch_process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def grading_the_slow_one() -> list[str]:
        return [worker for worker, keys in client.processing().items() if any("chencleo" in str(k) for k in keys)]

    wait_for(grading_the_slow_one, 120, "a worker to take the slow submission")
    time.sleep(2)  # its grading process and sandbox are running
    pid = next(iter(client.run(os.getpid, workers=grading_the_slow_one()).values()))
    assert list(Path(tempfile.gettempdir()).glob(f"notebook-grader-worker-{pid}-*"))  # its scratch, as it grades
    os.kill(pid, signal.SIGKILL)
    stdout, stderr = batch_process.communicate(timeout=600)
    assert batch_process.returncode == 0, stdout[-2000:] + stderr[-3000:]
    assert "on 2 Dask workers" in stdout
    assert dl.gradebook_text(out) == dl.gradebook_text(uninterrupted[0])
    # the killed worker's grading process died with it (the retry graded the submission again elsewhere)
    wait_for(lambda: not processes_mentioning("notebook-grader-worker-"), 10, "the workers' gradings to end")
    # what the killed worker left in /tmp is removed by the other at the batch's end, and the other's own too
    assert not list(Path(tempfile.gettempdir()).glob(f"notebook-grader-worker-{pid}-*"))
    assert not [p for p in Path(tempfile.gettempdir()).glob("notebook-grader-worker-*")
                if p.name.split("-")[3] in {str(w.pid) for w in workers}]
