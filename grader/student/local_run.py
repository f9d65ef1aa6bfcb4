"""A notebook run on the student's own machine, for ``grader submit --dry-run``: no sandbox, a fresh kernel with the
grader's limits, those this system can apply.

On the student's machine the code is the student's own: what a dry run needs is not isolation but the grader's
conditions, a fresh kernel that runs the notebook from the top with the grader's time limits, in a folder that
holds only the notebook and ``public_checks.json``.  The same runner as in the sandboxes (``grader.inside.runner``) runs
it, so a cell that raises, runs too long or kills its kernel reads as it will in grading.  It runs on the CPU, as
the grader does.  What cannot be applied here is said (``LocalLimits``): never the grader's isolation (network,
files, user), nor a process limit (one counted per user would count the student's other programs).

This is never a sandbox for grading: ``grader/sandbox/select.py`` does not know it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from grader.sandbox.base import (
    GO,
    INSIDE_EXPORT,
    INSIDE_WORKDIR,
    Sandbox,
    SandboxOutcome,
    SandboxRun,
    StartedRun,
    hard_timeout,
    job_line,
)
from grader.sandbox.process import ChannelReader, InputWriter, OutputTail, watch
from grader.spec import Limits

LOCAL = "local"
SUBMIT_SANDBOXES = ("auto", LOCAL, "container", "bubblewrap")  # where ``grader submit --dry-run`` may run
ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}
DROPPED = ("JPY_",)  # what a Jupyter server running this command set for its own kernel: not the fresh kernel's


@dataclass(frozen=True)
class LocalLimits:
    """The grader's limits as this machine applies them: in sentences, those applied and those not."""

    applied: tuple[str, ...]
    not_applied: tuple[str, ...]
    memory: bool  # the memory limit is applied (RLIMIT_AS, Linux)
    cpus: tuple[int, ...]  # the CPUs the run is bound to (Linux); () when it is not bound


def local_limits(limits: Limits, platform: str = sys.platform) -> LocalLimits:
    """Which of ``limits`` a run on this machine applies, and which not, and why."""
    linux = platform.startswith("linux")
    cpus: tuple[int, ...] = ()
    if linux and hasattr(os, "sched_getaffinity"):
        cpus = tuple(sorted(os.sched_getaffinity(0))[:max(1, limits.cpus)])
    applied = [f"{limits.cell_timeout_s:g} s a cell and {limits.notebook_timeout_s:g} s for the whole notebook",
               f"{limits.max_output_bytes:,} bytes of output",
               f"{limits.disk_mb:,} MB of files written in the notebook's folder"]
    not_applied = []
    memory = linux and _can_limit_memory(limits.memory_mb)
    if memory:
        applied.append(f"{limits.memory_mb:,} MB of memory")
    else:
        not_applied.append(f"the limit of {limits.memory_mb:,} MB of memory: {_system(platform)} cannot limit a"
                           " program's memory this way; a notebook that needs more runs here and fails in grading")
    if cpus:
        total = len(os.sched_getaffinity(0))
        applied.append(f"{len(cpus)} CPU{'s' if len(cpus) != 1 else ''}"
                       + (f" (of this machine's {total})" if total > len(cpus) else ""))
    else:
        not_applied.append(f"the limit of {limits.cpus} CPU{'s' if limits.cpus != 1 else ''}: {_system(platform)}"
                           " cannot bind a program to some CPUs; here it may run faster than in grading")
    applied.append("the CPU only, no GPU, as the grader runs it")
    not_applied += [
        f"the limit of {limits.max_processes} processes: here such a limit would count every program you run",
        "the grader's lack of network: here the notebook could download; in grading it cannot, and only the data"
        " sets the grader installs are there",
        "the grader's isolation: here the notebook could read your other files by their full path; in grading"
        " they are not there",
    ]
    return LocalLimits(tuple(applied), tuple(not_applied), memory, cpus)


def _system(platform: str) -> str:
    return {"darwin": "macOS", "win32": "Windows"}.get(platform, "this system")


def _can_limit_memory(memory_mb: int) -> bool:
    """Whether the address space can be limited to ``memory_mb`` (not when a lower hard limit is set already)."""
    try:
        import resource
    except ImportError:
        return False
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    return hard == resource.RLIM_INFINITY or hard >= memory_mb * 2**20


def _preexec(limits: Limits, local: LocalLimits) -> Callable[[], None] | None:
    """The limits set in the runner's process before it starts (POSIX only), inherited by its kernel."""
    if os.name != "posix":
        return None
    memory = limits.memory_mb * 2**20
    file_size = limits.disk_mb * 2**20

    def apply() -> None:
        import resource

        if local.memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        if hard == resource.RLIM_INFINITY or hard >= file_size:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        if local.cpus:
            os.sched_setaffinity(0, local.cpus)

    return apply


def local_job(run: SandboxRun) -> dict:
    """The runner's job with the sandbox's folders replaced by this machine's."""
    job = dict(run.job)
    for key in ("notebook", "workdir", "export_dir"):
        value = str(job[key])
        for inside, here in ((INSIDE_WORKDIR, run.workdir), (INSIDE_EXPORT, run.export_dir)):
            if value == inside or value.startswith(inside + "/"):
                value = str(here) + value[len(inside):]
        job[key] = value
    return job


def runner_environment(base: dict | None = None) -> dict:
    """The student's own environment (their home, where Keras keeps the data sets it downloaded), the grader's
    package importable where it is now, without what a Jupyter server set for its own kernel, on the CPU."""
    import grader

    env = {k: v for k, v in (base if base is not None else os.environ).items() if not k.startswith(DROPPED)}
    package_root = Path(grader.__file__).resolve().parent.parent
    if Path(sys.path[0] or os.getcwd()).resolve() == package_root:  # found in the current folder, not installed:
        # the runner starts in another folder, so it is told where (an installed grader needs nothing, and its
        # site-packages put before the standard library could shadow it)
        env["PYTHONPATH"] = os.pathsep.join([str(package_root), *filter(None, [env.get("PYTHONPATH")])])
    env.update(ENVIRONMENT)
    return env


class LocalProcess:
    """The runner, started on this machine in a process group of its own, waiting for its job."""

    def __init__(self, argv: Sequence[str], env: dict, cwd: Path, first_input: str, report_bytes: int,
                 preexec: Callable[[], None] | None) -> None:
        options: dict[str, Any]
        if os.name == "posix":
            options = {"start_new_session": True, "preexec_fn": preexec}
        else:
            options = {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
        self.process = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=env, cwd=cwd, **options)
        stdin, stdout, stderr = self.process.stdin, self.process.stdout, self.process.stderr
        assert stdin is not None and stdout is not None and stderr is not None  # (started with three pipes)
        self.channel = ChannelReader(stdout, report_bytes)
        self.tail = OutputTail(stderr)
        self.writer = InputWriter(stdin, first_input)

    def finish(self, text: str, timeout_s: float, watched: Sequence[Path], disk_bytes: int) -> SandboxOutcome:
        started = time.monotonic()
        self.writer.finish(text)
        try:
            stopped_for = watch(self.process, started, timeout_s, watched, disk_bytes)
        finally:
            if self.process.poll() is None:
                stop_tree(self.process.pid)
            self.process.wait()
        report = self.channel.value()
        return SandboxOutcome(exit_code=None if stopped_for else self.process.returncode,
                              timed_out=stopped_for == "time", seconds=time.monotonic() - started,
                              log_tail=self.tail.text(), stopped_for=stopped_for, report=report)

    def cancel(self) -> None:
        if self.process.poll() is None:
            stop_tree(self.process.pid)
        self.process.wait()


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid`` and by those, as ``ps`` lists them (none where ``ps`` is missing)."""
    try:
        listing = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True,
                                 timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    children: dict[int, list[int]] = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 2 and all(f.isdigit() for f in fields):
            children.setdefault(int(fields[1]), []).append(int(fields[0]))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.append(child)
                stack.append(child)
    return found


def stop_tree(pid: int) -> None:
    """Kill the runner and everything it started: its process group, and its kernel, which Jupyter starts in a
    session of its own (a kernel left behind also ends by itself when it sees its parent gone)."""
    if os.name != "posix":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(pid)], capture_output=True, check=False)
        return
    below = descendants(pid)
    for kill, target in ((os.killpg, pid), *((os.kill, child) for child in below)):
        try:
            kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class LocalRun(Sandbox):
    """The notebook in a fresh kernel on this machine, with the limits ``local_limits`` says it applies."""

    name = LOCAL

    def __init__(self, python: str | None = None, why: str = "") -> None:
        self.python = python or sys.executable
        self.why = why  # why no sandbox was taken (auto), for the report

    def describe(self) -> str:
        return "this machine, without a sandbox"

    def limits_of(self, limits: Limits) -> LocalLimits:
        return local_limits(limits)

    def run(self, run: SandboxRun) -> SandboxOutcome:
        return self.start(run).go()

    def start(self, run: SandboxRun) -> StartedRun:
        local = self.limits_of(run.limits)
        process = LocalProcess([self.python, "-m", "grader.inside.runner"], runner_environment(), run.workdir,
                               job_line(local_job(run)), run.report_bytes, _preexec(run.limits, local))

        def go() -> SandboxOutcome:
            return process.finish(GO, hard_timeout(run.limits), watched=(run.workdir, run.export_dir),
                                  disk_bytes=run.limits.disk_mb * 2**20)

        return StartedRun(go, process.cancel)
