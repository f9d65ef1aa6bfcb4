"""``check("task")`` for students: instant feedback on the structure of a task, in their own notebook.

It runs only the checks the assignment marks public (shapes, layers, parameter
counts, answer formats) on the live variables of the notebook, reading the
``public_checks.json`` that comes with the notebook.  Hidden checks, reference
answers and the accuracy the grader will measure are not here.
"""
from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checks.base import Missing
from .datasets import load_mnist
from .generate import PUBLIC_CHECKS_FILE
from .results import TaskResult
from .scoring import score_task
from .spec import AssignmentSpec


__all__ = ["check", "load_mnist"]


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found; shown as text or HTML in the notebook."""

    result: TaskResult

    @property
    def all_passed(self) -> bool:
        return all(c.passed for c in self.result.checks)

    def __str__(self) -> str:
        head = f"{self.result.title}: " + ("all checks passed" if self.all_passed else "some checks failed")
        lines = [head]
        for c in self.result.checks:
            first, *rest = c.message.splitlines() or [""]
            lines.append(f"  {'PASS' if c.passed else 'FAIL'} {c.title}: {first}")
            lines.extend(f"       {line}" for line in rest)
        if self.all_passed:
            lines.append("  (the grader also measures accuracy and runs checks not shown here)")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.all_passed else "#cf222e"
        return f'<pre style="border-left:4px solid {colour};padding-left:8px">{html.escape(str(self))}</pre>'


def _find_checks(start: Path) -> Path:
    for folder in (start, *start.parents):
        candidate = folder / PUBLIC_CHECKS_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{PUBLIC_CHECKS_FILE} was not found next to the notebook: keep the files of the"
                            " assignment together")


def _caller_namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except ImportError:
        pass
    return sys.modules["__main__"].__dict__


def check(task: str, namespace: dict[str, Any] | None = None, folder: str | Path | None = None) -> CheckReport:
    """Check a task's variables against the assignment's public checks."""
    spec = AssignmentSpec.from_dict(json.loads(_find_checks(Path(folder or Path.cwd())).read_text()))
    task_spec = spec.task(task)
    namespace = _caller_namespace() if namespace is None else namespace
    evidence = {name: namespace[name] if name in namespace
                else Missing(f"{name} is not defined yet: run the cells above first")
                for name in task_spec.exports}
    return CheckReport(score_task(task_spec, evidence))
