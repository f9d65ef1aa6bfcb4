"""Running a command with a wall-clock limit and a disk budget, killing its whole process group at the end."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Callable, Sequence

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


class OutputTail:
    """Reads a stream to its end in a thread, keeping only its last bytes (output may be huge)."""

    def __init__(self, stream: IO[bytes], keep: int = LOG_TAIL_BYTES) -> None:
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.keep = keep
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            for chunk in iter(lambda: stream.read(65536), b""):
                self.chunks.append(chunk)
                self.size += len(chunk)
                while self.size - len(self.chunks[0]) >= self.keep:
                    self.size -= len(self.chunks.popleft())
        except (ValueError, OSError):
            pass  # closed by cancel(): a sandbox ended unused has nothing more to say

    def text(self, timeout: float = 5) -> str:
        self.thread.join(timeout)
        return b"".join(self.chunks)[-self.keep:].decode("utf-8", "replace")


class InputWriter:
    """Writes a process's first input in a thread (a job larger than a pipe's buffer does not hold up the caller
    while the process starts), and the rest with ``finish``, in a thread too, which then closes its input: a
    process that never reads its input holds up no one (its time limit runs meanwhile)."""

    def __init__(self, stream: IO[bytes], first: str) -> None:
        self.stream = stream
        self.thread = threading.Thread(target=self._write, args=(first,), daemon=True)
        self.thread.start()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text.encode())
            self.stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # it ended before reading its input: its exit code says how

    def finish(self, text: str) -> None:
        first = self.thread

        def rest() -> None:
            first.join()
            self._write(text)
            try:
                self.stream.close()
            except (BrokenPipeError, OSError, ValueError):
                pass

        self.thread = threading.Thread(target=rest, daemon=True)
        self.thread.start()


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


class StartedProcess:
    """A sandbox's process started ahead of its job: it starts up (bubblewrap, the interpreter, the runner's
    imports) and then waits for the job on its standard input, a pipe. Its limits start with ``finish``."""

    def __init__(self, argv: Sequence[str], preexec: Callable[[], None] | None = None,
                 env: dict | None = None, first_input: str = "", cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec,
                                        env=env, cwd=cwd)
        self.tail = OutputTail(self.process.stdout)
        self.writer = InputWriter(self.process.stdin, first_input)

    def finish(self, stdin_text: str, timeout_s: float, watched: Sequence[Path] = (),
               disk_bytes: int | None = None) -> SandboxOutcome:
        """Give it its job; kill it at ``timeout_s`` from now or when ``watched`` folders pass ``disk_bytes``."""
        started = time.monotonic()
        self.writer.finish(stdin_text)
        try:
            stopped_for = watch(self.process, started, timeout_s, watched, disk_bytes)
        finally:
            _kill_group(self.process)
        text = self.tail.text()
        if not self.tail.thread.is_alive():  # else a leftover process still holds the pipe: the thread keeps it
            self.process.stdout.close()
        return SandboxOutcome(exit_code=None if stopped_for else self.process.returncode,
                              timed_out=stopped_for == "time", seconds=time.monotonic() - started, log_tail=text,
                              stopped_for=stopped_for)

    def cancel(self) -> None:
        _kill_group(self.process)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


def run_limited(argv: Sequence[str], stdin_text: str, timeout_s: float,
                preexec: Callable[[], None] | None = None, env: dict | None = None,
                watched: Sequence[Path] = (), disk_bytes: int | None = None) -> SandboxOutcome:
    """Run ``argv`` in a new session; kill it at ``timeout_s`` or when ``watched`` folders pass ``disk_bytes``.

    Its output goes through a pipe of which only the tail is kept: nothing it prints lands on the host's disk.
    """
    return StartedProcess(argv, preexec, env).finish(stdin_text, timeout_s, watched, disk_bytes)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
