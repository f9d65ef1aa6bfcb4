"""A sandbox run's own user: never two runs at once with one user, in one grading process or across several (the
end of a run kills every process of its user), and never a user some process still runs as."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import uids
from grader.sandbox.uids import lease_sandbox_uid

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandbox users are leased as root")
FIRST = 1_100_000 + (os.getpid() % 1000) * 10  # a stretch of users no other test run starts from

LEASE_AND_WAIT = ("import sys; sys.path.insert(0, sys.argv[1])\n"
                  "from grader.sandbox.uids import lease_sandbox_uid\n"
                  "lease = lease_sandbox_uid(int(sys.argv[2]))\n"
                  "print(lease.uid, flush=True)\n"
                  "sys.stdin.readline()\n"
                  "lease.release()\n"
                  "print('released', flush=True)\n"
                  "sys.stdin.read()")


def leased_from(first: int) -> int:
    """The user a run starting now would lease from ``first`` (given back at once)."""
    lease = lease_sandbox_uid(first)
    lease.release()
    return lease.uid


def other_process_leasing(first: int) -> subprocess.Popen:
    """Another grading process that leases a user from ``first``, gives it back on a line, and lives on."""
    repo = str(Path(uids.__file__).resolve().parents[2])  # the checkout this grader package is in
    return subprocess.Popen([sys.executable, "-c", LEASE_AND_WAIT, repo, str(first)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def test_two_runs_at_once_never_have_one_user_and_a_user_given_back_is_free():
    first, second = lease_sandbox_uid(FIRST), lease_sandbox_uid(FIRST)
    try:
        assert (first.uid, second.uid) == (FIRST, FIRST + 1)
        first.release()
        again = lease_sandbox_uid(FIRST)
        assert again.uid == FIRST
        again.release()
    finally:
        first.release()
        second.release()


def test_a_user_another_grading_process_holds_is_passed_over_until_that_process_dies():
    other = other_process_leasing(FIRST + 5)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == str(FIRST + 5)
        assert leased_from(FIRST + 5) == FIRST + 6
    finally:
        other.kill()
        other.wait()
    assert leased_from(FIRST + 5) == FIRST + 5  # the kernel dropped the dead process's lock


def test_a_user_some_process_still_runs_as_is_passed_over():
    left = subprocess.Popen(["sleep", "60"], user=FIRST + 8, group=FIRST + 8, extra_groups=[], cwd="/")
    try:
        assert leased_from(FIRST + 8) == FIRST + 9
    finally:
        left.kill()
        left.wait()


def test_the_lock_file_is_root_s_alone():
    lease_sandbox_uid(FIRST).release()
    info = os.lstat(uids.LOCK_FILE)
    assert stat.S_ISREG(info.st_mode) and info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(uids.LOCK_FILE.parent).st_mode) == 0o700


def test_a_user_another_process_gave_back_is_free_while_that_process_lives():
    other = other_process_leasing(FIRST + 3)
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline().strip() == str(FIRST + 3)
        assert leased_from(FIRST + 3) == FIRST + 4
        other.stdin.write("release\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "released"
        assert leased_from(FIRST + 3) == FIRST + 3
    finally:
        other.kill()
        other.wait()


def test_one_process_s_runs_follow_one_another_so_the_next_never_has_the_last_s_user():
    leases = []
    for _ in range(5):
        lease = lease_sandbox_uid()
        leases.append(lease.uid)
        lease.release()
    assert len(set(leases)) == 5 and all(b == a + 1 for a, b in zip(leases, leases[1:]) if b > a)
