"""The sandbox ``run_autograder`` uses inside Gradescope's container (``--sandbox gradescope-container``).

Inside Gradescope's container there is no nested sandbox: that container is the isolation
from the world.  Within it, ``gradescope-container`` keeps student code from the grader: the
notebook runs as ``student`` with the usual limits as rlimits, run_autograder first makes
/autograder/source (the solution notebook with the hidden checks) readable by root only, and
/autograder/results writable by root only; when the notebook is done, every process of
``student`` is killed before the evidence is copied out.  Network access is whatever the
Gradescope assignment allows.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import pwd
import shutil
import signal
import sys
from pathlib import Path
from typing import Callable

from grader.errors import SandboxUnavailableError
from grader.sandbox.base import (
    GO,
    INSIDE_EXPORT,
    INSIDE_HOME,
    INSIDE_WORKDIR,
    Sandbox,
    SandboxOutcome,
    SandboxRun,
    hard_timeout,
    job_line,
)
from grader.sandbox.bubblewrap import DATASETS, _limits_preexec, cpu_set
from grader.sandbox.process import run_limited
from grader.untrusted import copy_wanted_files

log = logging.getLogger(__name__)

AUTOGRADER = Path("/autograder")
STUDENT_USER = "student"


class GradescopeSandbox(Sandbox):
    """The notebook as the unprivileged ``student``, with rlimits, inside Gradescope's container."""

    name = "gradescope-container"

    def __init__(self, cpu_slot: int = 0, user: str = STUDENT_USER, layout: Path = AUTOGRADER) -> None:
        if os.geteuid() != 0:
            raise SandboxUnavailableError("the gradescope-container sandbox runs as root (Gradescope's run_autograder)")
        if not layout.is_dir():
            raise SandboxUnavailableError(f"the gradescope-container sandbox is for Gradescope's container only:"
                                          f" there is no {layout} here")
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise SandboxUnavailableError(f"there is no user {user!r}: run the bundle's setup.sh") from None
        if entry.pw_uid == 0:
            raise SandboxUnavailableError(f"the user {user!r} is root")
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.cpu_slot = cpu_slot

    def run(self, run: SandboxRun) -> SandboxOutcome:
        home, workdir, export = Path(INSIDE_HOME), Path(INSIDE_WORKDIR), Path(INSIDE_EXPORT)
        self._kill_student_processes()
        for folder in (home, export):
            shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(run.workdir, workdir, symlinks=False)
        (home / ".keras" / "datasets").mkdir(parents=True)
        for name, path in DATASETS.items():
            if path.exists():
                (home / ".keras" / "datasets" / name).symlink_to(path)
        export.mkdir(mode=0o700, parents=True)
        for path in (home, *home.rglob("*"), export):
            os.chown(path, self.uid, self.gid, follow_symlinks=False)
        home.chmod(0o700)
        env = {"HOME": INSIDE_HOME, "USER": STUDENT_USER, "LOGNAME": STUDENT_USER, "LANG": "C.UTF-8",
               "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"}
        left_out: dict[str, str] = {}
        try:
            outcome = run_limited([sys.executable, "-m", "grader.inside.runner"], job_line(run.job) + GO,
                                  hard_timeout(run.limits), preexec=self._preexec(run), env=env,
                                  watched=(home, export), disk_bytes=run.limits.disk_mb * 2**20,
                                  report_bytes=run.report_bytes)
        finally:
            self._kill_student_processes()
            left_out = copy_wanted_files(export, run.export_dir, run.evidence_files, run.limits.disk_mb * 2**20)
            shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(export, ignore_errors=True)
        return dataclasses.replace(outcome, left_out=left_out)

    def _preexec(self, run: SandboxRun) -> Callable[[], None]:
        limits = _limits_preexec(run, self.uid, cpu_set(run.limits.cpus, self.cpu_slot))

        def apply() -> None:
            limits()
            os.chdir(INSIDE_WORKDIR)  # after dropping root: the grader's own folder is unreadable

        return apply

    def _kill_student_processes(self) -> None:
        """SIGKILL every process of the student's user, however it left the notebook's process group."""
        for _ in range(10):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child only drops privileges and signals
                code = 0
                try:
                    os.setgroups([])
                    os.setgid(self.gid)
                    os.setuid(self.uid)
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    code = 3  # none left
                except OSError:
                    code = 4
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                return
