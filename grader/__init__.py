"""An autograder for Keras/TensorFlow notebook courses.

Student notebooks run in a sandbox; the grader scores what they exported, as data,
in its own process.  The public API (``datasets``: the course's data sets, which an instructor's reference code
reads for its held-out inputs):
"""
from grader.course.assignment import Assignment, load_assignment
from grader.errors import (
                           DatasetUnavailableError,
                           EvidenceError,
                           GraderError,
                           SandboxUnavailableError,
                           SpecError,
                           SubmissionError,
)
from grader.inside import datasets
from grader.results import CheckResult, SubmissionResult, TaskResult
from grader.spec import AssignmentSpec, CheckSpec, Limits, TaskSpec

__all__ = [
    "Assignment", "AssignmentSpec", "CheckResult", "CheckSpec", "DatasetUnavailableError", "EvidenceError",
    "GraderError", "Limits", "SandboxUnavailableError", "SpecError", "SubmissionError", "SubmissionResult",
    "TaskResult", "TaskSpec", "datasets", "load_assignment",
]
