"""The one small interface every sandbox implements."""
from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from grader.spec import Limits

# Where things are inside every sandbox.  Nothing here says "grading": the export folder is Jupyter's own
# runtime folder (where every kernel's connection file goes), and the exports appear in it only when a
# task's variables are exported, after its last cell.
INSIDE_HOME = "/home/student"
INSIDE_WORKDIR = "/home/student/work"
INSIDE_EXPORT = "/home/student/.local/share/jupyter/runtime"


@dataclass(frozen=True)
class SandboxRun:
    """One notebook to execute: the folders on the host, the runner's job and the limits."""

    workdir: Path
    export_dir: Path
    job: Mapping[str, Any]
    limits: Limits
    report_bytes: int = 2**20  # the most the runner's report may take (``protocol.max_report_bytes``)
    evidence_files: Mapping[str, int] = field(default_factory=dict)  # what the host reads of the export folder


@dataclass(frozen=True)
class SandboxOutcome:
    """How the sandboxed process ended, as seen from outside."""

    exit_code: int | None
    timed_out: bool
    seconds: float
    log_tail: str
    stopped_for: str | None = None  # "time" or "disk" when the sandbox was killed at a limit
    report: bytes | None = None  # what the runner wrote on its own channel; None when it passed its limit
    left_out: Mapping[str, str] = field(default_factory=dict)  # export files not copied out, and why


class Sandbox(abc.ABC):
    """Runs ``python -m grader.inside.runner`` on a job, isolated from the host."""

    name: str = "sandbox"

    @abc.abstractmethod
    def run(self, run: SandboxRun) -> SandboxOutcome:
        """Execute the job; return when it ended or was killed at the wall-clock limit."""

    def start(self, run: SandboxRun) -> "StartedRun":
        """Start what can start before the job is given (a sandbox that cannot: nothing, until ``go``)."""
        return StartedRun(lambda: self.run(run))

    def describe(self) -> str:
        """The sandbox, in a line for a person (which engine or image, which GPU)."""
        return self.name


class StartedRun:
    """A sandbox run started ahead: ``go`` gives it its job and waits for the outcome; ``cancel`` ends it."""

    def __init__(self, go: Callable[[], SandboxOutcome], cancel: Callable[[], None] = lambda: None) -> None:
        self._go = go
        self._cancel = cancel

    def go(self) -> SandboxOutcome:
        return self._go()

    def cancel(self) -> None:
        self._cancel()


GO = "go\n"  # the runner's second line of input: the notebook's turn has come (its time limit starts)


def job_line(job: Mapping[str, Any]) -> str:
    """The runner's first line of input: its job (it starts the kernel on it, then waits for ``GO``)."""
    return json.dumps(dict(job)) + "\n"


def hard_timeout(limits: Limits) -> float:
    """The wall-clock limit of the whole sandboxed process: the notebook's, plus exports and start-up."""
    return limits.notebook_timeout_s + 180.0
