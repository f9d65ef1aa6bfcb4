"""Running a command with a wall-clock limit and a disk budget, killing its whole process group at the end.

Its standard output is the runner's channel (``grader/inside/protocol.py``), read whole up to a limit; its standard
error is its log, of which only the tail is kept."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Callable, Sequence

from grader.sandbox.base import SandboxOutcome

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


class ChannelReader:
    """Reads a stream to its end in a thread, keeping at most ``limit`` bytes; past that it keeps reading (the
    writer never blocks) and remembers that it was cut."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.data = bytearray()
        self.limit = limit
        self.cut = False
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            for chunk in iter(lambda: stream.read(65536), b""):
                room = self.limit - len(self.data)
                if len(chunk) > room:
                    self.cut = True
                self.data += chunk[:max(room, 0)]
        except (ValueError, OSError):
            pass  # closed by cancel()

    def value(self, timeout: float = 5) -> bytes | None:
        """What was read (None when it was cut at the limit, or the stream is still open after ``timeout``)."""
        self.thread.join(timeout)
        if self.cut or self.thread.is_alive():
            return None
        return bytes(self.data)


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
                 env: dict | None = None, first_input: str = "", cwd: Path | None = None,
                 report_bytes: int = 2**20, pass_fds: Sequence[int] = ()) -> None:
        self.process = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec,
                                        env=env, cwd=cwd, pass_fds=tuple(pass_fds))
        assert self.process.stdin and self.process.stdout and self.process.stderr  # PIPE: all three are there
        self.stdin, self.stdout, self.stderr = self.process.stdin, self.process.stdout, self.process.stderr
        self.channel = ChannelReader(self.stdout, report_bytes)
        self.tail = OutputTail(self.stderr)
        self.writer = InputWriter(self.stdin, first_input)

    def finish(self, stdin_text: str, timeout_s: float, watched: Sequence[Path] = (),
               disk_bytes: int | None = None) -> SandboxOutcome:
        """Give it its job; kill it at ``timeout_s`` from now or when ``watched`` folders pass ``disk_bytes``."""
        started = time.monotonic()
        self.writer.finish(stdin_text)
        try:
            stopped_for = watch(self.process, started, timeout_s, watched, disk_bytes)
        finally:
            _kill_group(self.process)
        report = self.channel.value()
        text = self.tail.text()
        for reader, stream in ((self.tail, self.stderr), (self.channel, self.stdout)):
            if not reader.thread.is_alive():  # else a leftover process still holds the pipe: the thread keeps it
                stream.close()
        return SandboxOutcome(exit_code=None if stopped_for else self.process.returncode,
                              timed_out=stopped_for == "time", seconds=time.monotonic() - started, log_tail=text,
                              stopped_for=stopped_for, report=report)

    def cancel(self) -> None:
        _kill_group(self.process)
        for stream in (self.stdin, self.stdout, self.stderr):
            try:
                stream.close()
            except OSError:
                pass


def run_limited(argv: Sequence[str], stdin_text: str, timeout_s: float,
                preexec: Callable[[], None] | None = None, env: dict | None = None,
                watched: Sequence[Path] = (), disk_bytes: int | None = None,
                report_bytes: int = 2**20) -> SandboxOutcome:
    """Run ``argv`` in a new session; kill it at ``timeout_s`` or when ``watched`` folders pass ``disk_bytes``.

    Its log goes through a pipe of which only the tail is kept, its report through one read up to
    ``report_bytes``: nothing it prints lands on the host's disk.
    """
    return StartedProcess(argv, preexec, env, report_bytes=report_bytes).finish(stdin_text, timeout_s, watched,
                                                                              disk_bytes)


def user_processes(uid: int) -> list[int]:
    """The running processes whose real user is ``uid`` (read from /proc; a process that ends meanwhile is skipped).

    A zombie is not one: it has ended, its memory, files and namespaces released, and only waits for its parent to
    collect its exit status. A sandbox's first process killed after its launcher is reparented to the host's init,
    which may take seconds to collect it (two, on these machines: every cancelled sandbox waited for that). But a
    process whose first thread ended while others run shows as a zombie too: it counts while it has threads."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as handle:
                fields = dict(line.split(b":", 1) for line in handle
                              if line.startswith((b"State:", b"Uid:", b"Threads:")))
        except (OSError, ValueError):
            continue
        uids, state, threads = (fields.get(name, b"").split() for name in (b"Uid", b"State", b"Threads"))
        ended = state[:1] == [b"Z"] and threads == [b"1"]  # 0: a task already released, its PID maybe reused
        if uids and uids[0] == str(uid).encode() and not ended:
            found.append(int(entry.name))
    return found


def kill_user_processes(uid: int, timeout_s: float = 10.0) -> bool:
    """SIGKILL every process of ``uid`` (a sandbox run's own user, however its processes left the sandbox's
    process group), until none is left; whether none is. Only root may: it is a no-op for anyone else."""
    if os.geteuid() != 0 or uid == 0:
        return False
    deadline = time.monotonic() + timeout_s
    while True:
        left = user_processes(uid)
        if not left:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in left:
            kill_if_of(pid, uid)
        time.sleep(0.02)


def kill_if_of(pid: int, uid: int) -> None:
    """SIGKILL the process ``pid`` if its real user is still ``uid``: held by a descriptor of its own (a pidfd)
    while its user is read again, so that a PID reused meanwhile by another user's process (the listing and the
    signal are apart) is never signalled. Where the kernel has no pidfd (before 5.3), by PID, as before."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):  # no pidfd here
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return
    try:
        if real_user_of(pid) == uid:  # the process the descriptor holds, while it lives
            signal.pidfd_send_signal(handle, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    finally:
        os.close(handle)


def real_user_of(pid: int) -> int | None:
    """The real user of process ``pid`` (None when it has ended)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
