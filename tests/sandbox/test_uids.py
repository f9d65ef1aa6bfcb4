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
FIRST = uids.SANDBOX_UID_BASE + 900_000 + (os.getpid() % 1000) * 10  # a stretch of users no other test run starts from

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


def maps_in(folder: Path, monkeypatch, attribute: str, names: tuple[str, str], text: str) -> tuple[Path, Path]:
    """The two files ``uids.<attribute>`` names, replaced by files in ``folder`` holding ``text``."""
    maps = (folder / names[0], folder / names[1])
    for path in maps:
        path.write_text(text)
    monkeypatch.setattr(uids, attribute, maps)
    return maps


@pytest.fixture
def id_maps(tmp_path, monkeypatch):
    """This machine's /etc/subuid and /etc/subgid, as a test writes them."""
    return maps_in(tmp_path, monkeypatch, "ID_MAPS", ("subuid", "subgid"), "")


@pytest.fixture
def namespace_maps(tmp_path, monkeypatch):
    """This process's /proc/self/uid_map and gid_map, as a test writes them (every id mapped to begin with)."""
    return maps_in(tmp_path, monkeypatch, "NAMESPACE_MAPS", ("uid_map", "gid_map"), "0 0 4294967295\n")


def test_ids_this_process_s_user_namespace_does_not_map_are_passed_over(namespace_maps):
    """In a container (LXD maps 0 to 999,999,999 into its own) no process can take an id its namespace lacks."""
    uid_map, gid_map = namespace_maps
    uid_map.write_text(f"0 1000000 {FIRST + 3}\n")
    gid_map.write_text(f"0 1000000 {FIRST + 10}\n{FIRST + 5} 5000 1\n")
    assert leased_from(FIRST) == FIRST
    assert uids.SANDBOX_UID_BASE <= leased_from(FIRST + 3) < FIRST  # past the last mapped: from the first
    uid_map.write_text("0 100000 65536\n")  # a rootless container's
    with pytest.raises(uids.SandboxUnavailableError, match="does not map them"):
        lease_sandbox_uid(FIRST)


def test_the_ids_of_people_s_rootless_containers_are_passed_over(id_maps):
    """A person's rootless container runs as the ids /etc/subuid gives them: a run with one of those would kill
    its processes at its end."""
    subuid, subgid = id_maps
    subuid.write_text(f"alice:{FIRST}:65536\nnot a line\nbob:x:y\ncarol:\u00b2:5\n# a comment\n")
    subgid.write_text(f"alice:{FIRST + 65536}:10\n")
    assert leased_from(FIRST) == FIRST + 65546
    assert leased_from(FIRST - 1) == FIRST - 1


def test_past_reserved_ids_that_reach_the_last_sandbox_user_the_lease_goes_on_from_the_first(id_maps):
    subuid, subgid = id_maps
    subuid.write_text(f"alice:{FIRST}:{10**7}\n")
    subgid.write_text(f"alice:{uids.SANDBOX_UID_BASE}:{500 + os.getpid() % 1000}\n")
    lease = lease_sandbox_uid(FIRST)
    lease.release()
    assert uids.SANDBOX_UID_BASE + 500 + os.getpid() % 1000 <= lease.uid < FIRST


def test_when_people_s_containers_have_every_id_no_run_gets_one(id_maps):
    id_maps[0].write_text(f"alice:0:{2**31}\n")
    with pytest.raises(uids.SandboxUnavailableError, match="give them to people.s containers"):
        lease_sandbox_uid(FIRST)


def test_an_id_this_machine_knows_as_a_user_or_a_group_is_passed_over(monkeypatch, id_maps):
    """SSSD maps Active Directory's people to ids up to 2,000,200,000; a group of that number would be the run's
    group."""
    import grp
    import pwd

    def known(number):
        def lookup(uid):
            if uid == number:
                return object()
            raise KeyError(uid)
        return lookup

    monkeypatch.setattr(pwd, "getpwuid", known(FIRST))
    monkeypatch.setattr(grp, "getgrgid", known(FIRST + 1))
    assert leased_from(FIRST) == FIRST + 2


def test_reserved_ranges_that_overlap_touch_or_start_below_the_sandbox_users_are_jumped_whole():
    base = uids.SANDBOX_UID_BASE
    reserved = [(base - 100, base + 10), (base + 5, base + 20), (base + 20, base + 30)]
    assert uids._past_reserved(0, reserved) == 30
    assert uids._past_reserved(31, reserved) == 31
    assert uids._past_reserved(uids.SANDBOX_UIDS - 1, [(base + uids.SANDBOX_UIDS - 1, base + 10**7)]) == 0
