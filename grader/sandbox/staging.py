"""The folders a sandbox writes, staged on the host: as root, each a fresh tmpfs of its own.

A tmpfs mounted for one run is the source of the sandbox's work or export folder: its size is the disk the run may
use (the kernel says "No space left on device" past it, however fast the notebook writes), nothing of it is on the
host's disk, and inside the sandbox the mount shows no host path (``/proc/self/mountinfo`` reads ``/`` of a tmpfs,
not the batch's folders or a student's key).  Once every process of the run is dead, the export folder's wanted
files (``wanted``: relative path, most bytes) are copied out, only if they are regular files within their limits
(``grader/untrusted.py``), and the tmpfs is unmounted.  Without root nothing is mounted: the sandbox uses the
host folder itself, and a watchdog bounds its size.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

from grader.untrusted import copy_wanted_files

log = logging.getLogger(__name__)
MAX_FILES = 100_000  # files and folders a staged folder may hold (each costs the host memory, even empty)


class TmpfsFolder:
    """A tmpfs of ``size_mb`` mounted (as root) at a new folder beside ``target``, owned by ``owner`` (uid, gid);
    ``source`` is the folder to give the sandbox: that tmpfs, or ``target`` itself when none could be mounted."""

    def __init__(self, target: Path, size_mb: int, owner: tuple[int, int] | None = None) -> None:
        self.target = target
        self.size_mb = size_mb
        self.owner = owner
        self.source = target
        self.mounted = False

    def __enter__(self) -> "TmpfsFolder":
        if os.geteuid() != 0:
            return self
        folder = Path(tempfile.mkdtemp(prefix="staged-", dir=self.target.parent))
        owner = f",uid={self.owner[0]},gid={self.owner[1]}" if self.owner else ""
        options = f"size={self.size_mb}m,nr_inodes={MAX_FILES},mode=0700{owner}"
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            log.warning("%s is not size-limited (mounting a tmpfs failed: %s)", self.target, done.stderr.strip())
            folder.rmdir()
            return self
        self.source, self.mounted = folder, True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.mounted:
            return
        self.mounted = False
        if subprocess.run(["umount", str(self.source)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(self.source)], capture_output=True, check=False)
        try:
            self.source.rmdir()
        except OSError as exc:
            log.warning("could not remove the staging folder %s: %s", self.source, exc)


class WorkStaging(TmpfsFolder):
    """The work folder: the host's files (the notebook, its handouts) copied in; nothing is copied back."""

    def __enter__(self) -> "WorkStaging":
        super().__enter__()
        if self.mounted:
            for path in self.target.iterdir():
                if path.is_file() and not path.is_symlink():
                    shutil.copyfile(path, self.source / path.name)
                    if self.owner:
                        os.chown(self.source / path.name, *self.owner)
        return self


class ExportStaging(TmpfsFolder):
    """The export folder: once the sandbox is gone, only the files the host reads are copied into ``target``;
    ``left_out`` says which were there but refused, and why."""

    def __init__(self, target: Path, size_mb: int, wanted: Mapping[str, int] | None = None,
                 owner: tuple[int, int] | None = None) -> None:
        super().__init__(target, size_mb, owner)
        self.wanted = dict(wanted or {})
        self.left_out: dict[str, str] = {}

    def __enter__(self) -> "ExportStaging":
        super().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.mounted:
            return
        try:
            self.left_out = copy_wanted_files(self.source, self.target, self.wanted, self.size_mb * 2**20)
        finally:
            super().__exit__(*exc_info)


def unmount_under(folder: Path) -> int:
    """Unmount every mount under ``folder`` (the staged folders a grading process killed mid-run left); how many.
    Lazily, innermost first: a mount still in use is detached now and freed when its last user is gone."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return 0
    prefix = str(folder) + "/"
    points = [line.split()[4].encode().decode("unicode_escape") for line in lines if len(line.split()) > 4]
    mounts = [p for p in points if p.startswith(prefix)]
    for mount in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
    return len(mounts)
