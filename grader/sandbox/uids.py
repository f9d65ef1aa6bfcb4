"""The users sandbox runs take (when the grader runs as root): one of its own per run, never shared with another run
at the same time, in this grading process or in any other on this machine.

A run's user is what the host kills at its end (every process of it, ``kill_user_processes``) and what its process
limit counts: two runs with one user would count each other's processes, and the end of one would kill the other.
A run leases its user here and gives it back once its processes are dead. Across grading processes the lease is a
POSIX lock on one byte of a file of root's (``/run/notebook-grader/sandbox-users.lock``, the byte at the user's
offset), which the kernel drops when its process dies, however it dies; within one process (whose locks do not
exclude each other) a set of the users leased. A user some process still runs as (left by a grading process that
was killed) is passed over.

Nor is a run's user anybody else's. A run's end kills every process of its user, and a process limit counts all of
a user's processes: a person's would be killed, or would count against a student's limit. The sandboxes' users are
700,000,000 to 700,999,999: above the ids ``useradd`` gives people's user namespaces by default (``/etc/subuid``
and ``/etc/subgid``: 100,000 onwards, 65,536 per person, up to 600,100,000; from 200,000, the sandboxes' users were
the 2nd to 16th person's), and below 1,000,000,000, the ids LXD maps into its containers by default (a grader run in
one can take them). Within them the ids those files give anybody are passed over all the same, and so is an id this
machine knows as a user or a group (its own files, or a directory's through NSS: SSSD maps Active Directory's
people to ids from 200,000 to 2,000,200,000; a directory that does not answer knows none), and an id this process's
user namespace does not map (a container's: no process can take it).

The children that check submissions (``grader/grading/apart.py``) take users of a pool of their own, 701,000,000 to
701,999,999, leased the same way: a folder a sandbox's user was given on the host is never a child's.
"""
from __future__ import annotations

import fcntl
import grp
import logging
import os
import pwd
import random
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SandboxUnavailableError
from grader.sandbox.process import user_processes

log = logging.getLogger(__name__)

SANDBOX_UID_BASE = 700_000_000
SANDBOX_UIDS = 1_000_000  # 700,000,000 to 700,999,999 (see the module)
CHECKS_UID_BASE = SANDBOX_UID_BASE + SANDBOX_UIDS  # 701,000,000 to 701,999,999: the checks' children's (the same count)
LOCK_FILE = Path("/run/notebook-grader/sandbox-users.lock")
TRIES = 1000
ID_MAPS = (Path("/etc/subuid"), Path("/etc/subgid"))  # ids given to people's user namespaces: never a run's
NUMBER = re.compile(r"[0-9]{1,12}")
NAMESPACE_MAPS = (Path("/proc/self/uid_map"), Path("/proc/self/gid_map"))  # the ids this process's namespace has

_lock = threading.Lock()
_leased: set[int] = set()
_next: dict[int, int] = {}  # by pool: where this process's next lease is tried first, its users following one another
_lock_fd: int | None = None  # one descriptor for the process's life: closing any would drop all its POSIX locks
_lock_failed = False


def _forget_in_child() -> None:
    """A forked child holds none of its parent's locks (POSIX record locks are not inherited), nor its leases,
    and the module's lock may have been held by a thread the child does not have."""
    global _lock, _leased, _lock_fd, _lock_failed
    _lock, _leased, _lock_fd, _lock_failed = threading.Lock(), set(), None, False


os.register_at_fork(after_in_child=_forget_in_child)


def _lock_file() -> int | None:
    """This process's descriptor on the lock file (None where it cannot be made: leases are then only this
    process's own, and the users of other grading processes are told apart only by their running processes)."""
    global _lock_fd, _lock_failed
    if _lock_fd is None and not _lock_failed:
        try:
            LOCK_FILE.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _lock_fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            _lock_failed = True
            log.warning("sandbox users are leased within this grading process only: %s: %s", LOCK_FILE, exc)
    return _lock_fd


@dataclass
class UidLease:
    """A sandbox run's own user, until ``release``."""

    uid: int
    _held: bool = True

    def release(self) -> None:
        with _lock:
            if not self._held:
                return
            self._held = False
            _unlock(_lock_file(), self.uid - SANDBOX_UID_BASE)
            _leased.discard(self.uid)


def _unlock(fd: int | None, offset: int) -> None:
    if fd is not None:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)


def _ranges_in(path: Path, separator: str | None, first_field: int) -> list[tuple[int, int]] | None:
    """The ranges of ids (first, end) an id map file lists, one per line of three fields, the first id in
    ``first_field`` and the count last, numbers from ``first_field`` on (a line that is not one is skipped); None
    when the file cannot be read."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    found = []
    for line in text.splitlines():
        fields = [field.strip() for field in line.split(separator)]
        if len(fields) == 3 and all(NUMBER.fullmatch(field) for field in fields[first_field:]):
            found.append((int(fields[first_field]), int(fields[first_field]) + int(fields[2])))
    return found


def reserved_ids() -> list[tuple[int, int]]:
    """The ranges of ids (first, end) that ``/etc/subuid`` and ``/etc/subgid`` give to people's user namespaces
    (``name:first:count`` lines; a file that cannot be read gives none)."""
    return [found for path in ID_MAPS for found in _ranges_in(path, ":", 1) or []]


def unmapped_ids(base: int = SANDBOX_UID_BASE) -> list[tuple[int, int]]:
    """The ranges of the ids (first, end) of the pool from ``base`` that this process's user namespace does not map,
    as user or as group (``inside outside count`` lines; a file that cannot be read maps everything)."""
    found = []
    for path in NAMESPACE_MAPS:
        mapped = _ranges_in(path, None, 0)
        if mapped is None:
            continue
        position, last = base, base + SANDBOX_UIDS
        for first, end in sorted(mapped):
            if first > position:
                found.append((position, min(first, last)))
            position = max(position, end)
        if position < last:
            found.append((position, last))
    return found


def is_account(uid: int) -> bool:
    """Whether this machine knows the id as a user's or a group's (a run's group has its user's number)."""
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
            return True
        except (KeyError, OverflowError):
            continue
    return False


def _past_reserved(offset: int, reserved: list[tuple[int, int]], base: int = SANDBOX_UID_BASE) -> int | None:
    """``offset``, or the first after the reserved ranges it falls in (from the first of the pool's users past
    the last); None when they leave none."""
    for _ in range(2 * len(reserved) + 2):
        uid = base + offset
        end = next((end for first, end in reserved if first <= uid < end), None)
        if end is None:
            return offset
        offset = end - base if end - base < SANDBOX_UIDS else 0
    return None


def lease_sandbox_uid(first: int | None = None, base: int = SANDBOX_UID_BASE) -> UidLease:
    """A user no other sandbox run has now, here or in another grading process, and nobody else's (see the
    module); tried from ``first`` upwards (by default from the one after this process's last: a random one for its
    first). ``base``: the pool's first id (``CHECKS_UID_BASE``: the checks' children's, which never had a sandbox's
    folders)."""
    with _lock:
        if first is not None:
            start = first - base
        else:
            start = _next[base] if base in _next else random.randrange(SANDBOX_UIDS)
        fd = _lock_file()
        reserved = reserved_ids() + unmapped_ids(base)
        position = start
        for _ in range(TRIES):
            found = _past_reserved(position % SANDBOX_UIDS, reserved, base)
            if found is None:
                raise SandboxUnavailableError(
                    f"no id from {base} to {base + SANDBOX_UIDS - 1} can be a sandbox's"
                    f" user: {' and '.join(str(p) for p in ID_MAPS)} give them to people's containers, or this"
                    f" process's user namespace does not map them ({NAMESPACE_MAPS[0]})")
            offset, position = found, found + 1
            uid = base + offset
            lock_at = uid - SANDBOX_UID_BASE  # one lock file for both pools
            if uid in _leased or is_account(uid):
                continue
            if fd is not None:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, lock_at)
                except OSError:
                    continue  # another grading process's run has it
            try:
                left = user_processes(uid)  # left running by a grading process that died: not this run's
            except BaseException:
                _unlock(fd, lock_at)
                raise
            if left:
                _unlock(fd, lock_at)
                continue
            _leased.add(uid)
            if first is None:
                _next[base] = position % SANDBOX_UIDS
            return UidLease(uid)
    raise SandboxUnavailableError(f"no free user for a sandbox in {TRIES} tries from {base + start}")
