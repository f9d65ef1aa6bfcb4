"""Each submission's checks in a child of the checker: as root, a user of its own with nothing else (no capability,
group, network, descriptor of the checker's, or process left after it), its own evidence and scratch folders only;
a child that crashes ends only its own checks; nothing of one submission is there for the next."""
from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.grading.apart import (
    ANSWER_MOST_BYTES,
    CRASHED,
    LOG_MOST_BYTES,
    Apart,
    Holder,
    HolderGone,
    _answer,
)
from grader.grading.checker import CheckerFailed, ResidentChecker
from grader.sandbox.process import user_processes
from grader.sandbox.uids import CHECKS_UID_BASE, SANDBOX_UIDS

REPO = Path(__file__).resolve().parents[2]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="a child takes a user of its own only where the checker is root")


@pytest.fixture
def evidence(tmp_path):
    """An evidence folder as the host leaves it: in a folder closed to every other user, a file only root reads."""
    folder = tmp_path / "grading" / "export"
    folder.mkdir(parents=True)
    os.chmod(tmp_path / "grading", 0o700)
    (folder / "task").mkdir()
    (folder / "task" / "answer.json").write_text("42")
    os.chmod(folder / "task" / "answer.json", 0o600)
    return folder


def _run(work, evidence, apart: Apart | None = None) -> dict:
    """``work(evidence folder)`` in a child of a holder of its own, confined as ``apart`` says (as it can be here,
    by default)."""
    holder = Holder(lambda request, folder: work(folder))
    try:
        return (apart or Apart.here(holder)).run(holder, b"", str(evidence))
    finally:
        holder.close()


def _here() -> Apart:
    holder = Holder(lambda request, folder: {})
    try:
        return Apart.here(holder)
    finally:
        holder.close()


def _what_the_child_has(folder: str) -> dict:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    wrote = {}
    planted = f"planted-{time.time_ns()}"
    for path in ("/etc/passwd", f"/tmp/{planted}", f"/var/tmp/{planted}", f"{folder}/planted",
                 f"{folder}/task/answer.json"):
        try:
            Path(path).open("a").close()
            wrote[path.replace(planted, "planted")] = "written"
            if path.startswith(("/tmp", "/var/tmp")):
                os.unlink(path)
        except OSError as exc:
            wrote[path.replace(planted, "planted")] = exc.strerror
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "model.keras").write_bytes(b"PK")
        scratch_ok = (Path(scratch) / "model.keras").read_bytes() == b"PK"
    return {"result": {
        "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
        "processes": sorted(int(name) for name in os.listdir("/proc") if name.isdigit()),
        "capabilities": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
        "no_new_privs": status["NoNewPrivs"].strip(),
        "networks": [name for _, name in socket.if_nameindex()],
        "answer": (Path(folder) / "task" / "answer.json").read_text(),
        "descriptors": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "stdin": os.readlink("/proc/self/fd/0"), "home": os.environ["HOME"], "cwd": os.getcwd(),
        "wrote": wrote, "scratch_ok": scratch_ok, "answer_folder": folder,
        "hidden": {name: os.listdir(name) if _listable(name) else "closed" for name in ("/root", "/run", "/var")
                   if os.path.isdir(name)},
    }}


def _listable(path: str) -> bool:
    try:
        os.listdir(path)
        return True
    except OSError:
        return False


@as_root
def test_as_root_a_child_checks_as_a_user_of_its_own_with_nothing_else(evidence):
    holder = Holder(lambda request, folder: _what_the_child_has(folder))
    try:
        apart = Apart.here(holder)
        assert (apart.own_user, apart.own_namespaces) == (True, True), apart.why_not
        apart.run(holder, b"", str(evidence))  # the first lease opens the leases' lock file, for good
        before = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
        answer = apart.run(holder, b"", str(evidence))
        after = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    finally:
        holder.close()
    assert "result" in answer, answer
    got = answer["result"]
    assert CHECKS_UID_BASE <= got["uid"] < CHECKS_UID_BASE + SANDBOX_UIDS and got["gid"] == got["uid"]
    assert got["groups"] == []
    assert set(got["capabilities"].values()) == {"0000000000000000"} and got["no_new_privs"] == "1"
    assert got["pid"] == 2 and got["processes"] == [1, 2]  # a PID namespace of its own (its first process
    # waits for it), and its own /proc
    assert got["hidden"] == {"/root": [], "/run": [], "/var": []}  # people's files, services' sockets
    assert got["networks"] == ["lo"]  # a network namespace of its own: its loopback only, down
    assert got["answer"] == "42"  # its own evidence, which root alone could read before, in a closed folder
    assert set(got["wrote"]) == {"/etc/passwd", "/tmp/planted", "/var/tmp/planted", f"{got['answer_folder']}/planted",
                                 f"{got['answer_folder']}/task/answer.json"}
    assert got["wrote"]["/tmp/planted"] == "Read-only file system", got["wrote"]
    assert got["wrote"]["/var/tmp/planted"] == "No such file or directory"  # /var hidden
    assert set(got["wrote"].values()) <= {"Read-only file system", "Permission denied", "No such file or directory"}
    assert got["scratch_ok"] and got["home"].startswith("/proc/self/fd/")
    assert got["cwd"] == "/dev/shm"  # the scratch tmpfs, its working folder
    assert os.stat(evidence / "task" / "answer.json").st_uid == 0 and not (evidence / "planted").exists()
    assert got["stdin"] == "/dev/null" and len(got["descriptors"]) <= 7  # 0-2, the answer pipe, its two folders,
    # the listing's own
    assert after == before  # the checker closed its side
    assert user_processes(got["uid"]) == []


@as_root
def test_the_folders_above_the_evidence_stay_closed_to_the_child(evidence):
    above = str(evidence.parent)
    answer = _run(lambda folder: {"result": {"above": _listable(above), "root": os.getuid()}}, evidence)
    assert answer["result"]["above"] is False and answer["result"]["root"] != 0
    assert os.stat(above).st_mode & 0o777 == 0o700


@pytest.mark.parametrize("how", ["a daemon", "a fork holding the pipes"])
@as_root
def test_what_a_child_leaves_running_is_killed_with_it_and_holds_nothing_up(evidence, how):
    """A child's processes die with it (the first of its PID namespace), even one that keeps the answer's pipe
    open: the checker waits for the child, not for its pipes."""
    def leave_a_process(folder: str) -> dict:
        if os.fork() == 0:
            if how == "a daemon":
                os.setsid()
                os.execv("/bin/sleep", ["sleep", "300"])
            time.sleep(300)
        return {"result": {"uid": os.getuid()}}

    answers: list[dict] = []
    asking = threading.Thread(target=lambda: answers.append(_run(leave_a_process, evidence)))
    asking.start()
    asking.join(120)
    assert answers, "the checker waited for what the child left"
    uid = answers[0]["result"]["uid"]
    assert uid != 0 and user_processes(uid) == []


@as_root
def test_where_no_namespace_can_be_made_children_still_take_a_user_of_their_own(evidence, monkeypatch):
    """A container without CAP_SYS_ADMIN (Gradescope's may be one) cannot make namespaces: every check failed
    there until the checker tried them first."""
    import grader.grading.confine as confine

    monkeypatch.setattr(confine, "CLONE_NEWNET", 0x1)  # no namespace's flag: unshare refuses it, as it would
    apart = _here()
    assert (apart.own_user, apart.own_namespaces) == (True, False)
    assert apart.why_not == (
        "no namespaces can be made here (the checks could not be confined ([Errno 22] mount, IPC, PID, network"
        " namespaces of its own: Invalid argument); nothing was read): the children of the checks take a user of"
        " their own but share the host's processes, network and files")
    answer = _run(_what_the_child_has, evidence, apart)
    assert "result" in answer, answer
    got = answer["result"]
    assert CHECKS_UID_BASE <= got["uid"] < CHECKS_UID_BASE + SANDBOX_UIDS and got["pid"] > 2
    assert got["answer"] == "42" and got["wrote"]["/etc/passwd"] == "Permission denied" and got["scratch_ok"]


@as_root
def test_where_no_user_can_be_had_children_stay_root_and_the_checker_says_why(evidence, monkeypatch):
    import grader.sandbox.uids as uids
    from grader.errors import SandboxUnavailableError

    def none_left(first=None, base=None):
        raise SandboxUnavailableError("no free user for a sandbox")

    monkeypatch.setattr(uids, "lease_sandbox_uid", none_left)
    apart = _here()
    assert apart == Apart(False, False, "the children of the checks cannot take a user of their own here (no free"
                                        " user for a sandbox): they stay root")
    assert _run(lambda folder: {"result": os.getuid()}, evidence, apart) == {"result": 0}


def test_what_a_child_says_goes_to_the_checker_s_log_bounded(evidence, capfd):
    def chatter(folder: str) -> dict:
        os.write(1, b"x" * 10**6)  # what TensorFlow or Keras would print, on the descriptor
        return {"result": "said"}

    assert _run(chatter, evidence) == {"result": "said"}
    log = capfd.readouterr().err
    assert log.startswith("the checks' child said: xxx") and LOG_MOST_BYTES <= len(log) < LOG_MOST_BYTES + 100


def test_a_child_that_crashes_ends_its_own_checks_only(evidence):
    def crash_once(folder: str) -> dict:
        if not os.path.exists(f"{folder}/task"):
            return {"result": {"fine": True}}
        return ctypes.string_at(0) or {}  # a parser's bad read

    holder = Holder(lambda request, folder: crash_once(folder if request else f"{folder}/none"))
    try:
        apart = Apart.here(holder)
        crashed = apart.run(holder, b"crash", str(evidence))
        fine = apart.run(holder, b"", str(evidence))
    finally:
        holder.close()
    assert crashed == {CRASHED: "ended by SIGSEGV without an answer"}
    assert fine == {"result": {"fine": True}}


def test_a_library_that_aborts_ends_its_child_by_sigabrt(evidence):
    """An HDF5 or TensorFlow check that fails calls abort(): the first process of a PID namespace would ignore the
    signal it sends itself, and the child is not that process."""
    assert _run(lambda folder: os.abort(), evidence) == {CRASHED: "ended by SIGABRT without an"
                                                                                    " answer"}


def test_checks_that_raise_answer_with_the_error(evidence):
    answer = _run(lambda folder: {"result": 1 / 0}, evidence)
    assert answer == {"error": "ZeroDivisionError: division by zero"}


def test_nothing_of_one_submission_stays_for_the_next(evidence):
    """Each child starts from the checker as it was after its warm-up, when it made its holder: Keras's session
    (the names of the layers it made), anything a submission's checks planted, and whatever the checker held since
    (the last request, the last answer) are not there."""
    import keras

    def make_a_layer(folder: str) -> dict:
        planted = getattr(sys, "planted", None)
        sys.planted = "by the last submission"  # type: ignore[attr-defined]
        return {"result": {"layer": keras.layers.Dense(1).name, "planted": planted,
                           "the checker's since": getattr(sys, "checkers_since", None)}}

    holder = Holder(lambda request, folder: make_a_layer(folder))
    sys.checkers_since = "the last answer"  # type: ignore[attr-defined]
    try:
        apart = Apart.here(holder)
        first, second = (apart.run(holder, b"", str(evidence))["result"] for _ in range(2))
    finally:
        holder.close()
        del sys.checkers_since  # type: ignore[attr-defined]
    assert first == second and first["planted"] is None and first["the checker's since"] is None


def test_a_holder_that_is_gone_makes_no_child_and_says_so(evidence):
    holder = Holder(lambda request, folder: {"result": 1})
    os.kill(holder.pid, 9)
    os.waitpid(holder.pid, 0)
    with pytest.raises(HolderGone, match="the checks' holder is gone"):
        Apart(False).run(holder, b"", str(evidence))


@pytest.mark.parametrize("said, status, expected", [
    (b"", 0, "exited with 0 without an answer"),
    (b"", 256, "exited with 1 without an answer"),
    (b"[1, 2]", 0, "answered garbage (exited with 0)"),
    (b'{"result": 1', 0, "answered garbage (exited with 0)"),
    (b'{"other": 1}', 0, "answered garbage (exited with 0)"),
    (b'{"result": 1, "error": "x"}', 0, "answered garbage (exited with 0)"),
    (b"[" * 100_000, 0, "answered garbage (exited with 0)"),
    (b"", 139 << 8, "ended by SIGSEGV without an answer"),  # the first of its PID namespace, as the checker sees it
    (b" " * (ANSWER_MOST_BYTES + 1), 0, "said more than 4 MB (exited with 0)"),
])
def test_a_child_s_answer_is_believed_only_when_it_is_one(said, status, expected):
    assert _answer(said, status) == {CRASHED: expected}


def test_a_child_s_error_is_passed_on_as_text_and_no_longer_than_any():
    assert _answer(b'{"error": {"crashed": "forged"}}', 0) == {"error": "{'crashed': 'forged'}"}
    assert _answer(json.dumps({"error": "x" * 10_000}).encode(), 0) == {"error": "x" * 500}


def _checker_code(check_executed: str) -> str:
    """A real checker's program, but with ``check_executed`` (Python's text of a function) for the checks."""
    return ("import ctypes, dataclasses, os, signal, sys, types; import grader.grading.grade as g;"
            " E = dataclasses.make_dataclass('E', ['export_dir', 'executed_notebook'], frozen=True);"
            " g.Executed.from_wire = staticmethod(lambda wire: E(wire['export_dir'], ''));"
            f" g.check_executed = {check_executed};"
            " import grader.grading.checker as c; sys.exit(c.serve('by_hand'))")


def _checker_answers(check_executed: str, evidence: Path, requests: int) -> list[dict]:
    """What a real checker's loop answers to a request that is not one, then to ``requests`` requests."""
    checker = subprocess.Popen([sys.executable, "-c", _checker_code(check_executed)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        assert checker.stdin is not None and checker.stdout is not None
        request = json.dumps({"executed": {"export_dir": str(evidence)}})
        checker.stdin.write(json.dumps({"not": "a request"}) + "\n" + (request + "\n") * requests)
        checker.stdin.flush()
        answers = [json.loads(checker.stdout.readline()) for _ in range(requests + 1)]
        assert checker.poll() is None
    finally:
        checker.kill()
        checker.wait()
    assert "error" in answers[0]
    return answers[1:]


def test_a_checker_answers_for_a_child_that_crashed_and_goes_on(evidence):
    """The checker's own loop: a submission whose checks crash gets an answer that says so, from the same
    checker, which answers the next."""
    answers = _checker_answers("lambda *a, **k: ctypes.string_at(0)", evidence, 2)
    assert answers == [{CRASHED: "ended by SIGSEGV without an answer"}] * 2


def test_the_host_tries_a_crashed_submission_once_more_without_restarting_the_checker(evidence):
    class Crashing(ResidentChecker):
        def command(self) -> list[str]:
            return [sys.executable, "-c", _checker_code("lambda *a, **k: ctypes.string_at(0)")]

    checker = Crashing("by_hand")
    try:
        pid = checker.pid
        with pytest.raises(CheckerFailed, match=r"^the grader's checks crashed \(ended by SIGSEGV without an"
                                                r" answer\) twice on this submission$"):
            checker.check({"export_dir": str(evidence), "submission": "x.ipynb"})
        assert checker.pid == pid and checker.restarts == 0
    finally:
        checker.close()


def test_a_child_s_result_is_passed_on_only_when_it_is_a_result(evidence):
    answers = _checker_answers("lambda *a, **k: types.SimpleNamespace(to_dict=lambda: {'points': 'all'})",
                               evidence, 1)
    assert answers == [{"error": "ValueError: its 'submission' is not text"}]  # read as a result, field by field
