"""Kernel templates on the host: each submission's kernel forked, already imported, into its own sandbox.

A kernel's start costs a Python process and the imports of ipykernel (0.3 core-seconds) and, for the notebooks
that use it, TensorFlow (3 to 4 core-seconds): every submission paid them.  A template
(``grader/sandbox/template_process.py``) pays them once per grading process and forks a kernel per submission,
which joins that submission's sandbox, user and limits before anything of the submission exists in it.

The way a request travels: the runner, inside its sandbox, asks on a socket the host gave it (its *door*) for
its kernel, sending the launch it would have made (command, environment, folder) and its kernel output pipe;
:func:`serve_door` (a thread on the host) checks the request, names the sandbox's first process itself (the
runner cannot name another) and passes it to the template, whose answer (the kernel's PID, or why not) goes
back through the door.  The runner closes its door once its kernel runs, before the notebook's first cell;
a runner that gets no kernel so launches one itself, as before.

Only as root (joining a sandbox's namespaces needs it), with bubblewrap, without a GPU (a fork after CUDA's
start is not safe), and unless ``GRADER_KERNEL_TEMPLATE=0``.
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

from grader.inside.protocol import KERNEL_DOOR, send_with_descriptor

DISABLE_ENV = "GRADER_KERNEL_TEMPLATE"
REQUEST_BYTES = 1 << 18
# The host answers a runner within LOCK_WAIT_S + START_TIMEOUT_S + REPLY_TIMEOUT_S (90 s), before the runner gives
# up (``kernel_door.ANSWER_TIMEOUT_S``, 120 s) and launches its kernel itself: no fork arrives in a sandbox after.
LOCK_WAIT_S = 30.0
START_TIMEOUT_S = 45.0  # the template's imports (TensorFlow's: 4 s here)
REPLY_TIMEOUT_S = 15.0  # a fork into a sandbox (milliseconds)
KERNEL_MODULE = "ipykernel_launcher"


def templates_wanted() -> bool:
    """Whether kernels come from templates here (root on Linux, not switched off)."""
    return (sys.platform.startswith("linux") and os.geteuid() == 0
            and os.environ.get(DISABLE_ENV, "1").strip().lower() not in ("0", "false", "no", "off"))


def template_environment(sandbox: Mapping[str, str]) -> dict[str, str]:
    """The environment the template imports in: the sandbox's, as ipykernel completes it before a kernel's first
    cell (the Matplotlib backend that shows figures inline, read by Matplotlib at its import)."""
    return {"MPLBACKEND": "module://matplotlib_inline.backend_inline", **sandbox}


class KernelTemplate:
    """One template process (started on first use) that has imported ``imports``, with the sandbox's
    environment; one request at a time."""

    def __init__(self, python: str, environment: Mapping[str, str], imports: Sequence[str], cpus: int = 1) -> None:
        self.python = python
        self.environment = dict(environment)
        self.imports = list(imports)
        self.cpus = cpus  # a sandbox's: libraries size their thread pools by the CPUs they see at import
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.socket: socket.socket | None = None
        self.reader: Any = None
        self.failed: str | None = None

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [self.python, "-m", "grader.sandbox.template_process"], stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=template_environment(self.environment),
                cwd="/", start_new_session=True)
        ours.settimeout(START_TIMEOUT_S)
        self.socket = ours
        self.reader = ours.makefile("rb")
        ours.sendall(json.dumps({"imports": self.imports, "cpus": self.cpus}).encode() + b"\n")
        if json.loads(self.reader.readline() or b"{}").get("ready") is not True:
            raise OSError("the kernel template did not start")
        ours.settimeout(REPLY_TIMEOUT_S)

    def kernel(self, target: int, uid: int, launch: Mapping[str, Any], output_fd: int) -> int:
        """Fork a kernel into the sandbox whose first process is ``target`` (a host PID, of the run's own user
        ``uid``); its PID there."""
        if not self.lock.acquire(timeout=LOCK_WAIT_S):
            raise OSError("the kernel template is busy")
        try:
            if self.failed:
                raise OSError(self.failed)
            try:
                if self.process is None:
                    self._start()
                assert self.socket is not None
                line = json.dumps({**launch, "target": target, "uid": uid}).encode() + b"\n"
                send_with_descriptor(self.socket, line, output_fd)
                reply = json.loads(self.reader.readline() or b'{"error": "the kernel template ended"}')
            except (OSError, ValueError) as exc:
                self.failed = f"kernel template unusable: {exc}"
                self.close()
                raise OSError(self.failed) from exc
        finally:
            self.lock.release()
        if "pid" not in reply:
            raise OSError(str(reply.get("error", "no kernel")))
        return int(reply["pid"])

    def close(self) -> None:
        """The template ended, with any fork of it still on its way into a sandbox (its process group)."""
        sock, process, self.socket, self.process = self.socket, self.process, None, None
        if sock is not None:
            sock.close()
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()


class KernelTemplates:
    """The grading process's templates, one per set of imports, shared by its sandboxes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.templates: dict[tuple[str, str, tuple[str, ...], int], KernelTemplate] = {}
        atexit.register(self.close)

    def get(self, python: str, environment: Mapping[str, str], imports: Sequence[str], cpus: int) -> KernelTemplate:
        key = (python, json.dumps(dict(environment), sort_keys=True), tuple(sorted(imports)), cpus)
        with self.lock:
            if key not in self.templates:
                self.templates[key] = KernelTemplate(python, environment, sorted(imports), cpus)
            return self.templates[key]

    def close(self) -> None:
        with self.lock:
            for template in self.templates.values():
                template.close()
            self.templates.clear()


TEMPLATES = KernelTemplates()


def first_process(launcher_pid: int) -> int:
    """The sandbox's first process: bubblewrap's only child (``--as-pid-1``)."""
    children = Path(f"/proc/{launcher_pid}/task/{launcher_pid}/children").read_text().split()
    if len(children) != 1:
        raise OSError(f"bubblewrap has {len(children)} children, not 1")
    return int(children[0])


def checked_launch(request: Any, python: str) -> dict[str, Any]:
    """The launch a runner asked for, if it is a kernel's launch (its command the usual ``python -m
    ipykernel_launcher -f FILE`` with this Python, then options such as nbclient's
    ``--HistoryManager.hist_file=:memory:``; strings only): what is passed on, and nothing else."""
    if not isinstance(request, dict):
        raise ValueError("not a request")
    cmd, env, cwd = request.get("cmd"), request.get("env"), request.get("cwd")
    if (not isinstance(cmd, list) or not 5 <= len(cmd) <= 12 or not all(isinstance(a, str) for a in cmd)
            or cmd[1:4] != ["-m", KERNEL_MODULE, "-f"] or not all(a.startswith("--") for a in cmd[5:])):
        raise ValueError("not a kernel's launch")
    if os.path.realpath(cmd[0]) != os.path.realpath(python):
        raise ValueError(f"not the sandbox's Python: {cmd[0][:200]}")
    if not isinstance(env, dict) or len(env) > 500 or not all(
            isinstance(k, str) and isinstance(v, str) and "\0" not in k + v and "=" not in k for k, v in env.items()):
        raise ValueError("not an environment")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise ValueError("not a folder")
    return {"cmd": cmd, "env": env, "cwd": cwd}


def serve_door(door: socket.socket, launcher: subprocess.Popen, uid: int, template: KernelTemplate,
               python: str) -> None:
    """Answer the one request a sandbox's runner may make on its door, then close it (a thread's work)."""
    fds: list[int] = []
    try:
        data = b""
        while not data.endswith(b"\n") and len(data) < REQUEST_BYTES:
            chunk, more, _flags, _address = socket.recv_fds(door, REQUEST_BYTES, 1)
            fds += more
            if not chunk:
                return
            data += chunk
        try:
            if len(fds) != 1:
                raise ValueError("no kernel output pipe")
            launch = checked_launch(json.loads(data), python)
            reply: dict[str, Any] = {"pid": template.kernel(first_process(launcher.pid), uid, launch, fds[0])}
        except (OSError, ValueError) as exc:
            reply = {"error": str(exc)[:300]}
        door.sendall(json.dumps(reply).encode() + b"\n")
    except OSError:
        pass  # the sandbox ended first
    finally:
        for fd in fds:
            os.close(fd)
        door.close()


class KernelDoor:
    """One sandbox's door: a socket pair whose sandbox end the runner inherits (the job names its descriptor),
    and the host's thread that answers on the other end."""

    def __init__(self, python: str, job: Mapping[str, Any], template: KernelTemplate, uid: int) -> None:
        self.python = python
        self.template = template
        self.uid = uid  # the run's own user: the sandbox's processes are its
        self.host, self.sandbox = socket.socketpair()
        self.job = {**job, KERNEL_DOOR: self.sandbox.fileno()}
        self.passed = (self.sandbox.fileno(),)

    @classmethod
    def open(cls, python: str, job: Mapping[str, Any], environment: Mapping[str, str], cpus: int,
             uid: int) -> "KernelDoor":
        imports = [m for m in job.get("warm_imports", ()) if isinstance(m, str)]
        return cls(python, job, TEMPLATES.get(python, environment, imports, cpus), uid)

    def serve(self, launcher: subprocess.Popen) -> None:
        """The sandbox started (``launcher``: bubblewrap): answer its runner's request in a thread."""
        self.sandbox.close()
        threading.Thread(target=serve_door, args=(self.host, launcher, self.uid, self.template, self.python),
                         daemon=True).start()

    def close(self) -> None:
        self.sandbox.close()
        self.host.close()
