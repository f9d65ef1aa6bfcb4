"""Each submission's checks in a process of their own, as a user of their own: the resident checker's child.

The checker imports TensorFlow and loads the data sets once; then, for each submission, it forks a child that checks
it and ends.  The checks parse what a student's code left (a ``.keras`` zip, HDF5 weights, ``.npy`` arrays, JSON)
through total readers; this is the second wall, for a bug in the parsers underneath them (zipfile, h5py, HDF5,
TensorFlow's ops on a student's model), so that such a bug gives a student neither the host nor another student's
grade:

- where the checker runs as root, the child takes a user of its own first (leased as a sandbox run's is, so that
  no sandbox and no other child has it; every process of it is killed after the child), with no capability, no
  supplementary group, ``no_new_privs``, no network (a network namespace of its own: not even the host's loopback)
  and no core file; it reads its submission's evidence folder (made readable, never its own: it changes nothing
  there) and owns a scratch folder, both reached through descriptors opened before the change of user (the folders
  above them stay the host's, closed to it);
- whoever runs the checker, the child holds no descriptor but its own (not the host's requests, not the answers
  channel: it answers the checker on a pipe, the checker checks that answer and passes on one), and nothing of
  one submission (a model, Keras's session, a planted object) is there when the next is checked: each child starts
  from the checker as it was after its warm-up.

A child that crashes (a signal, an exit without an answer) ends only that submission's checks: the checker says so,
and the host tries once more.  Forking after TensorFlow's import and before its first operation is what the
kernels' template does too (``grader/sandbox/template_process.py``); the checker itself never runs an operation.

Children do not change user where a folder on the way to the Python environment or the grader is closed to other
users (a project under ``/root``: a child could not import what the checks import late), nor where a probe child
could not (no sandbox user is left, or the capabilities are missing); they have no network namespace where none
can be made (a container without ``CAP_SYS_ADMIN``, as Gradescope's may be). The checker logs what it could not.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import resource
import shutil
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

ANSWER_MOST_BYTES = 32 * 2**20  # a result is kilobytes; a child that says more is not believed
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
CAPABILITY_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
CRASHED = "crashed"  # the key of the checker's answer when a child ended without one

_libc = ctypes.CDLL(None, use_errno=True)


class ConfinementError(OSError):
    """A child could not give up what it must before it reads a student's files: it reads none of them."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise ConfinementError(errno, f"{what}: {os.strerror(errno)}")


def closed_to_others(paths: list[str]) -> list[str]:
    """Those of ``paths`` (folders) another user cannot read: the folder, or one on its way, lacks the permission
    bits for others (read and search for the folder, search on the way)."""
    closed = []
    for path in paths:
        folder = Path(path).resolve()
        if not folder.is_dir():
            continue
        try:
            ok = all(os.stat(up).st_mode & stat.S_IXOTH for up in (folder, *folder.parents)) \
                and os.stat(folder).st_mode & stat.S_IROTH
        except OSError:
            ok = False
        if not ok:
            closed.append(str(folder))
    return closed


LATE_IMPORTS = ("grader", "numpy", "h5py", "keras", "tensorflow")  # what the checks may still import from


def import_folders() -> list[str]:
    """The folders the checks may still import from: the standard library's and those of the packages they use."""
    folders = {os.path.dirname(os.__file__)}
    for name in LATE_IMPORTS:
        module = sys.modules.get(name)
        for folder in getattr(module, "__path__", None) or ():
            folders.add(folder)
    return sorted(folders)


@dataclass(frozen=True)
class Apart:
    """How this checker's children are confined: ``own_user`` where each takes a user of its own (the checker is
    root, every folder it imports from is open to other users, and a child could change user here),
    ``own_network`` where each has a network namespace of its own too; else only a process of its own.
    ``why_not``: what could not be had, and why (the checker logs it)."""

    own_user: bool
    own_network: bool = False
    why_not: str = ""

    @classmethod
    def here(cls) -> "Apart":
        if os.geteuid() != 0:
            return cls(False, False, "the checker is not root: the children of its checks stay its own user")
        closed = closed_to_others(import_folders())
        if closed:
            return cls(False, False, f"{closed[0]} is closed to other users, and the checks import from it: the"
                                     " children of the checks stay root (install the grader where others can read"
                                     " it)")
        failed = _try_becoming(network=True)
        if failed is None:
            return cls(True, True)
        without_network = _try_becoming(network=False)
        if without_network is None:
            return cls(True, False, f"no network namespace can be made here ({failed}): the children of the checks"
                                    " take a user of their own but share the host's network")
        return cls(False, False, f"the children of the checks cannot take a user of their own here"
                                 f" ({without_network}): they stay root")

    def run(self, work: Callable[[str], dict[str, Any]], evidence: str) -> dict[str, Any]:
        """``work(evidence folder)``'s answer, done in a child (confined as this says, the evidence folder made
        readable to it), or ``{CRASHED: how}`` where it ended without one."""
        from grader.sandbox.process import kill_user_processes
        from grader.sandbox.uids import lease_sandbox_uid

        lease = lease_sandbox_uid() if self.own_user else None
        scratch = tempfile.mkdtemp(prefix="notebook-grader-checks-")
        read_end, write_end = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_end)
                _child(work, evidence, scratch, lease.uid if lease else None, self.own_network, write_end, parent)
            os.close(write_end)
            write_end = -1
            said = _read_most(read_end, ANSWER_MOST_BYTES + 1)
            _, status = os.waitpid(pid, 0)
        finally:
            for fd in (read_end, write_end):
                if fd >= 0:
                    os.close(fd)
            if lease is not None:
                kill_user_processes(lease.uid)
                lease.release()
            shutil.rmtree(scratch, ignore_errors=True)
        return _answer(said, status)


def _read_most(fd: int, most: int) -> bytes:
    chunks, count = [], 0
    while count < most and (chunk := os.read(fd, min(2**20, most - count))):
        chunks.append(chunk)
        count += len(chunk)
    return b"".join(chunks)


def _answer(said: bytes, status: int) -> dict[str, Any]:
    how = _how_it_ended(status)
    if len(said) > ANSWER_MOST_BYTES:
        return {CRASHED: f"said more than {ANSWER_MOST_BYTES // 2**20} MB ({how})"}
    try:
        answer = json.loads(said) if said else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not ({"result", "error"} & answer.keys()):
        return {CRASHED: f"{how} without an answer" if not said else f"answered garbage ({how})"}
    return answer


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"ended by {signal.Signals(number).name}"
        except ValueError:
            return f"ended by signal {number}"
    return f"exited with {os.waitstatus_to_exitcode(status)}"


def _child(work: Callable[[str], dict[str, Any]], evidence: str, scratch: str, uid: int | None, network: bool,
           answer_fd: int, parent: int) -> None:
    code = 0
    try:
        try:
            evidence_fd = os.open(evidence, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            scratch_fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            _leave_the_checker(answer_fd, evidence_fd, scratch_fd)
            if uid is not None:
                _readable(evidence_fd)
                os.chown(scratch_fd, uid, uid)
                become(uid, network)
            _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent death signal")
            if os.getppid() != parent:
                os._exit(1)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            tempfile.tempdir = f"/proc/self/fd/{scratch_fd}"  # the model files' private folders go in there
            answer = work(f"/proc/self/fd/{evidence_fd}")
        except ConfinementError as exc:
            answer = {"error": f"the checks could not be confined ({exc}); nothing was read"}
        except Exception as exc:  # noqa: BLE001 - a failure is the host's to report
            log.exception("checking failed")
            answer = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        data = json.dumps(answer).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(answer_fd, view):]
    except BaseException:  # noqa: BLE001 - the child never returns into the checker's loop
        code = 1
    finally:
        os._exit(code)


def _leave_the_checker(*keep: int) -> None:
    """Nothing of the checker's channels: standard input from /dev/null (the host's requests stay the checker's),
    every descriptor closed but 1 and 2 (the log) and ``keep`` (the answers channel among those closed)."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the listing's own descriptor


def _readable(folder_fd: int) -> None:
    """Everyone may read the folder and what is in it (the host made them all, its copies of the evidence by names
    it chose, with its umask; no link is followed): the child reads them, owns none, and can change none."""
    os.fchmod(folder_fd, stat.S_IMODE(os.fstat(folder_fd).st_mode) | 0o555)
    for _, _, files, root_fd in os.fwalk(".", dir_fd=folder_fd, follow_symlinks=False):
        os.fchmod(root_fd, stat.S_IMODE(os.fstat(root_fd).st_mode) | 0o555)
        for name in files:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=root_fd)
            except OSError:
                continue  # not a file the checks read
            try:
                os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) | 0o444)
            finally:
                os.close(fd)


def _try_becoming(network: bool) -> str | None:
    """Whether a child can ``become`` a leased user here (with a network of its own or not): None, or why not."""
    from grader.errors import GraderError
    from grader.sandbox.process import kill_user_processes
    from grader.sandbox.uids import lease_sandbox_uid

    try:
        lease = lease_sandbox_uid()
    except GraderError as exc:
        return str(exc)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(read_end)
                try:
                    become(lease.uid, network)
                    code = 0
                except OSError as exc:
                    os.write(write_end, str(exc).encode()[:1000])
            finally:
                os._exit(code)
        os.close(write_end)
        write_end = -1
        said = _read_most(read_end, 1000).decode(errors="replace")
        _, status = os.waitpid(pid, 0)
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
        kill_user_processes(lease.uid)
        lease.release()
    return None if os.waitstatus_to_exitcode(status) == 0 else (said or _how_it_ended(status))


def become(uid: int, network: bool = True) -> None:
    """As root: ``uid`` and its group, no supplementary group, no capability, none to be gained; and a network
    namespace of its own (no network) where ``network``."""
    if network:
        _check(_libc.unshare(CLONE_NEWNET), "a network of its own")
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            if ctypes.get_errno() == 22:  # EINVAL: past the last capability this kernel has
                break
            _check(-1, f"dropping capability {cap}")
    try:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        raise ConfinementError(exc.errno, f"taking user {uid}: {exc.strerror}") from None
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/self/status") as status:
        left = [line.split()[0] for line in status if line.startswith(CAPABILITY_FIELDS) and int(line.split()[1], 16)]
    if left or os.getuid() == 0 or os.getgid() == 0 or os.getgroups():
        raise ConfinementError(f"privileges left: {left or 'root'}")
