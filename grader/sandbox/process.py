"""Running a command with a wall-clock limit, killing its whole process group at the end."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from typing import Callable, Sequence

from .base import SandboxOutcome

LOG_TAIL_BYTES = 8000


def run_limited(argv: Sequence[str], stdin_text: str, timeout_s: float,
                preexec: Callable[[], None] | None = None, env: dict | None = None) -> SandboxOutcome:
    """Run ``argv`` in a new session; kill the session at ``timeout_s``; keep the log's tail only."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as log, tempfile.TemporaryFile() as stdin:
        stdin.write(stdin_text.encode())
        stdin.seek(0)
        process = subprocess.Popen(list(argv), stdin=stdin, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=preexec, env=env)
        timed_out = False
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(process)
        size = log.seek(0, os.SEEK_END)
        log.seek(max(0, size - LOG_TAIL_BYTES))
        tail = log.read().decode("utf-8", "replace")
    return SandboxOutcome(exit_code=None if timed_out else process.returncode, timed_out=timed_out,
                          seconds=time.monotonic() - started, log_tail=tail)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
