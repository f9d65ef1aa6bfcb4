"""A batch worker: its resident checker scores exactly as one grading process does, is restarted when it dies or
hangs (the submission checked again), and a submission it cannot check gets a reason; workers never share CPUs."""
from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from grader.batch.workers import LocalPool, Worker, assignment_reference, default_workers
from grader.grading.checker import ChecksTooSlow, ResidentChecker
from grader.grading.grade import Executed, check_executed
from grader.results import GRADER_FAILED, SubmissionResult
from grader.sandbox.bubblewrap import cpu_set
from grader.sandbox.uids import SANDBOX_UID_BASE

from . import notebooks as nbs
from .conftest import job_for, slow_and_quick, without_times


@pytest.fixture(scope="module")
def scratch():
    """A batch's scratch folder: under /tmp, which the sandbox's user can pass through (pytest's are private)."""
    folder = Path(tempfile.mkdtemp(prefix="notebook-grader-test-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def executed(tiny_assignment, scratch, tmp_path_factory) -> Executed:
    """A tiny submission with one wrong answer, executed by a worker in bubblewrap, its evidence kept."""
    notebook = nbs.write(nbs.replace(nbs.reference(tiny_assignment), "answer = 6 * 7", "answer = 41"),
                         tmp_path_factory.mktemp("in"), "wrong_answer")
    worker = Worker(tiny_assignment, "bubblewrap", 0, scratch / "executing")
    try:
        done = worker.execute(job_for(tiny_assignment, notebook))
    finally:
        worker.checker.close()
    assert isinstance(done, Executed), done
    return done


def test_the_resident_checker_scores_as_the_grading_process_does(tiny_assignment, executed):
    in_process = check_executed(executed, tiny_assignment)
    assert in_process.points == 3 and "41" in in_process.feedback_text()
    checker = ResidentChecker(assignment_reference(tiny_assignment))
    try:
        first = SubmissionResult.from_dict(checker.check(executed.to_wire()))
        again = SubmissionResult.from_dict(checker.check(Executed.from_wire(executed.to_wire()).to_wire()))
    finally:
        checker.close()
    assert without_times(first) == without_times(again) == without_times(in_process)
    assert checker.checked == 2 and checker.restarts == 0


def test_a_checker_killed_mid_check_is_restarted_and_checks_again(tiny_assignment, executed):
    checker = ResidentChecker(assignment_reference(tiny_assignment))
    try:
        first_pid = checker.pid
        os.kill(first_pid, signal.SIGSTOP)  # still starting: the request waits in its pipe
        answers = []
        asking = threading.Thread(target=lambda: answers.append(checker.check(executed.to_wire())))
        asking.start()
        time.sleep(0.5)
        os.kill(first_pid, signal.SIGKILL)
        asking.join(120)
        assert answers and checker.pid != first_pid and checker.restarts == 1
        assert without_times(SubmissionResult.from_dict(answers[0])) == without_times(check_executed(executed,
                                                                                               tiny_assignment))
    finally:
        checker.close()
    assert not os.path.exists(f"/proc/{first_pid}")


def test_checks_past_their_time_limit_fail_that_submission_only_and_are_not_tried_again(tiny_assignment,
                                                                                          executed):
    checker = ResidentChecker(assignment_reference(tiny_assignment), timeout_s=3)
    stopped: set[int] = set()
    watching = True

    def stop_each_new_checker() -> None:  # every checker this handle starts hangs
        while watching:
            pid = checker.pid
            if pid and pid not in stopped:
                os.kill(pid, signal.SIGSTOP)
                stopped.add(pid)
            time.sleep(0.01)

    watcher = threading.Thread(target=stop_each_new_checker)
    watcher.start()
    try:
        with pytest.raises(ChecksTooSlow, match="took longer than 3 s and were stopped"):
            checker.check(executed.to_wire())
        watching = False
        watcher.join()
        # the next submission gets a fresh checker that answers
        assert SubmissionResult.from_dict(checker.check(executed.to_wire())).points == 3
    finally:
        watching = False
        checker.close()
    assert len(stopped) == 1 and all(not os.path.exists(f"/proc/{pid}") for pid in stopped)


def test_grader_grade_s_checks_have_a_time_limit_too(tiny_assignment, executed, tmp_path):
    """``grader grade`` checks in a checker process of its own: past ``check_timeout_s`` the student gets a result
    that says so (the slow checks of a huge model can no longer hold the grader for tens of minutes)."""
    from grader.grading.grade import grade_submission
    from grader.sandbox.select import choose_sandbox

    limits = replace(tiny_assignment.spec.limits, check_timeout_s=0.001)
    result = grade_submission(executed.submission, tiny_assignment, choose_sandbox("bubblewrap"), limits)
    assert result.points == 0
    assert result.error == ("the grader's checks of this notebook took longer than 0.001 s and were stopped: is a"
                            " model or an array far larger than the task asks?")
    assert result.execution["exit_code"] == 0  # the notebook itself ran


def test_checks_that_raise_give_a_result_with_a_reason(tiny_assignment, executed, tmp_path):
    worker = Worker(tiny_assignment, "bubblewrap", 0, tmp_path / "slot-0")
    job = job_for(tiny_assignment, Path(executed.submission))
    evidence = shutil.copytree(Path(executed.export_dir).parent, tmp_path / "copy")  # the worker removes it
    broken = replace(executed, notes=(5,), export_dir=str(evidence / "export"))  # a note that is not text: the
    # checks raise TypeError on it
    try:
        result = worker.check(job, broken)
    finally:
        worker.close()
    assert result.points == 0 and result.error.startswith(GRADER_FAILED)
    assert "checks failed" in result.error and result.submission == "wrong_answer.ipynb"
    assert not evidence.exists()


def test_default_workers_never_share_a_cpu(tiny_assignment, tmp_path):
    cores = len(os.sched_getaffinity(0))
    for cpus in (1, 2, 3):
        workers = default_workers(cpus)
        assert workers == max(1, cores // cpus)
        sets = [set(cpu_set(cpus, slot)) for slot in range(workers)]
        assert sum(len(s) for s in sets) == len(set().union(*sets)) <= cores  # disjoint
    pool = LocalPool(tiny_assignment, None, tmp_path, cpus=2)
    assert pool.describe().startswith(f"{max(1, cores // 2)} local worker") and "one per 2 of the" in pool.describe()
    assert "share CPUs" in LocalPool(tiny_assignment, cores + 1, tmp_path, cpus=1).describe()


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox changes user only when the grader runs as root")
def test_each_sandbox_of_a_batch_has_a_user_of_its_own(tiny_assignment, scratch, tmp_path):
    """Process limits count per user: a fork storm in one submission must not take from the submission another
    worker of the same batch (the same process) runs at the same time, nor from the next one."""
    notebooks = [nbs.write(nbs.insert_cell(nbs.reference(tiny_assignment), "last",
                                           'import os\nprint("UID", os.getuid())'), tmp_path / "in", f"student{n}")
                 for n in range(3)]
    pool = LocalPool(tiny_assignment, 2, scratch / "uids", keep_root=tmp_path / "kept", cpus=1,
                     sandbox="bubblewrap")
    try:
        results = {job.key: result for job, result in pool.grade([job_for(tiny_assignment, n) for n in notebooks])}
    finally:
        pool.close()
    assert {key: r.points for key, r in results.items()} == {f"student{n}": 4 for n in range(3)}
    uids = set()
    for n in range(3):
        executed = (tmp_path / "kept" / f"student{n}" / "executed.ipynb").read_text()
        uids.update(int(u) for u in re.findall(r"UID (\d+)", executed))
    assert len(uids) == 3 and min(uids) >= SANDBOX_UID_BASE


def test_the_next_sandbox_starts_while_one_runs(tiny_assignment, scratch, tmp_path):
    """One worker: while the slow submission runs, the next one's sandbox is there already, its kernel started,
    waiting for its turn (a fresh one: its own folder, its own user; it never ran anything else)."""
    notebooks = slow_and_quick(tiny_assignment, tmp_path / "in")[:2]
    pool = LocalPool(tiny_assignment, 1, scratch / "warm", cpus=1, sandbox="bubblewrap")
    order, seen_waiting = [], []

    def watch() -> None:
        while not order:  # until the slow one's result: only one runs at a time, so this one waits
            seen_waiting.extend(p.name for p in (scratch / "warm").glob("slot-0/b_quick*")
                                if sandbox_of(p) and list(p.glob("*/kernel-*.json")))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for job, result in pool.grade([job_for(tiny_assignment, n) for n in notebooks]):
            order.append(job.key)
            assert result.points == 4, result.feedback_text()
    finally:
        pool.close()
        watcher.join()
    assert order == ["a_slow", "b_quick0"] and seen_waiting


def test_an_idle_worker_takes_a_submission_another_started_ahead(tiny_assignment, scratch, tmp_path):
    """Two workers: the one running the slow submission started a quick one ahead; the other, with nothing left,
    takes it (that sandbox ends unused), so that no quick one waits behind the slow one."""
    notebooks = slow_and_quick(tiny_assignment, tmp_path / "in")
    pool = LocalPool(tiny_assignment, 2, scratch / "ahead", cpus=1, sandbox="bubblewrap")
    try:
        order = [job.key for job, result in pool.grade([job_for(tiny_assignment, n) for n in notebooks])
                 if result.points == 4]
    finally:
        pool.close()
    assert order[-1] == "a_slow" and len(order) == 3, order


def sandbox_of(folder: Path) -> bool:
    """Whether a bubblewrap process binds a folder of ``folder``'s (a sandbox started for it: its work folder, or
    as root the tmpfs staged for it there)."""
    work = (str(folder) + "/").encode()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and work in (entry / "cmdline").read_bytes() \
                    and b"bwrap" in (entry / "cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False
