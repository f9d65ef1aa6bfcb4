"""Which submission a batch's local worker takes next (``JobQueue``): each submission started once where it can be,
none started ahead that another worker needs for its first, and a cancel that holds up no other worker's take.

The workers here are stand-ins that only count what they are asked to start and cancel: the sandboxes themselves
are tested with real ones in tests/e2e/test_workers.py (an idle worker takes a submission started ahead)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.batch.workers import GradingJob, JobQueue, Worker
from grader.grading.grade import StartedSubmission


def job(key: str) -> GradingJob:
    return GradingJob(key=key, notebook=f"{key}.ipynb", assignment="by_hand", assignment_sha256="-",
                      grader_version="-", sandbox="bubblewrap", limits={})


@dataclass
class CountingWorker:
    """What a worker was asked to start and cancel; a cancel may be made to wait for ``cancel_may_end``."""

    slot: int
    started: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    cancel_may_end: threading.Event | None = None
    cancelling: threading.Event = field(default_factory=threading.Event)
    fails_to_start: bool = False

    def start(self, job: GradingJob) -> str:
        if self.fails_to_start:
            raise RuntimeError("no sandbox")
        self.started.append(job.key)
        return f"sandbox of {job.key} on slot {self.slot}"

    def cancel(self, started: str | None) -> None:
        if started is None:
            return
        self.cancelling.set()
        if self.cancel_may_end is not None:
            assert self.cancel_may_end.wait(10)
        self.cancelled.append(started)


def test_no_worker_starts_ahead_the_submission_another_worker_needs_for_its_first():
    """A batch of 2 with 2 workers: the first worker, its first taken, starts nothing ahead while the other has
    taken none; each submission's sandbox is started once and none is cancelled."""
    todo = JobQueue([job("a"), job("b")], workers=2)
    first, second = CountingWorker(0), CountingWorker(1)
    assert todo.take(first)[0] == job("a")
    todo.take_ahead(first)
    assert todo.take(second)[0] == job("b")
    assert todo.next_for(first) == (None, None)
    assert first.started == ["a"] and second.started == ["b"]
    assert first.cancelled == second.cancelled == []


def test_a_worker_starts_its_next_ahead_once_every_worker_has_a_first():
    todo = JobQueue([job(k) for k in "abcd"], workers=2)
    first, second = CountingWorker(0), CountingWorker(1)
    todo.take(first)
    todo.take_ahead(first)  # c and d are left: one for the second worker, one ahead
    assert first.started == ["a", "b"]
    assert todo.take(second)[0] == job("c")
    assert todo.next_for(first) == (job("b"), "sandbox of b on slot 0")
    assert todo.next_for(second)[0] == job("d")
    assert todo.next_for(first) == todo.next_for(second) == (None, None)
    assert first.cancelled == second.cancelled == []


def test_an_idle_worker_takes_what_another_started_ahead_and_cancels_that_sandbox():
    todo = JobQueue([job(k) for k in "abc"], workers=2)
    slow, quick = CountingWorker(0), CountingWorker(1)
    todo.take(slow)
    todo.take_ahead(slow)  # b, while the slow one runs a
    todo.take(quick)  # c
    assert todo.next_for(quick) == (job("b"), "sandbox of b on slot 1")
    assert quick.cancelled == ["sandbox of b on slot 0"]
    assert todo.next_for(slow) == (None, None)  # its b was taken: nothing left
    assert todo.give_up(slow) is None


def test_a_cancel_holds_up_no_other_worker_s_take():
    """The cancel of a sandbox started ahead waits for its processes to end (over a second): meanwhile another
    worker takes its next submission."""
    todo = JobQueue([job(k) for k in "abcde"], workers=3)
    slow, quick, other = CountingWorker(0), CountingWorker(1, cancel_may_end=threading.Event()), CountingWorker(2)
    todo.take(slow)  # a
    todo.take(quick)  # b
    todo.take(other)  # c
    todo.take_ahead(slow)  # d
    todo.take_ahead(other)  # e
    stealing = threading.Thread(target=todo.next_for, args=(quick,))
    stealing.start()
    try:
        assert quick.cancelling.wait(10)
        took: list = []
        taking = threading.Thread(target=lambda: took.append(todo.next_for(other)))
        taking.start()
        taking.join(5)
        assert took and took[0][0] in (job("d"), job("e")), "a take waited for another worker's cancel"
    finally:
        assert quick.cancel_may_end is not None
        quick.cancel_may_end.set()
        stealing.join(10)
    assert len(quick.cancelled) == 1


def test_the_sandbox_taken_over_is_cancelled_even_when_the_new_start_fails():
    todo = JobQueue([job(k) for k in "abc"], workers=2)
    slow, quick = CountingWorker(0), CountingWorker(1)
    todo.take(slow)
    todo.take_ahead(slow)
    todo.take(quick)
    quick.fails_to_start = True
    with pytest.raises(RuntimeError):
        todo.next_for(quick)
    assert quick.cancelled == ["sandbox of b on slot 0"]


@dataclass
class FailingExecution:
    """A started execution whose cancel fails (its sandbox's processes could not be stopped)."""

    export_dir: Path

    def cancel(self) -> None:
        raise OSError("processes of the sandbox's user 200001 could not be stopped")


def test_a_cancel_that_fails_is_logged_and_its_folder_removed_not_raised(tmp_path, caplog):
    folder = tmp_path / "b-1234"
    (folder / "export").mkdir(parents=True)
    started = StartedSubmission(Path("b.ipynb"), None, FailingExecution(folder / "export"), {}, None)
    Worker.cancel(None, started)  # uses nothing of the worker's own
    assert not folder.exists()
    assert "cancelling the sandbox started for b.ipynb failed" in caplog.text
