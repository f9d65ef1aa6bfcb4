"""The local sandbox: bubblewrap, with no network, limits, and a file system built from an allow-list.

Inside, the student's process sees the system's programs and libraries, the
Python environment (which holds the same ``grader`` helper students have), its
work folder, and the public data sets at the place Keras looks for them.  The
course's solutions, hidden checks and the grader's other folders are simply not
there.  As root, the process also drops to an unprivileged user, so that a
process limit applies and root-only files stay unreadable.
"""
from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Callable

from grader.errors import SandboxUnavailableError
from grader.inside.datasets import SANDBOX_FILES
from grader.sandbox.base import (
    GO,
    INSIDE_EXPORT,
    INSIDE_HOME,
    INSIDE_WORKDIR,
    Sandbox,
    SandboxOutcome,
    SandboxRun,
    StartedRun,
    hard_timeout,
    job_line,
)
from grader.sandbox.gpu import GpuShare
from grader.sandbox.kernel_template import KernelDoor, templates_wanted
from grader.sandbox.process import StartedProcess, kill_user_processes
from grader.sandbox.staging import ExportStaging, WorkStaging
from grader.sandbox.uids import lease_sandbox_uid

SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/opt/conda")
DATASETS = SANDBOX_FILES  # shown at ~/.keras/datasets/<name> when the host has them


def find_bwrap() -> str:
    path = shutil.which("bwrap")
    if not path:
        raise SandboxUnavailableError("bubblewrap is not installed: apt-get install bubblewrap")
    return path


def python_roots() -> list[Path]:
    """The folders the Python environment needs: the interpreter's prefix, the venv and the grader package."""
    import grader

    roots = {Path(sys.base_prefix), Path(sys.prefix), Path(grader.__file__).resolve().parent}
    roots.add(Path(sysconfig.get_paths()["purelib"]).resolve())
    return sorted(r for r in roots if not any(r != o and o in r.parents for o in roots))


def _system_args() -> list[str]:
    args: list[str] = []
    for folder in SYSTEM_DIRS:
        path = Path(folder)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), folder]
        elif path.is_dir():
            args += ["--ro-bind", folder, folder]
    return args


def bwrap_argv(run: SandboxRun, python: str, gpu: GpuShare | None = None, slot: int = 0) -> list[str]:
    """The sandbox's command line; with ``gpu``, the NVIDIA device files and worker ``slot``'s GPU variables."""
    limits = run.limits
    size = str(limits.disk_mb * 2**20)
    # --as-pid-1: the runner is PID 1, as in the container: the kernel cannot kill it, and no bwrap process
    # with the host's paths on its command line is there to be seen.
    argv = [find_bwrap(), "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1",
            "--hostname", "localhost", *_system_args(),
            "--proc", "/proc", "--dev", "/dev",
            *(a for device in (gpu.devices if gpu else ())
              for a in ("--dev-bind", device, f"/dev/{Path(device).name}")),
            "--size", size, "--tmpfs", "/tmp",
            "--size", size, "--tmpfs", "/home"]
    for root in python_roots():
        if not str(root).startswith("/usr/"):
            argv += ["--ro-bind", str(root), str(root)]
    argv += ["--bind", str(run.workdir), INSIDE_WORKDIR,
             "--bind", str(run.export_dir), INSIDE_EXPORT]
    for name, path in DATASETS.items():
        if path.exists():
            argv += ["--ro-bind", str(path), f"{INSIDE_HOME}/.keras/datasets/{name}"]
    argv += ["--chdir", INSIDE_WORKDIR, "--clearenv",
             *(a for name, value in sandbox_environment(python, gpu, slot).items() for a in ("--setenv", name, value)),
             python, "-m", "grader.inside.runner"]
    return argv


def sandbox_environment(python: str, gpu: GpuShare | None = None, slot: int = 0) -> dict[str, str]:
    """The environment of the sandbox's processes (and of the kernel template that forks their kernels)."""
    return {"HOME": INSIDE_HOME, "USER": "student", "LANG": "C.UTF-8",
            "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2",
            **(gpu.environment(slot) if gpu else {})}


def cpu_set(cpus: int, slot: int) -> list[int]:
    """The CPUs of a slot: ``cpus`` of them, so that the thread count (and so the result) never varies."""
    available = sorted(os.sched_getaffinity(0))
    cpus = max(1, min(cpus, len(available)))
    slots = max(1, len(available) // cpus)
    start = (slot % slots) * cpus
    return available[start:start + cpus]


def _limits_preexec(run: SandboxRun, drop_to: int | None, cpus: list[int], gpu: bool = False) -> Callable[[], None]:
    """Limits set in the sandbox's first process. The memory limit is on the address space, or, on the GPU (whose
    driver reserves far more address space than it uses), on the data: heap and private writable mappings."""
    limits = run.limits

    def apply() -> None:
        memory = limits.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_DATA if gpu else resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.disk_mb * 2**20,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.sched_setaffinity(0, cpus)
        if drop_to is not None:
            os.setgroups([])
            os.setgid(drop_to)
            os.setuid(drop_to)
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))

    return apply


class BubblewrapSandbox(Sandbox):
    """Each submission in a fresh bubblewrap sandbox with its own network, PID and IPC namespaces."""

    name = "bubblewrap"

    def __init__(self, python: str | None = None, cpu_slot: int = 0, gpu: GpuShare | None = None) -> None:
        self.python = python or sys.executable
        self.cpu_slot = cpu_slot
        self.gpu = gpu  # the machine's GPUs, shared by the batch's sandboxes (``--gpu``)
        find_bwrap()

    def describe(self) -> str:
        return self.name + (f" (GPU {self.gpu.gpu_of(self.cpu_slot)})" if self.gpu else "")

    def run(self, run: SandboxRun) -> SandboxOutcome:
        return self.start(run).go()

    def start(self, run: SandboxRun) -> StartedRun:
        """Start the sandbox now, its runner waiting for the job (given by ``go``, when its time limit starts):
        a batch's worker starts the next submission's sandbox while the current one runs. A sandbox started is
        that submission's only: its folders, its user, its process.

        As root, its work and export folders are fresh tmpfs mounts of its own (``staging.py``): sized by the disk
        limit, no host path visible inside, and only the wanted files copied out once its processes are dead."""
        lease = lease_sandbox_uid() if os.geteuid() == 0 else None
        drop_to = lease.uid if lease is not None else None
        owner = (drop_to, drop_to) if drop_to is not None else None
        work = export = door = started = None
        try:
            if drop_to is not None:
                for parent in {run.workdir.parent, run.export_dir.parent}:
                    parent.chmod(0o711)  # traversable by the sandbox's user, not listable
            work = WorkStaging(run.workdir, run.limits.disk_mb, owner).__enter__()
            export = ExportStaging(run.export_dir, run.limits.disk_mb, run.evidence_files, owner).__enter__()
            if drop_to is not None:
                for folder in {work.source, export.source, run.workdir, run.export_dir}:
                    _give_to(folder, drop_to)
            staged = dataclasses.replace(run, workdir=work.source, export_dir=export.source)
            watched = tuple(folder.source for folder in (work, export) if not folder.mounted)
            cpus = cpu_set(run.limits.cpus, self.cpu_slot)
            door = (KernelDoor.open(self.python, run.job, sandbox_environment(self.python), len(cpus), drop_to)
                    if self.gpu is None and drop_to is not None and templates_wanted() else None)
            started = StartedProcess(bwrap_argv(staged, self.python, self.gpu, self.cpu_slot),
                                     preexec=_limits_preexec(run, drop_to, cpus, gpu=self.gpu is not None),
                                     first_input=job_line(door.job if door else run.job),
                                     report_bytes=run.report_bytes, pass_fds=door.passed if door else ())
            if door:
                door.serve(started.process)
        except BaseException:
            if started is not None:
                started.cancel()
            if door:
                door.close()
            for staging in (export, work):
                if staging is not None:
                    staging.__exit__(None, None, None)
            if lease is not None and kill_user_processes(lease.uid):
                lease.release()  # kept where something of its user could not be stopped
            raise
        ended = False

        def end() -> None:
            """Nothing of the student's is left running when this returns; then the wanted files are copied out,
            and the run's user is given back (kept, where its processes could not be stopped). Once only: after,
            the user may be another run's."""
            nonlocal ended
            if ended:
                return
            ended = True
            try:
                if lease is not None:
                    if not kill_user_processes(lease.uid):
                        raise SandboxUnavailableError(f"processes of the sandbox's user {lease.uid} could not be"
                                                      " stopped")
                    lease.release()
            finally:
                export.__exit__(None, None, None)
                work.__exit__(None, None, None)

        def go() -> SandboxOutcome:
            try:
                outcome = started.finish(GO, hard_timeout(run.limits), watched=watched,
                                         disk_bytes=run.limits.disk_mb * 2**20)
            finally:
                end()
            return dataclasses.replace(outcome, left_out=export.left_out)

        def cancel() -> None:
            try:
                started.cancel()
            finally:
                end()

        return StartedRun(go, cancel)


def _give_to(folder: Path, uid: int) -> None:
    os.chown(folder, uid, uid)
    for path in folder.rglob("*"):
        os.chown(path, uid, uid, follow_symlinks=False)
