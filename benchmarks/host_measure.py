"""What the benchmarks of hostile files measure in the process that reads them: its peak memory, and the disk a
folder (its TMPDIR) held at most while it read."""
from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path


def peak_rss() -> int:
    """This process's peak resident bytes: ``VmHWM``, the peak of its own memory since its ``exec``.

    Not ``ru_maxrss``: Linux keeps in it the larger of that and the peak of the memory the process had before its
    ``exec``, which for a child of ``subprocess`` is the parent's whole resident memory (fork, or vfork sharing
    it); a parent of 500 MB makes every child's ``ru_maxrss`` at least 500 MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def folder_bytes(folder: Path) -> int:
    """Bytes on disk under ``folder`` (blocks, not apparent sizes: a sparse file counts for what it holds)."""
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


class FolderPeak:
    """Within ``with``: the most bytes ``folder`` held at once (polled every ``interval`` seconds, and at the end)."""

    def __init__(self, folder: Path, interval: float = 0.005) -> None:
        self.folder = folder
        self.interval = interval
        self.bytes = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._done.is_set():
            self.bytes = max(self.bytes, folder_bytes(self.folder))
            time.sleep(self.interval)

    def __enter__(self) -> "FolderPeak":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()
        self.bytes = max(self.bytes, folder_bytes(self.folder))


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def cpu_accounts_here() -> bool:
    """Whether a command's CPU can be counted with all its descendants: cgroup v1's cpuacct, writable (root)."""
    return CPUACCT.is_dir() and os.access(CPUACCT, os.W_OK)


class CpuAccount:
    """A cgroup of its own: every process started in it, and their descendants, counted (nanoseconds of CPU).
    A container engine puts its containers in cgroups of their own: what runs in them is not counted."""

    def __init__(self, label: str = "benchmark") -> None:
        self.folder = CPUACCT / f"{label}-{os.getpid()}-{time.time_ns()}"
        self.folder.mkdir()

    def enter(self) -> None:  # in the child, before it runs the command
        (self.folder / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        return int((self.folder / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        for _ in range(50):
            try:
                self.folder.rmdir()
                return
            except OSError:  # a process left in it is still ending
                time.sleep(0.1)
