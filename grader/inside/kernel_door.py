"""The runner's side of a kernel template (``grader/sandbox/kernel_template.py``): its first kernel asked for on the
door the host gave it, instead of launched.

The request is the launch the runner would have made (command, environment, folder) and its kernel output pipe;
the answer is the PID of a kernel already inside this sandbox, with its user, limits and descriptors, and a
child of this process (the sandbox's first).  Any failure, or no door, and the kernel is launched as always.
The door is closed once asked, before any of the notebook's cells runs: nothing the notebook does can reach it.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Int

from grader.inside.protocol import KERNEL_DOOR, send_with_descriptor

ANSWER_TIMEOUT_S = 120.0


class ForkedKernel:
    """What jupyter_client's provisioner needs of its kernel's ``Popen``, for a kernel this process did not
    launch but is the parent of."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not a child of this process (it is, as the sandbox's first): gone?
                if not os.path.exists(f"/proc/{self.pid}"):
                    self.returncode = -signal.SIGKILL
            else:
                if done:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def ask(door_fd: int, cmd: list[str], launch: dict[str, Any]) -> int | None:
    """The PID of the kernel the host forked for ``cmd`` (None, and a line on the log, when it did not)."""
    door = socket.socket(fileno=door_fd)
    try:
        door.settimeout(ANSWER_TIMEOUT_S)
        output = launch.get("stdout")
        if not isinstance(output, int):
            raise OSError("no kernel output pipe to send")
        env = dict(launch.get("env") or os.environ)
        if not launch.get("independent"):
            env["JPY_PARENT_PID"] = str(os.getpid())  # what jupyter_client's launcher adds (1 here: no poller)
        request = {"cmd": [str(a) for a in cmd], "env": env, "cwd": str(launch.get("cwd") or os.getcwd())}
        send_with_descriptor(door, json.dumps(request).encode() + b"\n", output)
        answer = door.makefile("rb").readline(4096)
        reply = json.loads(answer or b'{"error": "the door closed"}')
        if "pid" not in reply:
            raise OSError(str(reply.get("error")))
        return int(reply["pid"])
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"kernel launched, not forked from a template: {exc}\n")
        return None
    finally:
        door.close()


class DoorKernelManager(AsyncKernelManager):
    """A kernel manager whose first launch asks the door (``door_fd``); every later launch is an ordinary one."""

    door_fd = Int(-1)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        door_fd, self.door_fd = self.door_fd, -1
        pid = ask(door_fd, kernel_cmd, kw) if door_fd >= 0 else None
        if pid is None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        provisioner: Any = self.provisioner
        provisioner.process = ForkedKernel(pid)
        provisioner.pid = provisioner.pgid = pid
        provisioner.cwd = kw.get("cwd") or os.getcwd()
        self._reconcile_connection_info(provisioner.connection_info)


def door_of(job: dict) -> int:
    """The door's descriptor the job names (-1: none); made non-inheritable at once."""
    fd = job.get(KERNEL_DOOR)
    if not isinstance(fd, int) or fd < 3:
        return -1
    try:
        os.set_inheritable(fd, False)
    except OSError:
        return -1
    return fd
