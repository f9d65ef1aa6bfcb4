"""Each submission's checks in a process of their own, as a user of their own: the resident checker's child.

The checker imports TensorFlow and loads the data sets once, then forks a holder, which makes a child for each
submission that checks it and ends: every child starts from the checker as it was after its warm-up, never from
the checker after it read a request or an answer.  The checks parse what a student's code left (a ``.keras`` zip,
HDF5 weights, ``.npy`` arrays, JSON) through total readers; this is the second wall, for a bug in the parsers
underneath them (zipfile, h5py, HDF5, TensorFlow's ops on a student's model), so that such a bug gives a student
neither the host nor another student's evidence or grade (its own grade it could then write, as its answer: that
stays the first wall's to prevent):

- where the checker runs as root, the child takes a user of its own first (leased from a pool of the checks' own,
  so that no sandbox ever had it and no other child has it now; every process of it is killed after the child),
  with no capability, no supplementary group, ``no_new_privs``, no core file and at most ``CHILD_PROCESSES``
  processes and threads; and, where they can be made, namespaces of its own: PID (under a first process that only
  waits for it: whatever it starts dies with it, and all die with the checker), network (not even the host's
  loopback), IPC, and mount, in which every file system is read-only, ``/proc`` its own, the ``HIDDEN`` folders
  empty, and ``SCRATCH`` a tmpfs of ``SCRATCH_MB`` (its working folder, ``HOME``, ``TMPDIR``; these, and how each
  step is done, in ``grader/grading/confine.py``).  Its evidence it
  reads through a descriptor opened before the change of user: the host's copies, made readable to the child's
  group only (the host writes them for root alone, ``grader/untrusted.py``), never its own;
- whoever runs the checker, the child holds no descriptor but its own (not the host's requests, not the answers
  channel, not the checker's log: it answers the checker on a pipe and writes its messages on another, which the
  checker bounds), and nothing of one submission (a model, Keras's session, a planted object) is there when the
  next is checked.

A child that crashes (a signal, an exit without an answer) ends only that submission's checks: the checker says so,
and the host tries once more.  Forking after TensorFlow's import and before its first operation is what the
kernels' template does too (``grader/sandbox/template_process.py``); neither the checker nor the holder runs one.

Children do not change user where a folder on the way to the Python environment or the grader is closed to other
users (a project under ``/root``: a child could not import what the checks import late), nor where a probe child
could not (no user is left, or the capabilities are missing); they have no namespaces where none can be made (a
container without ``CAP_SYS_ADMIN``, as Gradescope's may be). The checker logs what it could not.
"""
from __future__ import annotations

import json
import logging
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

from grader.grading.confine import (
    ConfinementError,
    become,
    closed_to_others,
    die_with_parent,
    import_folders,
    keep_only_descriptors,
    limit_resources,
    private_mounts,
    readable_by,
    unshare_namespaces,
)

log = logging.getLogger(__name__)

ANSWER_MOST_BYTES = 4 * 2**20  # a result is kilobytes; a child that says more is not believed
LOG_MOST_BYTES = 64 * 2**10  # of a child's messages, what goes to the checker's log
CRASHED = "crashed"  # the key of the checker's answer when a child ended without one
PROBED = "confined"  # a probe child's answer
Work = Callable[[bytes, str], dict[str, Any]]  # a request and an evidence folder to an answer


@dataclass(frozen=True)
class Apart:
    """How this checker's children are confined: ``own_user`` where each takes a user of its own (the checker is
    root, every folder it imports from is open to other users, and a probe child could change user here),
    ``own_namespaces`` where each has namespaces of its own too; else only a process of its own.  ``why_not``: what
    could not be had, and why (the checker logs it)."""

    own_user: bool
    own_namespaces: bool = False
    why_not: str = ""

    @classmethod
    def here(cls, holder: "Holder") -> "Apart":
        """What ``holder``'s children can have here (probed: a child of each kind is made)."""
        if os.geteuid() != 0:
            return cls(False, False, "the checker is not root: the children of its checks stay its own user")
        closed = closed_to_others(import_folders())
        if closed:
            return cls(False, False, f"{closed[0]} is closed to other users, and the checks import from it: the"
                                     " children of the checks stay root (install the grader where others can read"
                                     " it)")
        failed = cls(True, True).probe(holder)
        if failed is None:
            return cls(True, True)
        without_namespaces = cls(True, False).probe(holder)
        if without_namespaces is None:
            return cls(True, False, f"no namespaces can be made here ({failed}): the children of the checks take a"
                                    " user of their own but share the host's processes, network and files")
        return cls(False, False, f"the children of the checks cannot take a user of their own here"
                                 f" ({without_namespaces}): they stay root")

    def probe(self, holder: "Holder") -> str | None:
        """Whether a child confined so can be made here: None, or why not."""
        from grader.errors import GraderError

        folder = tempfile.mkdtemp(prefix="notebook-grader-probe-")
        try:
            answer = self.run(holder, b"", folder, probe=True)
        except (GraderError, OSError) as exc:  # no user left, no process to be had
            return str(exc)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if answer == {"result": PROBED}:
            return None
        return str(answer.get("error") or answer.get(CRASHED) or answer)[:300]

    def run(self, holder: "Holder", request: bytes, evidence: str, probe: bool = False) -> dict[str, Any]:
        """The answer of ``holder``'s work on ``request`` and the evidence folder, done in a child the holder makes
        (confined as this says, the evidence folder made readable to it), or ``{CRASHED: how}`` where it ended
        without one."""
        from grader.sandbox.process import kill_user_processes
        from grader.sandbox.uids import CHECKS_UID_BASE, lease_sandbox_uid

        lease = lease_sandbox_uid(base=CHECKS_UID_BASE) if self.own_user else None
        ends: list[int] = []
        scratch = pid = None
        status = -1
        try:
            scratch = tempfile.mkdtemp(prefix="notebook-grader-checks-")
            for _ in range(3):
                ends += os.pipe()
            order_read, order_write, answer_read, answer_write, log_read, log_write = ends
            pid = holder.make([order_read, answer_write, log_write])
            for fd in (order_read, answer_write, log_write):
                os.close(fd)
                ends.remove(fd)
            order = {"uid": lease.uid if lease else None, "namespaces": self.own_namespaces, "scratch": scratch,
                     "evidence": evidence, "probe": probe, "request": request.decode()}
            try:
                _say(order_write, order)
            except OSError:
                pass  # it ended before it read its order: its end says how
            os.close(order_write)
            ends.remove(order_write)
            said, messages, status = _collect(pid, answer_read, log_read, holder)
            pid = None  # collected
        finally:
            if pid is not None:  # something failed before its end was seen: it ends now
                try:
                    os.kill(pid, signal.SIGKILL)
                    holder.ended()
                except OSError:  # ended already, or the holder is gone (which says so itself)
                    pass
            for fd in ends:
                os.close(fd)
            if lease is not None:
                if kill_user_processes(lease.uid):
                    lease.release()
                else:  # kept: a process of it could not be stopped
                    log.warning("processes of user %d, a child's, could not be stopped", lease.uid)
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        if messages:
            from grader.student_text import visible_lines

            sys.stderr.write(f"the checks' child said: {visible_lines(messages.decode(errors='replace'))}\n")
        return _answer(said, status)


class HolderGone(OSError):
    """The holder ended (killed): no child can be made; the checker ends too, and the host starts another."""


class Holder:
    """A process forked from the checker right after its warm-up, which makes every child: a child is forked from
    the checker as it was then, never from the checker after it read a request or an answer (a child could read
    those in its memory).  It waits for each child, tells the checker its end, and ends with the checker."""

    def __init__(self, work: Work) -> None:
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:  # never returns
            self._socket.close()
            _hold(theirs, work, os.getppid())
        theirs.close()

    def make(self, fds: list[int]) -> int:
        """A child with ``fds`` (its order's, answer's and messages' pipes): its PID."""
        try:
            socket.send_fds(self._socket, [b"make"], fds)
        except OSError as exc:
            raise HolderGone(f"the checks' holder is gone ({exc})") from None
        return int(self._said("pid"))

    def ended(self) -> int:
        """The wait status of the child made last, once it has ended."""
        return int(self._said("status"))

    def fileno(self) -> int:
        return self._socket.fileno()

    def _said(self, what: str) -> Any:
        message = self._socket.recv(256)
        if not message:
            raise HolderGone("the checks' holder is gone")
        name, _, value = message.decode().partition(" ")
        if name != what:
            raise HolderGone(f"the checks' holder said {message[:80]!r}")
        return value

    def close(self) -> None:
        self._socket.close()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _hold(sock: socket.socket, work: Work, checker: int) -> None:
    """The holder's loop: a child for each ``make``, its PID, and its end. Never returns."""
    code = 0
    try:
        die_with_parent(checker)
        keep_only_descriptors(sock.fileno())  # not the host's requests, nor the answers channel
        me = os.getpid()
        while True:
            message, fds, _, _ = socket.recv_fds(sock, 16, 3)
            if not message or len(fds) != 3:
                break
            pid = os.fork()
            if pid == 0:  # never returns
                sock.close()
                _start(work, fds[0], fds[1], fds[2], me)
            for fd in fds:
                os.close(fd)
            sock.send(f"pid {pid}".encode())
            _, status = os.waitpid(pid, 0)
            sock.send(f"status {status}".encode())
    except BaseException:  # noqa: BLE001 - the holder never returns into the checker's loop
        code = 1
    finally:
        os._exit(code)


def _start(work: Work, order_fd: int, answer_fd: int, log_fd: int, holder: int) -> None:
    """A new child: read its order, then be confined as it says and do the work. Never returns."""
    try:
        chunks = []
        while chunk := os.read(order_fd, 2**20):
            chunks.append(chunk)
        os.close(order_fd)
        order = json.loads(b"".join(chunks))
        request = order["request"].encode()
        task: Callable[[str], dict[str, Any]] = (
            (lambda evidence: {"result": PROBED}) if order["probe"] else (lambda evidence: work(request, evidence)))
        if order["namespaces"]:
            _namespaces_first(task, order["evidence"], order["scratch"], order["uid"], answer_fd, log_fd, holder)
        _child(task, order["evidence"], order["scratch"], order["uid"], False, answer_fd, log_fd, holder)
    finally:
        os._exit(1)


def _collect(pid: int, answer_fd: int, log_fd: int, holder: Holder) -> tuple[bytes, bytes, int]:
    """The child's answer (up to one byte past the most believed) and messages (the first ``LOG_MOST_BYTES``),
    until the holder says it has ended, whatever it left holding the pipes; and how it ended. A child that says
    too much is killed."""
    answer, messages = bytearray(), bytearray()
    poller = select.poll()
    for fd in (answer_fd, log_fd, holder.fileno()):
        poller.register(fd, select.POLLIN)
    pipes = {answer_fd: (answer, ANSWER_MOST_BYTES), log_fd: (messages, LOG_MOST_BYTES)}
    for fd in pipes:
        os.set_blocking(fd, False)
    status = None
    while status is None:
        for fd, _ in poller.poll():
            if fd == holder.fileno():
                status = holder.ended()
            elif fd in pipes and not _drain(fd, *pipes[fd], pipes, poller) and fd == answer_fd:
                os.kill(pid, signal.SIGKILL)  # it says more than is believed
    for fd in list(pipes):  # what it wrote before it ended
        _drain(fd, *pipes[fd], pipes, poller)
    return bytes(answer[:ANSWER_MOST_BYTES + 1]), bytes(messages[:LOG_MOST_BYTES]), status


def _drain(fd: int, into: bytearray, most: int, pipes: dict, poller: select.poll) -> bool:
    """Read what ``fd`` holds now into ``into``, up to just past ``most`` (the rest read and dropped); whether
    it is still within ``most``. A pipe at its end is forgotten. At most 16 MB a call: a writer that never stops
    (a process the child left) holds nothing up."""
    for _ in range(256):
        try:
            chunk = os.read(fd, 2**16)
        except BlockingIOError:
            return len(into) <= most
        if not chunk:
            del pipes[fd]
            poller.unregister(fd)
            return len(into) <= most
        if len(into) <= most:
            into.extend(chunk)
    return len(into) <= most


def _answer(said: bytes, status: int) -> dict[str, Any]:
    how = _how_it_ended(status)
    if len(said) > ANSWER_MOST_BYTES:
        return {CRASHED: f"said more than {ANSWER_MOST_BYTES // 2**20} MB ({how})"}
    try:
        answer = json.loads(said) if said else None
    except (ValueError, RecursionError):
        answer = None
    if isinstance(answer, dict) and set(answer) == {"error"}:
        return {"error": str(answer["error"])[:500]}  # text, and no more than any error says
    if not isinstance(answer, dict) or set(answer) != {"result"}:
        return {CRASHED: f"{how} without an answer" if not said else f"answered garbage ({how})"}
    return answer


def _how_it_ended(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    number = -code if code < 0 else code - 128 if code > 128 else 0  # (128 + N: its first process's signal)
    if number:
        try:
            return f"ended by {signal.Signals(number).name}"
        except ValueError:
            return f"ended by signal {number}"
    return f"exited with {code}"


def _namespaces_first(work: Callable[[str], dict[str, Any]], evidence: str, scratch: str, uid: int | None,
                      answer_fd: int, log_fd: int, parent: int) -> None:
    """As root: make the namespaces; in them, a first process that only waits for the child and exits as it
    did (128 + N for its signal N; the first of a PID namespace ignores the signals it sends itself, as an
    ``abort()`` does, which the child then needs not be); wait for it and exit so too.  Dies with the checker,
    and all in the namespaces die with it. Never returns."""
    code = 1
    try:
        try:
            die_with_parent(parent)
            unshare_namespaces()
            first = os.fork()
            if first == 0:
                die_with_parent()
                pid = os.fork()
                if pid == 0:
                    _child(work, evidence, scratch, uid, True, answer_fd, log_fd, os.getppid())
                _exit_as(pid, answer_fd, log_fd)
        except ConfinementError as exc:
            _say(answer_fd, {"error": f"the checks could not be confined ({exc}); nothing was read"})
            os._exit(0)
        _exit_as(first, answer_fd, log_fd)
    finally:
        os._exit(code)


def _exit_as(pid: int, *close: int) -> None:
    """Wait for ``pid`` and exit as it did (128 + N for its signal N). Never returns."""
    code = 1
    try:
        for fd in close:
            os.close(fd)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        code = 128 - code if code < 0 else code
    finally:
        os._exit(code)


def _say(fd: int, answer: dict[str, Any]) -> None:
    view = memoryview(json.dumps(answer).encode())
    while view:
        view = view[os.write(fd, view):]


def _child(work: Callable[[str], dict[str, Any]], evidence: str, scratch: str, uid: int | None, namespaces: bool,
           answer_fd: int, log_fd: int, parent: int | None) -> None:
    """Confine this process, then answer ``work``'s answer on ``answer_fd``. Never returns."""
    code = 0
    try:
        try:
            die_with_parent(parent)
            evidence_fd = os.open(evidence, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            if uid is not None:
                readable_by(evidence_fd, uid)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            if namespaces:
                scratch = private_mounts(uid)
            scratch_fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            keep_only_descriptors(answer_fd, evidence_fd, scratch_fd)
            if uid is not None:
                os.fchown(scratch_fd, uid, uid)
                become(uid)
            die_with_parent(parent)  # (again: the change of user cleared it)
            limit_resources(uid is not None)
            os.fchdir(scratch_fd)
            here = f"/proc/self/fd/{scratch_fd}"  # the model files' private folders, and whatever a library writes
            os.environ.update({"HOME": here, "TMPDIR": here, "KERAS_HOME": f"{here}/.keras",
                               "XDG_CACHE_HOME": f"{here}/.cache", "MPLCONFIGDIR": f"{here}/.matplotlib"})
            tempfile.tempdir = here
            answer = work(f"/proc/self/fd/{evidence_fd}")
        except ConfinementError as exc:
            answer = {"error": f"the checks could not be confined ({exc}); nothing was read"}
        except Exception as exc:  # noqa: BLE001 - a failure is the host's to report
            log.exception("checking failed")
            answer = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        _say(answer_fd, answer)
    except BaseException:  # noqa: BLE001 - the child never returns into the checker's loop
        code = 1
    finally:
        os._exit(code)


