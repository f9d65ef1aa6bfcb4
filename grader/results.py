"""What grading found: typed results that travel as JSON."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from grader.spec import FORMAT_TWINS
from grader.student_text import one_line, quoted

GRADER_FAILED = "the grader failed on this submission"  # how a result the grader, not the student, failed begins
CHECK_MARKS = ("[PASS]", "[FAIL]")  # how a check's line in a task's feedback begins
NOT_GRADED = "Not graded in full:"
HIDDEN_ON_GRADESCOPE = "after_due_date"  # a hidden check's outcome: not shown to students before the due date
MAX_MESSAGE_LINES = 1000  # of a check's message in the feedback (a model's differences take one line a layer)
PASSED, FAILED = "passed", "failed"  # a Gradescope test's "status" (its specification's optional field)
FORM_KINDS = tuple(FORMAT_TWINS)  # hidden answers whose public twin (the student's check()) reads their form
VERDICT = re.compile(r"^(correct|.* is not the right answer)$")  # what only the hidden check says: the verdict


def form_problem(check: "CheckResult") -> str | None:
    """What a hidden answer's failed check says of the answer's form ("there is no option c"), which the check's
    public twin, the student's own ``check()``, says in the same words (both read the answer with one rule,
    ``grader/checks/answers.py``); None for a verdict ("is not the right answer"), a pass or another check."""
    if check.public or check.passed or check.kind not in FORM_KINDS:
        return None
    first = lines_of(check.message)[0] if check.message else ""
    return None if not first or VERDICT.match(first) else first


def lines_of(text: str) -> list[str]:
    """The lines of text the grader joined with newlines: split at ``\\n`` only (``str.splitlines`` also splits
    at ``\\r``, ``\\x0b``, ``\\x1c``, U+2028 and more, which only a student's text can hold)."""
    return text.split("\n") if text else []


def _require(data: Mapping[str, Any], what: str, text: tuple[str, ...] = (), numbers: tuple[str, ...] = (),
             flags: tuple[str, ...] = ()) -> None:
    """A result read back from JSON has the types its fields need, or a ValueError names the first that has not
    (a result file edited or damaged by hand never breaks a report later)."""
    for name in text:
        if name in data and not isinstance(data[name], str):
            raise ValueError(f"{what}: its {name!r} is not text")
    for name in numbers:
        if isinstance(data.get(name), bool) or not isinstance(data.get(name), (int, float)):
            raise ValueError(f"{what}: its {name!r} is not a number")
    for name in flags:
        if not isinstance(data.get(name), bool):
            raise ValueError(f"{what}: its {name!r} is not true or false")


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
    consequence_of: str = ""  # the check that already counted the mistake this failure follows from (no points lost)

    def message_lines(self) -> list[str]:
        """Its message as the lines to show, each ``one_line`` (no control a student wrote reaches a terminal or a
        file). The message's own newlines are the check's (a model's differences, one layer a line); a line that
        would read as a check of its own (``[PASS] ...``, from a student's text in the message) is shown quoted."""
        first, *rest = lines_of(self.message)[:MAX_MESSAGE_LINES] or [""]
        shown = [(line, one_line(line)) for line in rest]
        return [one_line(first), *(quoted(line) if one.lstrip().startswith(CHECK_MARKS) else one
                                   for line, one in shown)]

    def feedback_lines(self) -> list[str]:
        """Its lines in a task's feedback: ``[PASS] title (1/1): message``, the message's further lines indented."""
        first, *rest = self.message_lines()
        mark = CHECK_MARKS[0] if self.passed else CHECK_MARKS[1]
        return [f"{mark} {one_line(self.title)} ({self.points:g}/{self.max_points:g}): {first}",
                *(f"       {line}" for line in rest)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckResult":
        data = dict(data)
        _require(data, f"check {str(data.get('title'))[:40]!r}", text=("kind", "title", "message"),
                 numbers=("points", "max_points"), flags=("passed",))
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

    @property
    def notes(self) -> list[str]:
        """What the grader noted about the task's cells (repairs), which its feedback gives before the checks."""
        notes = []
        for line in lines_of(self.feedback):
            if line.startswith(CHECK_MARKS):
                break
            if line.strip() and not line.startswith(NOT_GRADED):
                notes.append(line)
        return notes

    def _lines_before_checks(self) -> list[str]:
        return [*map(one_line, self.notes),
                *([f"{NOT_GRADED} {one_line(self.ungraded_reason)}."] if self.ungraded_reason else [])]

    def feedback_lines(self) -> list[str]:
        """Its feedback as lines, made from what it holds: its notes, why it was not graded in full, its checks'
        lines; every field ``one_line`` (what ``score_task`` stored as ``feedback``, for any result)."""
        return self._lines_before_checks() + [line for check in self.checks for line in check.feedback_lines()]

    def gradescope_tests(self) -> list[dict[str, Any]]:
        """The task as Gradescope tests: the checks students may see at once (those they can run themselves, and
        what a hidden answer's check says of the answer's form, which the student's own ``check()`` says too), and
        the hidden checks in a test of their own shown after the due date, so that resubmitting cannot probe them.
        Each test's ``status`` says whether a check in it failed (a test worth 0 points is no pass for that)."""
        shown = [c for c in self.checks if c.public]
        hidden = [c for c in self.checks if not c.public]
        forms = [(c, problem) for c in hidden if (problem := form_problem(c))]
        lines = self._lines_before_checks() + [line for check in shown for line in check.feedback_lines()]
        lines += [f"{CHECK_MARKS[1]} {one_line(c.title)}: the form of the answer: {one_line(problem)}"
                  for c, problem in forms]
        if hidden:
            lines.append(f"{len(hidden)} more check{'s' * (len(hidden) > 1)} of this task: shown after the due date.")
        if not self.checks:
            return [{"name": self.title, "score": self.points, "max_score": self.max_points,
                     "status": FAILED if self.ungraded_reason or self.points < self.max_points else PASSED,
                     "output": "\n".join(lines), "visibility": "visible"}]
        tests = [{"name": self.title, "score": sum(c.points for c in shown),
                  "max_score": sum(c.max_points for c in shown), "output": "\n".join(lines), "visibility": "visible"}]
        if forms or self.ungraded_reason or not all(c.passed for c in shown):
            tests[0]["status"] = FAILED
        elif shown:
            tests[0]["status"] = PASSED  # (nothing shown yet: no status, no verdict either way)
        if hidden:
            tests.append({"name": f"{self.title}: hidden checks", "score": sum(c.points for c in hidden),
                          "max_score": sum(c.max_points for c in hidden),
                          "status": PASSED if all(c.passed for c in hidden) else FAILED,
                          "output": "\n".join(line for check in hidden for line in check.feedback_lines()),
                          "visibility": HIDDEN_ON_GRADESCOPE})
        return tests

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [asdict(c) for c in self.checks]
        data["passed_checks"] = self.passed_checks
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TaskResult":
        data = dict(data)
        _require(data, f"task {str(data.get('name'))[:40]!r}", text=("name", "title", "feedback"),
                 numbers=("points", "max_points"))
        if data.get("ungraded_reason") is not None and not isinstance(data["ungraded_reason"], str):
            raise ValueError(f"task {str(data.get('name'))[:40]!r}: its 'ungraded_reason' is not text")
        if not isinstance(data.get("checks", []), list):
            raise ValueError(f"task {str(data.get('name'))[:40]!r}: its 'checks' are not a list")
        data.pop("passed_checks", None)
        data["checks"] = tuple(CheckResult.from_dict(c) for c in data.get("checks", ()))
        return cls(**data)


@dataclass(frozen=True)
class CellReport:
    """How one executed cell ended, as told by the in-sandbox runner (untrusted, for feedback only). What the
    student wrote (the exception's name and message, the cell's first line) is kept ``one_line``: every message
    made from it is one line, with no control in it."""

    index: int
    status: str  # ok | error | timeout | kernel_died | not_run
    task: str | None = None
    ename: str = ""
    evalue: str = ""
    exit_code: int | None = None
    first_line: str = ""
    code_cell: int | None = None  # its number among the notebook's code cells, from 1
    line: int | None = None  # the line of the cell where its error arose (from its traceback), from 1
    line_text: str = ""  # that line, as the notebook has it
    unset: tuple[str, ...] = ()  # what the cell sets from that line on: what it did not set

    def __post_init__(self) -> None:
        for name in ("ename", "evalue", "first_line", "line_text"):
            object.__setattr__(self, name, one_line(getattr(self, name)))
        object.__setattr__(self, "unset", tuple(one_line(name, 100) for name in self.unset))


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
    provenance: Mapping[str, str] = field(default_factory=dict)  # what it was graded from (grader/batch/cache.py)

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
        """Read back from JSON; a field of the wrong type is a ValueError that names it (a result file edited or
        damaged by hand), never a result that breaks a report later."""
        if not isinstance(data, Mapping):
            raise ValueError("a result is a JSON object")
        for name in ("submission", "assignment", "sandbox"):
            if not isinstance(data.get(name), str):
                raise ValueError(f"its {name!r} is not text")
        _require(data, "the result", numbers=("points", "max_points"))
        if not isinstance(data.get("tasks"), list) or not all(isinstance(t, Mapping) for t in data["tasks"]):
            raise ValueError("its 'tasks' are not a list of tasks")
        if data.get("error") is not None and not isinstance(data["error"], str):
            raise ValueError("its 'error' is not text")
        for name in ("execution", "provenance"):
            if not isinstance(data.get(name) or {}, Mapping):
                raise ValueError(f"its {name!r} is not an object")
        return cls(
            submission=data["submission"], assignment=data["assignment"], points=data["points"],
            max_points=data["max_points"], sandbox=data["sandbox"], error=data.get("error"),
            execution=data.get("execution") or {}, provenance=data.get("provenance") or {},
            tasks=tuple(TaskResult.from_dict(t) for t in data["tasks"]),
        )

    def to_gradescope_dict(self) -> dict[str, Any]:
        """The results.json format of Gradescope's autograder (its "Autograder Specifications"): hidden checks in
        tests shown after the due date (Gradescope then shows students their total only when all are shown)."""
        hidden = any(not check.public for task in self.tasks for check in task.checks)
        total = "your total is shown after the due date, with the hidden checks" if hidden \
            else f"{self.points:g} / {self.max_points:g} points"
        data: dict[str, Any] = {
            "score": self.points,
            "output": one_line(self.error) if self.error else total,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [test for task in self.tasks for test in task.gradescope_tests()],
        }
        seconds = self.execution.get("seconds")
        if isinstance(seconds, (int, float)):
            data["execution_time"] = round(seconds)
        return data

    def feedback_text(self) -> str:
        """A plain-text report for the student (``feedback/*.txt``, and what ``grader grade`` prints): each field
        ``one_line``, so that only the lines written here are lines and no control a student wrote reaches the file
        or the terminal."""
        lines = [f"{one_line(self.assignment)}: {self.points:g} / {self.max_points:g} points"]
        if self.error:
            lines.append(f"Your notebook could not be graded: {one_line(self.error)}")
        for task in self.tasks:
            lines.append("")
            lines.append(f"{one_line(task.title)}: {task.points:g} / {task.max_points:g}")
            lines.extend("  " + line for line in task.feedback_lines())
        return "\n".join(lines) + "\n"
