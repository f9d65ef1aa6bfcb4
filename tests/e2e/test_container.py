"""The container sandbox end to end: the quick reference scores as in bubblewrap, hostile submissions get a clear
reason and no more than they earned, the batch goes on, no container is left, no host file changes.

Also Gradescope's bundle, run inside the grading image laid out as Gradescope lays out its container.
Skipped without a container engine and image, except on CI (CI set): there they must run.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest

from grader.errors import SandboxUnavailableError

from . import notebooks as nbs
from .conftest import REPO, Listener, grade_one, points_by_task, read_gradebook, read_results, run_cli, task
from .tiny import BASELINE

pytestmark = [pytest.mark.container, pytest.mark.slow]
CELL_TIMEOUT = 10
MEMORY_MB = 2048
RUN_LABEL = "notebook-grader.run=1"


@pytest.fixture(scope="module")
def sandbox():
    from grader.sandbox.container import ContainerSandbox

    try:
        return ContainerSandbox()
    except SandboxUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the container tests, but: {exc}")
        pytest.skip(f"no container sandbox here: {exc}")


def our_containers(sandbox) -> list[str]:
    done = sandbox.engine.call("ps", "-a", "-q", "--filter", f"label={RUN_LABEL}")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def fingerprint(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def export_mounts(out: Path | None = None) -> list[str]:
    """The staged mounts left: of the batch writing into ``out`` when given (another run on this machine, killed,
    may have left its own), else any."""
    from grader.batch.run import scratch_root

    where = f"{scratch_root(out)}/" if out is not None else ""
    with open("/proc/self/mounts") as mounts:
        return [line for line in mounts if "/staged-" in line and where in line]


def hostile(assignment, port: int) -> dict:
    r = lambda: nbs.reference(assignment)  # noqa: E731
    return {
        "baseline": r(),
        "infinite_loop": nbs.insert_cell(r(), "array", "while True:\n    pass"),
        "memory_bomb": nbs.insert_cell(r(), "last", "hog = []\nwhile True:\n    hog.append(bytearray(2**26))"),
        "fork_storm": nbs.insert_cell(r(), "last", nbs.FORK_STORM),
        "network": nbs.insert_cell(r(), "last", nbs.network_probe(port)),
        "snoop": nbs.insert_cell(r(), "last", nbs.SNOOP % (str(assignment.solution_path), str(REPO / "grader"),
                                                           str(REPO / "tests"))),
        "forge": nbs.insert_cell(r(), "last", nbs.FORGE),
        "os_exit": nbs.insert_cell(r(), "array", "import os\nos._exit(1)", where="start"),
        "kill_parent": nbs.insert_cell(r(), "array", "import os, signal\nos.kill(os.getppid(), signal.SIGINT)\n"
                                       "os.kill(os.getppid(), 9)\nprint('STILL HERE')", where="start"),
        "flood": nbs.insert_cell(r(), "last", nbs.FLOOD),
        "disk_fill": nbs.insert_cell(r(), "last", nbs.DISK_FILL),
        "detect": nbs.insert_cell(r(), "numbers", nbs.DETECT, where="start"),
    }


@pytest.fixture(scope="module")
def graded(sandbox, tiny_assignment, tmp_path_factory):
    folder = tmp_path_factory.mktemp("container")
    listener = Listener()
    # The container sees only its mounts: the work folder (a read-only copy) and the export folder.  The
    # submissions must come out unchanged; the repository is shown to be out of reach by the snoop test.
    guarded = (folder / "in",)
    try:
        for name, nb in hostile(tiny_assignment, listener.port).items():
            nbs.write(nb, folder / "in", name)
        before = fingerprint(*guarded)
        repository_before = sorted(os.listdir(REPO))
        done = run_cli("batch", str(folder / "in"), "-a", str(tiny_assignment.solution_path), "--out",
                       str(folder / "out"), "--sandbox", "container", "--cell-timeout", str(CELL_TIMEOUT),
                       "--memory-mb", str(MEMORY_MB), timeout=1800)
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr[-3000:]
    return {"results": read_results(folder / "out"), "out": folder / "out", "listener": listener,
            "unchanged": before == fingerprint(*guarded), "output": done.stdout,
            "repository_unchanged": repository_before == sorted(os.listdir(REPO))}


def printed(out: Path, name: str) -> str:
    return nbs.printed(out / "executed" / name / "executed.ipynb")


def test_the_batch_used_the_container_and_graded_everything(graded):
    results = graded["results"]
    assert "with the container (" in graded["output"]
    assert sorted(results) == sorted(["baseline", "infinite_loop", "memory_bomb", "fork_storm", "network", "snoop",
                                      "forge", "os_exit", "kill_parent", "flood", "disk_fill", "detect"])
    assert {r.sandbox for r in results.values()} == {"container"}
    assert len(read_gradebook(graded["out"])) == len(results)


def test_the_reference_scores_full_marks(graded):
    result = graded["results"]["baseline"]
    assert points_by_task(result) == BASELINE
    assert result.error is None


def test_the_quick_reference_of_the_course_scores_as_in_bubblewrap(sandbox, quick_reference_graded, tmp_path):
    """TensorFlow in the image trains and exports as on the host: the same checks pass, the same accuracy."""
    path, in_bubblewrap = quick_reference_graded
    in_container = grade_one(path, "fashion_cnn", "--sandbox", "container")
    assert in_container.sandbox == "container" and in_container.error is None
    assert points_by_task(in_container) == points_by_task(in_bubblewrap)
    assert [(c.title, c.passed, c.message) for t in in_container.tasks for c in t.checks] == \
        [(c.title, c.passed, c.message) for t in in_bubblewrap.tasks for c in t.checks]


def test_no_container_mount_or_host_file_is_left(graded, sandbox):
    assert our_containers(sandbox) == []
    assert export_mounts(graded["out"]) == []
    assert graded["unchanged"], "a submission file changed"
    assert graded["repository_unchanged"], "a file appeared in (or left) the repository's root"


def test_an_infinite_loop_is_interrupted(graded):
    result = graded["results"]["infinite_loop"]
    assert points_by_task(result) == BASELINE
    assert f"ran longer than the {CELL_TIMEOUT} s a cell may take, and was interrupted" in task(result, "array").feedback


def test_a_memory_bomb_is_killed_by_the_memory_limit(graded):
    result = graded["results"]["memory_bomb"]
    assert points_by_task(result) == {**BASELINE, "last": 0}
    assert f"more memory than the {MEMORY_MB:,} MB allowed" in task(result, "last").ungraded_reason


def test_a_fork_storm_stops_at_the_process_limit(graded):
    result = graded["results"]["fork_storm"]
    assert points_by_task(result) == BASELINE
    line = next(l for l in printed(graded["out"], "fork_storm").splitlines() if l.startswith("STARTED"))
    _, started, error = line.split()
    assert int(started) < 256 and error == "BlockingIOError"


def test_no_network_inside_the_container(graded):
    assert graded["listener"].connections == 0
    assert points_by_task(graded["results"]["network"]) == BASELINE
    text = printed(graded["out"], "network")
    assert "CONNECTED" not in text and text.count("blocked:") == 2


def test_the_solution_and_the_grader_are_not_in_the_container(graded, assignment):
    text = printed(graded["out"], "snoop")
    notebooks = next(l for l in text.splitlines() if l.startswith("NOTEBOOKS"))
    assert notebooks == "NOTEBOOKS ['/home/student/work/tiny.ipynb', '/mnt/notebook/tiny.ipynb']"
    assert text.count("ABSENT") == 5 and "EXISTS" not in text
    assert points_by_task(graded["results"]["snoop"]) == BASELINE


def test_forged_status_and_results_files_change_nothing(graded):
    result = graded["results"]["forge"]
    assert points_by_task(result) == BASELINE and result.points == 4


def test_os_exit_keeps_the_earlier_tasks(graded):
    result = graded["results"]["os_exit"]
    assert points_by_task(result) == {"numbers": 1, "array": 0, "last": 0}
    assert "(exit code 1): does the code call exit(), os._exit()" in task(result, "array").ungraded_reason


def test_the_kernel_cannot_kill_the_process_running_it(graded):
    result = graded["results"]["kill_parent"]
    assert points_by_task(result) == BASELINE  # the runner is PID 1 of the container: the signal is ignored
    assert "STILL HERE" in printed(graded["out"], "kill_parent")


def test_a_flood_of_output_is_truncated(graded):
    result = graded["results"]["flood"]
    assert points_by_task(result) == BASELINE
    assert result.execution["truncated_output"] is True
    assert len(result.execution["log_tail"]) <= 1500
    executed = graded["out"] / "executed" / "flood" / "executed.ipynb"
    assert executed.stat().st_size < 10 * 2**20


def test_filling_the_work_folder_ends_at_its_size_limit(graded):
    result = graded["results"]["disk_fill"]
    assert points_by_task(result) == BASELINE
    assert "No space left on device" in task(result, "last").feedback


def test_nothing_tells_the_notebook_it_is_graded(graded):
    assert points_by_task(graded["results"]["detect"]) == BASELINE
    nbs.assert_looks_ordinary(printed(graded["out"], "detect"), "tiny.ipynb")


def test_a_sleep_past_the_notebook_limit_keeps_the_earlier_tasks(sandbox, tiny_assignment, tmp_path):
    nb = nbs.insert_cell(nbs.reference(tiny_assignment), "array", "import time\ntime.sleep(3600)", where="start")
    result = grade_one(nbs.write(nb, tmp_path, "sleeper"), str(tiny_assignment.solution_path), "--sandbox",
                       "container", "--notebook-timeout", "15", "--cell-timeout", "60", timeout=300)
    assert result.sandbox == "container"
    assert points_by_task(result) == {"numbers": 1, "array": 0, "last": 0}
    assert result.execution["seconds"] < 15 + 60
    assert "the notebook reached its time limit (15 s)" in task(result, "last").ungraded_reason
    assert our_containers(sandbox) == []


def test_a_container_past_its_wall_clock_is_removed(sandbox):
    from grader.sandbox.container import NAME_PREFIX, run_container

    name = f"{NAME_PREFIX}{uuid.uuid4().hex[:16]}"
    argv = sandbox.engine.argv("run", "--rm", "-i", "--name", name, "--label", RUN_LABEL, "--network", "none",
                               sandbox.image, "sleep", "600")
    outcome = run_container(sandbox.engine, argv, name, "", timeout_s=5)
    assert outcome.timed_out and outcome.exit_code is None and outcome.seconds < 60
    assert name not in subprocess.run(sandbox.engine.argv("ps", "-a", "--format", "{{.Names}}"),
                                      env=sandbox.engine.environ(), capture_output=True, text=True).stdout


GRADESCOPE_PROBES = """seen = []
for path in ('/autograder/source/solutions/fashion_cnn/fashion_cnn.ipynb', '/autograder/source/run_autograder'):
    try:
        open(path).read()
        seen.append('READ ' + path)
    except OSError as exc:
        seen.append('unreadable ' + type(exc).__name__)
for path in ('/autograder/results/results.json', '/autograder/results/forged.txt'):
    try:
        open(path, 'w').write('{"score": 100}')
        seen.append('WROTE ' + path)
    except OSError as exc:
        seen.append('unwritable ' + type(exc).__name__)
raise RuntimeError('PROBES ' + '; '.join(seen))
"""


def test_the_gradescope_bundle_grades_in_gradescopes_layout(sandbox, assignment, quick_reference_graded, tmp_path):
    done = run_cli("gradescope", "fashion_cnn", "--out", str(tmp_path / "bundle"), "--memory-mb", "6144")
    assert done.returncode == 0, done.stderr[-2000:]
    source, submission, results = tmp_path / "source", tmp_path / "submission", tmp_path / "results"
    with zipfile.ZipFile(tmp_path / "bundle" / "autograder.zip") as bundle:
        bundle.extractall(source)
    for script in ("setup.sh", "run_autograder"):
        (source / script).chmod(0o755)
    nb = nbs.insert_cell(nbs.quick(nbs.reference(assignment)), "quiz", GRADESCOPE_PROBES)
    nbs.write(nb, submission, "my_notebook")
    results.mkdir()
    name = f"nb-gradescope-{uuid.uuid4().hex[:8]}"
    argv = sandbox.engine.argv(
        "run", "--rm", "--name", name, "--label", RUN_LABEL, "--network", "none", "--user", "0:0",
        "--memory", "8g", "-v", f"{source}:/autograder/source", "-v", f"{submission}:/autograder/submission",
        "-v", f"{results}:/autograder/results", sandbox.image, "bash", "-c",
        "bash /autograder/source/setup.sh && cp /autograder/source/run_autograder /autograder/run_autograder"
        " && /autograder/run_autograder")
    try:
        ran = subprocess.run(argv, env=sandbox.engine.environ(), capture_output=True, text=True, timeout=1200)
    finally:
        sandbox.engine.call("rm", "-f", name)
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]
    scored = json.loads((results / "results.json").read_text())
    quick = points_by_task(quick_reference_graded[1])
    assert scored["score"] == sum(quick.values()), scored
    by_task = {t.title: [0.0, 0.0] for t in assignment.spec.tasks}  # a task's public and hidden checks' tests
    for test in scored["tests"]:
        totals = by_task[test["name"].removesuffix(": hidden checks")]
        totals[0] += test["score"]
        totals[1] += test["max_score"]
    assert by_task == {t.title: [float(quick[t.name]), t.max_points] for t in assignment.spec.tasks}
    assert not (results / "forged.txt").exists()
    probes = "PROBES " + "; ".join(["unreadable PermissionError"] * 2 + ["unwritable PermissionError"] * 2)
    assert any(probes in test["output"] for test in scored["tests"])
    assert "setup done" in ran.stdout
    shutil.rmtree(source, ignore_errors=True)


def test_a_batch_killed_mid_container_leaves_no_container_once_started_again(sandbox, tiny_assignment, tmp_path):
    """SIGKILL takes the batch and its graders, but an engine's container outlives its client: the batch started
    again removes it (by the batch's label), then finishes with every student graded."""
    import signal
    import sys
    import time

    from grader.batch.run import batch_id

    from . import batch_downloads as dl
    from .test_batch_scale import counts, wait_for

    download = dl.write_canvas_zip(tmp_path / "submissions.zip", dl.canvas_members(tiny_assignment))
    out = tmp_path / "out"
    label = f"label=notebook-grader.batch={batch_id(out)}"
    command = [sys.executable, "-m", "grader", "batch", str(download), "-a", str(tiny_assignment.solution_path),
               "--out", str(out), "--sandbox", "container", "--workers", "1"]
    victim = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)

    def running() -> list[str]:
        return sandbox.engine.call("ps", "-q", "--filter", label).stdout.split()

    try:
        wait_for(lambda: len(list((out / "results").glob("*.json"))) >= 2 and running(), 300,
                 "two results and a container running")
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
    time.sleep(1)
    left = sandbox.engine.call("ps", "-a", "-q", "--filter", label).stdout.split()
    print(f"\ncontainers left by the killed batch: {len(left)}")
    done = run_cli("batch", str(download), "-a", str(tiny_assignment.solution_path), "--out", str(out),
                   "--sandbox", "container", "--workers", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert counts(done)[1] >= 2
    assert sandbox.engine.call("ps", "-a", "-q", "--filter", label).stdout.split() == []
    assert export_mounts(out) == []
    points = {k: float(r["points"]) for k, r in ((r["submission"].removesuffix(".ipynb"), r)
                                                 for r in read_gradebook(out))}
    assert points == dl.EXPECTED_POINTS


def test_the_next_container_starts_while_one_runs(sandbox, tiny_assignment, tmp_path):
    """One worker: while the slow submission runs in its container, the next one's container is running too, its
    kernel started, waiting for its turn; each gets its full marks and no container is left."""
    import tempfile
    import threading
    import time

    from grader.batch.workers import LocalPool

    from .conftest import job_for, slow_and_quick

    scratch = Path(tempfile.mkdtemp(prefix="notebook-grader-test-"))
    os.chmod(scratch, 0o755)  # the container's user passes through it
    notebooks = slow_and_quick(tiny_assignment, tmp_path / "in")[:2]
    pool = LocalPool(tiny_assignment, 1, scratch, cpus=1, sandbox="container")
    order, seen_waiting = [], []
    finished = threading.Event()

    def watch() -> None:
        while not order and not finished.is_set():  # until the slow one's result: only one runs at a time
            if any(next(p.glob("staged-*/kernel-*.json"), None) for p in scratch.glob("slot-0/b_quick*")):
                seen_waiting.append(len(our_containers(sandbox)))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for job, result in pool.grade([job_for(tiny_assignment, n, "container") for n in notebooks]):
            order.append(job.key)
            assert result.points == 4 and result.sandbox == "container", result.feedback_text()
    finally:
        finished.set()
        pool.close()
        watcher.join()
        shutil.rmtree(scratch, ignore_errors=True)
    assert order == ["a_slow", "b_quick0"]
    assert seen_waiting and max(seen_waiting) == 2, seen_waiting  # the slow one's and the next one's
    assert our_containers(sandbox) == []
