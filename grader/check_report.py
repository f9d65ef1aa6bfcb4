"""What a student's check of one task found, shown as plain text or as an HTML table (JupyterLab, Colab)."""
from __future__ import annotations

import html
from dataclasses import dataclass

from .results import TaskResult

PASSED, FAILED, NOT_DONE = "passed", "failed", "not done"
COLOURS = {PASSED: "#1a7f37", FAILED: "#cf222e", NOT_DONE: "#9a6700"}
MARKS = {True: "PASS", False: "FAIL"}
TABLE_STYLE = "border-collapse:collapse;margin:4px 0;text-align:left"
CELL_STYLE = "padding:2px 8px;vertical-align:top;text-align:left;border-bottom:1px solid #d0d7de"


@dataclass(frozen=True)
class CheckReport:
    """A task's public checks on the notebook's live variables, and what they leave to the grader."""

    result: TaskResult
    not_covered: tuple[str, ...] = ()
    not_covered_points: float = 0.0
    variables: tuple[str, ...] = ()  # the task's variables
    undefined: tuple[str, ...] = ()  # those not defined yet

    @property
    def all_passed(self) -> bool:
        return all(c.passed for c in self.result.checks)

    @property
    def status(self) -> str:
        if self.variables and set(self.undefined) >= set(self.variables):
            return NOT_DONE
        return PASSED if self.all_passed else FAILED

    def headline(self) -> str:
        checks = self.result.checks
        passed = sum(c.passed for c in checks)
        if self.status == NOT_DONE:
            return f"{self.result.title}: not done yet ({', '.join(self.undefined)} not defined)"
        if not checks:
            return f"{self.result.title}: no public checks for this task"
        what = "all public checks passed" if self.all_passed else f"{passed} of {len(checks)} public checks passed"
        return f"{self.result.title}: {what}"

    def covered_line(self) -> str:
        public = sum(c.max_points for c in self.result.checks)
        total = public + self.not_covered_points
        if not self.not_covered:
            return "The grader runs these checks only."
        return (f"Not checked here ({self.not_covered_points:g} of the task's {total:g} points),"
                " the grader also does this:")

    def __str__(self) -> str:
        lines = [self.headline()]
        for check in self.result.checks:
            first, *rest = check.message.splitlines() or [""]
            lines.append(f"  {MARKS[check.passed]} {check.title}: {first}")
            lines.extend(f"       {line}" for line in rest)
        lines.append("  " + self.covered_line())
        lines.extend(f"    - {line}" for line in self.not_covered)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return html_block(self.headline(), COLOURS[self.status], check_table(self.result),
                          self.covered_line(), self.not_covered)


def check_table(result: TaskResult) -> str:
    """One row per check: PASS/FAIL, what it checks, and its message line by line (a model's diff stays readable)."""
    if not result.checks:
        return ""
    rows = []
    for check in result.checks:
        colour = COLOURS[PASSED if check.passed else FAILED]
        message = "<br>".join(html.escape(line) for line in check.message.splitlines())
        rows.append(f'<tr><td style="{CELL_STYLE};color:{colour};font-weight:bold">{MARKS[check.passed]}</td>'
                    f'<td style="{CELL_STYLE}">{html.escape(check.title)}</td>'
                    f'<td style="{CELL_STYLE};font-family:monospace;white-space:pre-wrap">{message}</td></tr>')
    head = "".join(f'<th style="{CELL_STYLE}">{name}</th>' for name in ("", "check", "what it found"))
    return f'<table style="{TABLE_STYLE}"><tr>{head}</tr>{"".join(rows)}</table>'


def html_block(headline: str, colour: str, body: str, covered: str, not_covered: tuple[str, ...]) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in not_covered)
    return (f'<div style="border-left:4px solid {colour};padding-left:8px;margin:4px 0">'
            f'<div style="font-weight:bold;color:{colour}">{html.escape(headline)}</div>{body}'
            f'<div style="color:#57606a">{html.escape(covered)}</div>'
            + (f'<ul style="margin:0;color:#57606a">{items}</ul>' if items else "") + "</div>")
