"""An autograder for Keras/TensorFlow notebook courses.

Student notebooks run in a sandbox; the grader scores what they exported, as data,
in its own process.  The public API:
"""
from .assignment import Assignment, load_assignment
from .errors import (DatasetUnavailableError, EvidenceError, GraderError, SandboxUnavailableError, SpecError,
                     SubmissionError)
from .results import CheckResult, SubmissionResult, TaskResult
from .spec import AssignmentSpec, CheckSpec, Limits, TaskSpec

__all__ = [
    "Assignment", "AssignmentSpec", "CheckResult", "CheckSpec", "DatasetUnavailableError", "EvidenceError",
    "GraderError", "Limits", "SandboxUnavailableError", "SpecError", "SubmissionError", "SubmissionResult",
    "TaskResult", "TaskSpec", "load_assignment",
]
