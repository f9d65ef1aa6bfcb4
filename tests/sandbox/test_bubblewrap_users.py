"""How a bubblewrap run holds its user (``grader/sandbox/uids.py``): given back when the run ends with nothing of
it running, or when its start fails; kept while a process of it could not be stopped; and its end done once, as
after it the user may be another run's. The sandbox's process is a stand-in here: its user's processes are what
``kill_user_processes`` finds (real runs: tests/e2e/test_workers.py, each sandbox of a batch a user of its own)."""
from __future__ import annotations

import os

import pytest

from grader.errors import SandboxUnavailableError
from grader.sandbox import bubblewrap, uids
from grader.sandbox.base import SandboxRun
from grader.sandbox.kernel_template import DISABLE_ENV
from grader.spec import Limits

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not bubblewrap.shutil.which("bwrap"),
                                reason="a run has a user of its own as root, with bubblewrap")


class StandInProcess:
    """Started and cancelled, and nothing else: no process runs as the run's user."""

    starts_fail = False

    def __init__(self, *args, **kwargs) -> None:
        if self.starts_fail:
            raise OSError("bubblewrap could not start")
        self.process = None

    def cancel(self) -> None:
        pass


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "0")  # no kernel template: no door to open
    monkeypatch.setattr(bubblewrap, "StartedProcess", StandInProcess)
    folder = tmp_path / "run"
    (folder / "work").mkdir(parents=True)
    (folder / "export").mkdir()
    return SandboxRun(workdir=folder / "work", export_dir=folder / "export", job={}, limits=Limits())


def leased_now() -> set[int]:
    return set(uids._leased)


def test_a_run_s_user_is_given_back_when_it_ends(run):
    before = leased_now()
    started = bubblewrap.BubblewrapSandbox().start(run)
    assert len(leased_now() - before) == 1
    started.cancel()
    assert leased_now() == before


def test_a_run_s_user_is_given_back_when_its_start_fails(run, monkeypatch):
    monkeypatch.setattr(StandInProcess, "starts_fail", True)
    before = leased_now()
    with pytest.raises(OSError, match="could not start"):
        bubblewrap.BubblewrapSandbox().start(run)
    assert leased_now() == before


def test_a_user_whose_processes_could_not_be_stopped_is_kept_and_the_end_done_once(run, monkeypatch):
    kills = []
    monkeypatch.setattr(bubblewrap, "kill_user_processes", lambda uid: kills.append(uid) and False)
    before = leased_now()
    started = bubblewrap.BubblewrapSandbox().start(run)
    with pytest.raises(SandboxUnavailableError, match="could not be stopped"):
        started.cancel()
    kept = leased_now() - before
    assert len(kept) == 1 and kills == list(kept)
    started.cancel()  # a second end kills nothing: the user could be another run's by then
    assert kills == list(kept)
