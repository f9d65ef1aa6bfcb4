"""Running a command with a wall-clock limit and a disk budget, killing its whole process group at the end."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

from .base import SandboxOutcome

LOG_TAIL_BYTES = 8000
POLL_S = 0.5
MAX_ENTRIES = 100_000


def folder_bytes(folders: Sequence[Path]) -> int:
    """Disk used under ``folders`` (links not followed); past MAX_ENTRIES entries, counted as over any budget."""
    total, entries = 0, 0
    stack = [str(f) for f in folders]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    entries += 1
                    if entries > MAX_ENTRIES:
                        return 2**62
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


def watch(process: subprocess.Popen, started: float, timeout_s: float, watched: Sequence[Path] = (),
          disk_bytes: int | None = None) -> str | None:
    """Wait for ``process``; return "time" or "disk" as soon as a limit is passed (None when it ended)."""
    while process.poll() is None:
        if time.monotonic() - started > timeout_s:
            return "time"
        if disk_bytes is not None and watched and folder_bytes(watched) > disk_bytes:
            return "disk"
        try:
            process.wait(timeout=POLL_S)
        except subprocess.TimeoutExpired:
            pass
    return None


def run_limited(argv: Sequence[str], stdin_text: str, timeout_s: float,
                preexec: Callable[[], None] | None = None, env: dict | None = None,
                watched: Sequence[Path] = (), disk_bytes: int | None = None) -> SandboxOutcome:
    """Run ``argv`` in a new session; kill it at ``timeout_s`` or when ``watched`` folders pass ``disk_bytes``."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as log, tempfile.TemporaryFile() as stdin:
        stdin.write(stdin_text.encode())
        stdin.seek(0)
        process = subprocess.Popen(list(argv), stdin=stdin, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=preexec, env=env)
        try:
            stopped_for = watch(process, started, timeout_s, watched, disk_bytes)
        finally:
            _kill_group(process)
        size = log.seek(0, os.SEEK_END)
        log.seek(max(0, size - LOG_TAIL_BYTES))
        tail = log.read().decode("utf-8", "replace")
    return SandboxOutcome(exit_code=None if stopped_for else process.returncode, timed_out=stopped_for == "time",
                          seconds=time.monotonic() - started, log_tail=tail, stopped_for=stopped_for)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
