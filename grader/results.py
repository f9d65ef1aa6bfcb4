"""What grading found: typed results that travel as JSON."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

GRADER_FAILED = "the grader failed on this submission"  # how a result the grader, not the student, failed begins


@dataclass(frozen=True)
class LayerRow:
    """One row of a layer-by-layer comparison: where, what was expected there, what was found, whether they agree."""

    layer: str
    expected: str
    found: str
    ok: bool


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check; ``details``, where a check gives them, the same findings as table rows."""

    kind: str
    title: str
    points: float
    max_points: float
    passed: bool
    message: str
    public: bool = False
    details: tuple[LayerRow, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckResult":
        data = dict(data)
        data["details"] = tuple(LayerRow(**row) for row in data.get("details", ()))  # absent in older results
        return cls(**data)


@dataclass(frozen=True)
class TaskResult:
    """A task's score, its checks and, when it could not be graded, why."""

    name: str
    title: str
    points: float
    max_points: float
    checks: tuple[CheckResult, ...] = ()
    ungraded_reason: str | None = None
    feedback: str = ""

    @property
    def passed_checks(self) -> list[str]:
        return [c.title for c in self.checks if c.passed]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [asdict(c) for c in self.checks]
        data["passed_checks"] = self.passed_checks
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TaskResult":
        data = dict(data)
        data.pop("passed_checks", None)
        data["checks"] = tuple(CheckResult.from_dict(c) for c in data.get("checks", ()))
        return cls(**data)


@dataclass(frozen=True)
class CellReport:
    """How one executed cell ended, as told by the in-sandbox runner (untrusted, for feedback only)."""

    index: int
    status: str  # ok | error | timeout | kernel_died | not_run
    task: str | None = None
    ename: str = ""
    evalue: str = ""
    exit_code: int | None = None
    first_line: str = ""


@dataclass(frozen=True)
class SubmissionResult:
    """Everything grading found about one submission."""

    submission: str
    assignment: str
    points: float
    max_points: float
    tasks: tuple[TaskResult, ...]
    sandbox: str
    execution: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    provenance: Mapping[str, str] = field(default_factory=dict)  # what it was graded from (grader/cache.py)

    @property
    def grader_failed(self) -> bool:
        """No points because the grader failed (an infrastructure fault), not because of the submission."""
        return bool(self.error and self.error.startswith(GRADER_FAILED))

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission": self.submission,
            "assignment": self.assignment,
            "points": self.points,
            "max_points": self.max_points,
            "sandbox": self.sandbox,
            "error": self.error,
            "execution": dict(self.execution),
            "tasks": [t.to_dict() for t in self.tasks],
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SubmissionResult":
        return cls(
            submission=data["submission"], assignment=data["assignment"], points=data["points"],
            max_points=data["max_points"], sandbox=data["sandbox"], error=data.get("error"),
            execution=data.get("execution") or {}, provenance=data.get("provenance") or {},
            tasks=tuple(TaskResult.from_dict(t) for t in data["tasks"]),
        )

    def to_gradescope_dict(self) -> dict[str, Any]:
        """The results.json format of Gradescope's autograder."""
        tests = []
        for task in self.tasks:
            output = task.feedback
            tests.append({
                "name": task.title,
                "score": task.points,
                "max_score": task.max_points,
                "output": output,
                "visibility": "visible",
            })
        return {
            "score": self.points,
            "output": self.error or f"{self.points:g} / {self.max_points:g} points",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
        }

    def feedback_text(self) -> str:
        """A plain-text report for the student."""
        lines = [f"{self.assignment}: {self.points:g} / {self.max_points:g} points"]
        if self.error:
            lines.append(f"Your notebook could not be graded: {self.error}")
        for task in self.tasks:
            lines.append("")
            lines.append(f"{task.title}: {task.points:g} / {task.max_points:g}")
            lines.extend("  " + line for line in task.feedback.splitlines())
        return "\n".join(lines) + "\n"
