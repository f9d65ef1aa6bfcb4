"""The student's side, in their own notebook: ``check("task")``, ``grader.check_all()``, ``grader.submit()``.

``check`` runs only the checks the assignment marks public (shapes, layers, parameter counts, answer formats)
on the live variables of the notebook, reading the ``public_checks.json`` that comes with the notebook, and says
what the grader does besides.  Hidden checks, reference answers and the accuracy the grader will measure are
not here.  Nothing here trains or loads a data set.

Otter-grader's shape works too::

    from grader.student import grader
    grader.check("cnn"); grader.check_all(); grader.submit()

The namespace is IPython's (Jupyter, Colab) or, in a plain ``python`` run of the notebook exported as a script,
``__main__``'s.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from grader.course.handout import Handout, find_handout, notebook_path
from grader.errors import SpecError
from grader.inside.datasets import load_mnist
from grader.student.check_report import CheckReport, UnknownTask
from grader.student.live_checks import check_task

__all__ = ["check", "check_all", "grader", "load_mnist", "submit", "Notebook"]


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _caller_namespace() -> dict[str, Any]:
    shell = _shell()
    return shell.user_ns if shell is not None else sys.modules["__main__"].__dict__


def _shown(report: Any) -> Any:
    """The report, printed too where nothing would show it: a plain ``python`` run of the notebook as a script."""
    if _shell() is None:
        print(report)
    return report


class _LastRun:
    """When the last cell finished: a notebook saved before that may not be what the student sees."""

    finished: float | None = None

    @classmethod
    def install(cls) -> None:
        shell = _shell()
        if shell is None or getattr(shell, "_grader_last_run", False):
            return
        shell._grader_last_run = True
        shell.events.register("post_run_cell", cls._finished)

    @classmethod
    def _finished(cls, *_: Any) -> None:
        cls.finished = time.time()


_LastRun.install()


def _handout(where: str | Path | None, namespace: dict[str, Any]) -> Handout:
    """The public checks beside the notebook: from ``where``; for a script, from its own folder; else from the
    working folder (Jupyter's is the notebook's)."""
    script = namespace.get("__file__")
    if where is None and isinstance(script, str) and _shell() is None:
        where = Path(script).resolve().parent
    return find_handout(where)


def check(task: str, namespace: dict[str, Any] | None = None,
          folder: str | Path | None = None) -> CheckReport | UnknownTask:
    """Check a task's variables against the assignment's public checks (a task name it does not have: its names)."""
    namespace = _caller_namespace() if namespace is None else namespace
    return _shown(check_task(_handout(folder, namespace), task, namespace))


def check_all(namespace: dict[str, Any] | None = None, folder: str | Path | None = None,
              notebook: str | Path | None = None):
    """Every task's public checks, the setup cells of the saved notebook, and what the grader does besides."""
    from grader.student.overview import check_everything

    namespace = _caller_namespace() if namespace is None else namespace
    handout = _handout(notebook or folder, namespace)
    try:
        path, problem = notebook_path(handout, namespace, notebook), None
    except SpecError as exc:
        path, problem = None, str(exc)
    return _shown(check_everything(handout, namespace, path, problem))


def submit(notebook: str | Path | None = None, folder: str | Path | None = None, out_dir: str | Path | None = None):
    """Validate the notebook as saved on disk and write the file to hand in (``<name>-submission.ipynb``).

    A kernel cannot make Jupyter save the notebook: save it first (Ctrl+S).  If the file on disk is older than
    the last cell that ran, nothing is written and the report says to save.  ``grader submit --dry-run`` in a
    terminal also runs the notebook as the grader will.
    """
    from grader.student.handin import SubmitReport, SubmitStatus
    from grader.student.handin import submit as hand_in

    namespace = _caller_namespace()
    handout = _handout(notebook or folder, namespace)
    path = notebook_path(handout, namespace, notebook)
    last = _LastRun.finished
    if last is not None and path.is_file() and path.stat().st_mtime < last - 1:
        saved = time.strftime("%H:%M:%S", time.localtime(path.stat().st_mtime))
        ran = time.strftime("%H:%M:%S", time.localtime(last))
        problem = (f"{path.name} was last saved at {saved}, before the last cell ran ({ran}): save the notebook"
                   " (File > Save, or Ctrl+S), then run grader.submit() again")
        return _shown(SubmitReport(path, SubmitStatus.NOT_SAVED, (problem,)))
    return _shown(hand_in(path, handout, out_dir=out_dir))


class Notebook:
    """Otter-grader's shape: ``grader.check("task")``, ``grader.check_all()``, ``grader.submit()``."""

    def __init__(self, folder: str | Path | None = None, notebook: str | Path | None = None) -> None:
        self.folder = folder
        self.notebook = notebook

    def check(self, task: str) -> CheckReport | UnknownTask:
        return check(task, _caller_namespace(), self.folder)

    def check_all(self, notebook: str | Path | None = None, folder: str | Path | None = None):
        """As ``check_all``: ``notebook=`` names the file where the front end cannot (Colab)."""
        return check_all(_caller_namespace(), folder or self.folder, notebook or self.notebook)

    def submit(self, notebook: str | Path | None = None, folder: str | Path | None = None,
               out_dir: str | Path | None = None):
        """As ``submit``: ``notebook=`` names the file where the front end cannot (Colab)."""
        return submit(notebook or self.notebook, folder or self.folder, out_dir)


grader = Notebook()
