"""The one exception hierarchy of the grader.

A student's mistake is never an exception: it becomes a result with a reason.
These exceptions are for problems of the course itself (a malformed solution
notebook, a bad spec), of the grading machine (no sandbox available), or of a
file that cannot be read at all.
"""
from __future__ import annotations


class GraderError(Exception):
    """Base class of every error the grader raises on purpose."""


class SpecError(GraderError):
    """The assignment's source (solution notebook, checks) is malformed."""


class SubmissionError(GraderError):
    """A submission cannot be read as a notebook."""


class SandboxUnavailableError(GraderError):
    """No sandbox that isolates student code can be used on this machine."""


class EvidenceError(GraderError):
    """An exported evidence file is missing, too large or malformed."""


class DatasetUnavailableError(GraderError):
    """A data set the grader needs is not installed."""


class IntakeError(GraderError):
    """What the instructor gave the batch (a folder, an archive) cannot be read at all."""


class BatchError(GraderError):
    """A batch cannot run as asked (another batch writes the same folder, a worker lacks the assignment)."""


class ReportError(GraderError):
    """Reports cannot be made from a folder of results (none there, or the intake's list of students unreadable)."""
