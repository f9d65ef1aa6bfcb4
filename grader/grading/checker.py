"""A resident checker: one process per batch worker that checks executed submissions, one after another.

It imports TensorFlow once and keeps the data sets it loaded, so that a submission's checks cost only the checks
(a fresh grading process spends seconds importing TensorFlow before its first check). It reads the evidence an
execution left, as data, with the same ``check_executed`` as ``grader grade``, and never runs student code.

Requests and answers cross as JSON lines on its standard input and on a copy of its standard output (its own
standard output goes to its log, so that TensorFlow's messages never mix with an answer). The host side,
``ResidentChecker``, restarts a checker that died or hung and checks the submission again, once; a submission
whose checks kill the checker twice gets a result that says so.

Given the kernel template of the submission's sandbox (``grader grade`` with bubblewrap, as root), the checker is
forked from it (``template_process.fork_checker``): the template imported TensorFlow already, so the grading
process does not import it a second time beside the notebook (4 core-seconds the notebook's run competed with).
It is the same checker (the host's files, environment, folder and CPUs; the same ``serve``), launched as before
wherever the template cannot give one.
"""
from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from grader.errors import GraderError

if TYPE_CHECKING:
    from grader.sandbox.kernel_template import KernelTemplate

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
CHECK_TIMEOUT_S = 900.0
TOO_SLOW = "took too long"
WARM_MODULES = ("tensorflow", "keras")
KERAS_KINDS = {"keras_model"}  # what the checks always load with Keras ("any": when the notebook's value is a model)
CPU_ONLY = {"CUDA_VISIBLE_DEVICES": ""}  # checks measure on the CPU, the same on every machine, --gpu or not


def measure_on_the_cpu() -> None:
    """This process's checks (and what it measures of a task's stated accuracies) run on the CPU, as a batch's
    checker runs them: the same scores on every machine, with a GPU or without."""
    os.environ.update(CPU_ONLY)


class CheckerFailed(GraderError):
    """A submission's checks could not be done: they raised, the checker could not start, or it died twice on
    that submission."""


class ChecksTooSlow(CheckerFailed):
    """A submission's checks ran past their time limit (a model far larger or slower than the task asks): the
    checker was stopped, and the checks are not tried again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the grader's checks of this notebook took longer than {seconds:g} s and were stopped:"
                         " is a model or an array far larger than the task asks?")
        self.seconds = seconds


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _ChannelWriter:
    """A forked checker's standard input, as the host writes it: text on its socket; closed, its end of input."""

    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel

    def write(self, text: str) -> None:
        self.channel.sendall(text.encode())

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.channel.shutdown(socket.SHUT_WR)


class ForkedChecker:
    """The host's handle on a checker forked from a kernel template, as ``subprocess.Popen``'s on a launched one
    (``pid``, ``stdin``, ``stdout``, ``poll``, ``kill``, ``wait``): a pidfd, since the template is its parent, and a
    socket for its input and answers.  Its exit status is its parent's to know: ``returncode`` is -1 once it
    ended."""

    def __init__(self, pid: int, pidfd: int, channel: socket.socket) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.channel = channel
        self.stdin = _ChannelWriter(channel)
        self.stdout = channel.makefile("r", encoding="utf-8", newline="\n")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self._ended()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("checker", timeout or 0)
            self._ended()
        assert self.returncode is not None
        return self.returncode

    def _ended(self) -> None:
        self.returncode = -1
        os.close(self.pidfd)
        try:
            self.channel.shutdown(socket.SHUT_RDWR)  # a reader still waiting reads the end
        except OSError:
            pass
        self.channel.close()  # (the socket itself closes once the reader closed its file too)


# What TensorFlow, Keras and the BLAS read as they are imported (numerics, backend, threads): a template imported
# them with the sandbox's environment, a launched checker with the host's.
IMPORT_SETTINGS = ("KERAS_BACKEND", "KERAS_HOME", "TF_ENABLE_ONEDNN_OPTS", "TF_USE_LEGACY_KERAS", "TF2_BEHAVIOR",
                   "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_XLA_FLAGS", "TF_DETERMINISTIC_OPS",
                   "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED")
KERAS_DEFAULTS = {"floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow", "image_data_format": "channels_last"}


def imported_alike(template_environment: Mapping[str, str], template_cpus: int, environment: Mapping[str, str],
                   cpus: int) -> str:
    """Why a checker forked from a template would not be the one launched here ("" when it would): the template
    imported on fewer CPUs than the host has (NumPy's BLAS sizes its threads at import; and where the host has CPUs
    the sandbox does not use, a launched checker's import does not slow the notebook anyway), the host's
    environment sets what the imports read otherwise than the template's, or its Keras configuration file is not
    Keras's defaults (the template's home had none)."""
    if template_cpus != cpus:
        return f"the template imported on {template_cpus} of the host's {cpus} CPUs"
    differing = [name for name in IMPORT_SETTINGS if template_environment.get(name) != environment.get(name)]
    if differing:
        return f"the host's environment sets {', '.join(differing)} otherwise than the template's"
    config = Path(environment.get("HOME", "/nonexistent")) / ".keras" / "keras.json"
    try:
        settings = json.loads(config.read_text())
    except FileNotFoundError:
        return ""
    except (OSError, ValueError) as exc:
        return f"{config} could not be read: {exc}"
    if not isinstance(settings, dict) or any(settings.get(k, v) != v for k, v in KERAS_DEFAULTS.items()):
        return f"{config} is not Keras's defaults"
    return ""


def fork_checker(template: "KernelTemplate", assignment: str, log_file: Any,
                 give_up: Callable[[], bool]) -> ForkedChecker:
    """A checker of ``assignment`` forked from ``template`` once a kernel's request started it (waiting while
    ``give_up`` says no, at most as long as a kernel's request may wait); raises ``OSError`` where it cannot, or
    where it would import otherwise than a launched one (``imported_alike``)."""
    from grader.sandbox.kernel_template import LOCK_WAIT_S, START_TIMEOUT_S

    environment = {**os.environ, **CPU_ONLY}
    unlike = imported_alike(template.environment, template.cpus, environment, len(os.sched_getaffinity(0)))
    if unlike:
        raise OSError(unlike)
    deadline = time.monotonic() + LOCK_WAIT_S + START_TIMEOUT_S
    while not template.started.wait(0.05):
        if give_up() or time.monotonic() > deadline:
            raise OSError("the kernel template has not started")
    ours, theirs = socket.socketpair()
    try:
        pid, pidfd = template.checker(assignment, environment, os.getcwd(), theirs.fileno(),
                                      log_file.fileno(), wait_s=0)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return ForkedChecker(pid, pidfd, ours)


class ResidentChecker:
    """The host's handle on a checker process for ``assignment`` (a reference ``load_assignment`` takes)."""

    def __init__(self, assignment: str, timeout_s: float = CHECK_TIMEOUT_S, log_dir: Path | None = None,
                 template: "KernelTemplate | None" = None) -> None:
        """``log_dir``: where its log goes (a worker's scratch folder, which a batch killed and started again
        removes); a temporary folder of its own when not given.  ``template``: the kernel template of the
        submission's sandbox, to fork the checker from (see the module); it is then made in the background, once
        the template has started, and launched instead where it cannot be forked."""
        self.assignment = assignment
        self.timeout_s = timeout_s
        self.restarts = 0
        self.checked = 0
        self.template = template
        self.forked = 0  # how many of its processes were forked from the template
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
        self._log_dir = Path(tempfile.mkdtemp(prefix="notebook-grader-checker-", dir=log_dir))
        self._process: subprocess.Popen | ForkedChecker | None = None
        self._pending: queue.Queue | None = None  # the process the spawner is making
        self._wanted = threading.Event()  # a check waits for the process: stop waiting for the template
        self._closing = threading.Event()  # closed before its process was made: none is launched
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        # The checker dies with the thread that started it (PR_SET_PDEATHSIG): one thread of the checker's own
        # starts it, and lives as long as this handle, whichever threads ask for checks (a Dask task's ends).
        self._spawns: queue.Queue = queue.Queue()
        threading.Thread(target=self._spawner, daemon=True, name="checker-spawner").start()
        self._start()

    def _spawner(self) -> None:
        for command, reply in iter(self._spawns.get, None):
            try:
                with (self._log_dir / "checker.log").open("ab") as log_file:
                    process = self._forked(log_file)
                    if process is None and self._closing.is_set():
                        raise OSError("the checker was closed before it started")
                    reply.put(process or subprocess.Popen(
                        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file,
                        preexec_fn=_die_with_parent, text=True, env={**os.environ, **CPU_ONLY}))
            except OSError as exc:
                reply.put(exc)

    def _forked(self, log_file: Any) -> ForkedChecker | None:
        """A checker forked from the template, or None (no template, or it cannot give one: said in the log)."""
        if self.template is None:
            return None
        try:
            process = fork_checker(self.template, self.assignment, log_file, self._wanted.is_set)
        except OSError as exc:
            log.info("the checker is launched, not forked from the kernel template: %s", exc)
            self.template = None  # and so are those started again
            return None
        self.forked += 1
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _start(self) -> None:
        """Have the spawner make a checker process: waited for here, or, from a template, at the first check."""
        command = [sys.executable, "-m", "grader.grading.checker", self.assignment]
        self._answers = queue.Queue()
        self._process = None
        self._pending = queue.Queue()
        self._spawns.put((command, self._pending))
        if self.template is None:
            self._started()

    def _started(self) -> None:
        """The process the spawner made, taken (raises ``CheckerFailed`` when it could not make one)."""
        if self._pending is None:
            return
        self._wanted.set()
        process, self._pending = self._pending.get(), None
        self._wanted.clear()
        if isinstance(process, OSError):
            raise CheckerFailed(f"the checker could not start: {process}")
        self._process = process
        threading.Thread(target=self._read_answers, args=(process, self._answers), daemon=True).start()

    @staticmethod
    def _read_answers(process: subprocess.Popen, answers: queue.Queue) -> None:
        assert process.stdout is not None  # (the spawner starts it with pipes)
        try:
            for line in process.stdout:
                answers.put(line)
            process.stdout.close()
        except (OSError, ValueError):
            pass  # (a forked checker's socket, shut down under the read once it ended)
        answers.put(None)  # the process ended

    def _stop(self) -> None:
        try:
            self._started()
        except CheckerFailed:
            pass
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def log_tail(self) -> str:
        try:
            return (self._log_dir / "checker.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def check(self, executed_wire: dict[str, Any], keep: str | None = None,
              timeout_s: float | None = None) -> dict[str, Any]:
        """The result (as a dict) of checking one executed submission within ``timeout_s`` (the handle's own by
        default); raises ``ChecksTooSlow`` past it (the checker is restarted for the next, the checks are not
        tried again), ``CheckerFailed`` when the checks raised or the checker died twice on it."""
        request = json.dumps({"executed": executed_wire, "keep": keep}) + "\n"
        name = Path(executed_wire["submission"]).name
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            for attempt in (1, 2):
                self._started()
                if self._process is None or self._process.poll() is not None:
                    self._stop()
                    self._start()
                    self._started()
                    self.restarts += 1
                answer = self._ask(request, timeout_s)
                if isinstance(answer, dict):
                    if "error" in answer:
                        raise CheckerFailed(f"the grader's checks failed: {answer['error']}")
                    self.checked += 1
                    return answer["result"]
                log.warning("the checker %s on %s (attempt %d): %s", answer, name, attempt, self.log_tail()[-800:])
                self._stop()
                if answer == TOO_SLOW:
                    raise ChecksTooSlow(timeout_s)
            raise CheckerFailed(f"the grader's checks {answer} twice on this submission")

    def _ask(self, request: str, timeout_s: float) -> dict[str, Any] | str:
        """The checker's answer, or how it failed to give one."""
        assert self._process is not None and self._process.stdin is not None  # (started by check(), with pipes)
        try:
            self._process.stdin.write(request)
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            return "died"
        try:
            line = self._answers.get(timeout=timeout_s)
        except queue.Empty:
            return TOO_SLOW
        if line is None:
            return "died"
        try:
            answer = json.loads(line)
        except ValueError:
            return "answered garbage"
        return answer if isinstance(answer, dict) and ("result" in answer or "error" in answer) \
            else "answered garbage"

    def close(self, graceful: bool = True) -> None:
        """Stop the checker: ``graceful`` lets it end by itself first (up to 10 s), else it is killed at once."""
        self._closing.set()
        with self._lock:
            if graceful and self._process is not None and self._process.poll() is None:
                assert self._process.stdin is not None  # (the spawner starts it with pipes)
                try:
                    self._process.stdin.close()
                    self._process.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._stop()
            self._spawns.put(None)
        shutil.rmtree(self._log_dir, ignore_errors=True)


# --- the checker's own process -----------------------------------------------------------------------------------

def _warm_up(assignment) -> None:
    """Import what the checks import, and load the data sets they read, before the first submission arrives."""
    import importlib

    from grader.grading.grade import datasets_used

    if needs_keras(assignment):  # an assignment without models never imports TensorFlow
        for name in WARM_MODULES:
            try:
                importlib.import_module(name)
            except ImportError:
                pass
    from grader.inside import datasets

    for name in datasets_used(assignment.spec):
        for split in ("train", "test"):
            try:
                datasets.load(name, split)
            except Exception:  # noqa: BLE001 - a data set missing here is the checks' to report, not the warm-up's
                break


def needs_keras(assignment) -> bool:
    """Whether the checks load models with Keras: a task exports one, or exports values of any kind (an otter
    assignment's) from a solution that imports TensorFlow or Keras.  Importing TensorFlow ahead takes about 4 s,
    longer than a small notebook's whole run: an assignment of NumPy arrays never waits for it (a model exported
    all the same is loaded, and TensorFlow imported, when it comes)."""
    import nbformat

    from grader.inside.warm_imports import WARMABLE, packages_of_cells

    kinds = {kind for task in assignment.spec.tasks for kind in task.exports.values()}
    if kinds & KERAS_KINDS:
        return True
    if "any" not in kinds:
        return False
    solution = nbformat.read(assignment.solution_path, as_version=4)
    imported = packages_of_cells(c.source for c in solution.cells if c.cell_type == "code")
    return bool(imported & set(WARMABLE["tensorflow"]))


def _forget_models() -> None:
    """Nothing of one submission stays for the next: Keras's graph of the last models, and their memory."""
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()
    gc.collect()


def serve(reference: str) -> int:
    """Answer requests from standard input until it closes."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else prints goes to the log
    from grader.course.assignment import load_assignment
    from grader.grading.grade import Executed, check_executed

    assignment = load_assignment(reference)
    _warm_up(assignment)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            executed = Executed.from_wire(request["executed"])
            keep = Path(request["keep"]) if request.get("keep") else None
            result = check_executed(executed, assignment, keep)
            answer: dict[str, Any] = {"result": result.to_dict()}
        except Exception as exc:  # noqa: BLE001 - a failure is the host's to report; the checker goes on
            log.exception("checking failed")
            answer = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        answers.write(json.dumps(answer) + "\n")
        _forget_models()  # after the answer (0.3 s with a model): the host waits for the answer, not for this
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(serve(sys.argv[1]))
