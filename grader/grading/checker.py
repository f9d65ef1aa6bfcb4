"""A resident checker: one process per batch worker that checks executed submissions, one after another.

It imports TensorFlow once and keeps the data sets it loaded, so that a submission's checks cost only the checks
(a fresh grading process spends seconds importing TensorFlow before its first check). It reads the evidence an
execution left, as data, with the same ``check_executed`` as ``grader grade``, and never runs student code.

Each submission is checked in a child of the checker's, confined (``grader/grading/apart.py``): as a user of its
own where the checker is root, and from the checker as it was after its warm-up, so that nothing of one submission
stays for the next.

Requests and answers cross as JSON lines on its standard input and on a copy of its standard output (its own
standard output goes to its log, so that TensorFlow's messages never mix with an answer). The host side,
``ResidentChecker``, restarts a checker that died or hung and checks the submission again, once (a child that
crashed is tried again in a new child); a submission whose checks fail so twice gets a result that says so.
"""
from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.grading.apart import CRASHED
from grader.grading.confine import die_with_parent

log = logging.getLogger(__name__)
PR_SET_DUMPABLE = 4
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


class ResidentChecker:
    """The host's handle on a checker process for ``assignment`` (a reference ``load_assignment`` takes)."""

    def __init__(self, assignment: str, timeout_s: float = CHECK_TIMEOUT_S, log_dir: Path | None = None) -> None:
        """``log_dir``: where its log goes (a worker's scratch folder, which a batch killed and started again
        removes); a temporary folder of its own when not given."""
        self.assignment = assignment
        self.timeout_s = timeout_s
        self.restarts = 0
        self.checked = 0
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
        self._log_dir = Path(tempfile.mkdtemp(prefix="notebook-grader-checker-", dir=log_dir))
        self._process: subprocess.Popen | None = None
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
                    reply.put(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                               stderr=log_file, preexec_fn=die_with_parent, text=True,
                                               env={**os.environ, **CPU_ONLY}))
            except OSError as exc:
                reply.put(exc)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def command(self) -> list[str]:
        """The checker's command line."""
        return [sys.executable, "-m", "grader.grading.checker", self.assignment]

    def _start(self) -> None:
        command = self.command()
        self._answers = queue.Queue()
        reply: queue.Queue = queue.Queue()
        self._spawns.put((command, reply))
        process = reply.get()
        if isinstance(process, OSError):
            raise CheckerFailed(f"the checker could not start: {process}")
        self._process = process
        threading.Thread(target=self._read_answers, args=(self._process, self._answers), daemon=True).start()

    @staticmethod
    def _read_answers(process: subprocess.Popen, answers: queue.Queue) -> None:
        assert process.stdout is not None  # (the spawner starts it with pipes)
        for line in process.stdout:
            answers.put(line)
        answers.put(None)  # the process ended

    def _stop(self) -> None:
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
                if self._process is None or self._process.poll() is not None:
                    self._stop()
                    self._start()
                    self.restarts += 1
                answer = self._ask(request, timeout_s)
                if isinstance(answer, dict):
                    if "error" in answer:
                        raise CheckerFailed(f"the grader's checks failed: {answer['error']}")
                    self.checked += 1
                    return answer["result"]
                log.warning("the checker %s on %s (attempt %d): %s", answer, name, attempt, self.log_tail()[-800:])
                if not answer.startswith(CRASHED):  # a child that crashed took nothing of the checker with it
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
        if isinstance(answer, dict) and CRASHED in answer:
            return f"{CRASHED} ({str(answer[CRASHED])[:200]})"
        return answer if isinstance(answer, dict) and ("result" in answer or "error" in answer) \
            else "answered garbage"

    def close(self, graceful: bool = True) -> None:
        """Stop the checker: ``graceful`` lets it end by itself first (up to 10 s), else it is killed at once."""
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


def serve(reference: str) -> int:
    """Answer requests from standard input until it closes: each submission checked in a child of its own
    (``grader/grading/apart.py``), its executed notebook kept by this process after."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else prints goes to the log
    from dataclasses import replace

    from grader.course.assignment import load_assignment
    from grader.grading.apart import Apart, Holder, HolderGone
    from grader.grading.grade import Executed, check_executed, keep_executed_notebook
    from grader.results import SubmissionResult

    assignment = load_assignment(reference)
    _warm_up(assignment)

    def check(request: bytes, evidence: str) -> dict[str, Any]:  # in a child
        executed = replace(Executed.from_wire(json.loads(request)), export_dir=evidence)
        return {"result": check_executed(executed, assignment).to_dict()}

    gc.freeze()  # what the warm-up made is never collected: a child's collections do not touch (and copy) it
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # a child of its own user cannot trace
    # it, nor its holder, which is forked from it
    holder = Holder(check)  # every child is forked from the checker as it is now, before any request
    apart = Apart.here(holder)
    if apart.why_not:
        log.warning("%s", apart.why_not)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            executed = Executed.from_wire(request["executed"])
            answer = apart.run(holder, json.dumps(request["executed"]).encode(), executed.export_dir)
            if "result" in answer:  # a result, or this raises: the child's word is read as data, once
                answer = {"result": SubmissionResult.from_dict(answer["result"]).to_dict()}
                started = time.monotonic()
                if request.get("keep"):
                    keep_executed_notebook(executed.executed_notebook, Path(request["keep"]))
                answer["result"]["execution"].setdefault("phases", {})["keep"] = round(time.monotonic() - started, 3)
        except HolderGone:
            log.exception("no child can be made")
            return 1  # the host starts another checker, and checks the submission again
        except Exception as exc:  # noqa: BLE001 - a failure is the host's to report; the checker goes on
            log.exception("checking failed")
            answer = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        answers.write(json.dumps(answer) + "\n")
    holder.close()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(serve(sys.argv[1]))
