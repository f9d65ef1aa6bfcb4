"""An autograder for Keras/TensorFlow notebook courses.

Student notebooks run in a sandbox; the grader scores what they exported, as data,
in its own process.  The public API (``datasets``: the course's data sets, which an instructor's reference code
reads for its held-out inputs):

The names below are imported when first used, not with the package: ``import grader`` is what every process of
the grader starts with (the sandbox's runner, a student's kernel, each command), and the course's modules (YAML,
NumPy, the notebook generator) cost a runner a tenth of a second of CPU per submission it never needed.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from grader.errors import (
                           DatasetUnavailableError,
                           EvidenceError,
                           GraderError,
                           SandboxUnavailableError,
                           SpecError,
                           SubmissionError,
)

if TYPE_CHECKING:
    from grader.course.assignment import Assignment, load_assignment
    from grader.inside import datasets
    from grader.results import CheckResult, SubmissionResult, TaskResult
    from grader.spec import AssignmentSpec, CheckSpec, Limits, TaskSpec

# name -> the module that defines it, or (``datasets``) the module it is
_LAZY = {"Assignment": "grader.course.assignment", "load_assignment": "grader.course.assignment",
         "datasets": "grader.inside.datasets", "CheckResult": "grader.results", "SubmissionResult": "grader.results",
         "TaskResult": "grader.results", "AssignmentSpec": "grader.spec", "CheckSpec": "grader.spec",
         "Limits": "grader.spec", "TaskSpec": "grader.spec"}

__all__ = [
    "Assignment", "AssignmentSpec", "CheckResult", "CheckSpec", "DatasetUnavailableError", "EvidenceError",
    "GraderError", "Limits", "SandboxUnavailableError", "SpecError", "SubmissionError", "SubmissionResult",
    "TaskResult", "TaskSpec", "datasets", "load_assignment",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__.endswith(f".{name}") else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
