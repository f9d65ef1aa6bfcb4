"""The processes of a sandbox run's own user, as the host finds and kills them once the run ends: a zombie has
ended (it is not waited for: its parent may be an init that collects it seconds later), a process whose first
thread ended while another thread runs has not."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from grader.sandbox.process import kill_if_of, kill_user_processes, user_processes

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a process of another user needs root")
UID = 190_000 + os.getpid() % 1000  # below the sandboxes' own (700,000,000 and up): no sandbox run has it


def as_user(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(list(argv), user=UID, group=UID, extra_groups=[], cwd="/")


def python_as_user(code: str) -> subprocess.Popen:
    """The interpreter itself, isolated (no site, no venv): nothing of this checkout need be readable by UID."""
    return as_user(os.path.realpath(sys.executable), "-I", "-S", "-c", code)


def state_of(pid: int) -> str:
    with open(f"/proc/{pid}/status") as status:
        return next(line.split()[1] for line in status if line.startswith("State:"))


def shows_as_zombie(pid: int, within_s: float = 10) -> bool:
    """Whether ``pid``'s state is Z within ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while state_of(pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.02)
    return state_of(pid) == "Z"


def test_a_zombie_of_the_user_has_ended_and_is_not_waited_for():
    running, ended = as_user("sleep", "60"), as_user("true")
    try:
        assert shows_as_zombie(ended.pid)
        assert user_processes(UID) == [running.pid]
        began = time.monotonic()
        assert kill_user_processes(UID)
        assert time.monotonic() - began < 1, "waited for a zombie that nobody collects"
        assert running.wait(5) == -9 and state_of(ended.pid) == "Z"  # killed; the zombie left for its parent
    finally:
        for process in (running, ended):
            process.kill()
            process.wait()


def test_a_process_whose_first_thread_ended_while_another_runs_is_still_running():
    """It shows as a zombie (its first thread's state), and still runs code in its other threads."""
    process = python_as_user("import ctypes, threading, time\n"
                             "threading.Thread(target=time.sleep, args=(60,)).start()\n"
                             "ctypes.CDLL(None).pthread_exit(None)")
    try:
        assert shows_as_zombie(process.pid)
        assert user_processes(UID) == [process.pid]
        assert kill_user_processes(UID)
        assert process.wait(5) == -9 and user_processes(UID) == []
    finally:
        process.kill()
        process.wait()


def test_a_process_is_killed_only_while_its_user_is_the_one_named():
    """The user is read again through a descriptor that holds the process (a pidfd): a PID listed as the
    sandbox user's and reused by another user's process before the signal is not signalled."""
    process = as_user("sleep", "60")
    try:
        kill_if_of(process.pid, UID + 1)  # as if the PID now belonged to another user
        time.sleep(0.1)
        assert process.poll() is None, "killed a process of another user"
        kill_if_of(process.pid, UID)
        assert process.wait(5) == -9
    finally:
        process.kill()
        process.wait()
