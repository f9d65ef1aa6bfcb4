"""What a student's check of one task found, shown as plain text or as an HTML table (JupyterLab, Colab)."""
from __future__ import annotations

import html
from dataclasses import dataclass

from grader.results import TaskResult
from grader.student.readiness import Unmet
from grader.student_text import quoted

PASSED, FAILED, NOT_DONE, NOT_READY = "passed", "failed", "not done", "not ready"
# The theme's own colours where the front end has a theme (JupyterLab's --jp-*, VS Code's --vscode-*), chosen so
# that each reads at WCAG's 4.5:1 or better on both the light and the dark theme's background; colours for a white
# page where there is none (the classic notebook).  One variable name has to serve both themes: JupyterLab's
# success-color0 and error-color1 do, its warn colours do not (3.8:1 and 2.7:1 on white), so a warning is shown in
# the text's own colour, marked by its words ("not done yet", "not ready").
COLOURS = {PASSED: "var(--jp-success-color0, var(--vscode-testing-iconPassed, #1a7f37))",
           FAILED: "var(--jp-error-color1, var(--vscode-errorForeground, #cf222e))",
           NOT_DONE: "var(--jp-content-font-color1, var(--vscode-editor-foreground, #6e4b00))",
           NOT_READY: "var(--jp-content-font-color1, var(--vscode-editor-foreground, #6e4b00))"}
SECONDARY = "var(--jp-content-font-color2, var(--vscode-descriptionForeground, #57606a))"  # notes, what is left out
BORDER = "var(--jp-border-color2, var(--vscode-editorWidget-border, #d0d7de))"
MARKS = {True: "PASS", False: "FAIL"}
TABLE_STYLE = "border-collapse:collapse;margin:4px 0;text-align:left"
CELL_STYLE = f"padding:2px 8px;vertical-align:top;text-align:left;border-bottom:1px solid {BORDER}"


@dataclass(frozen=True)
class CheckReport:
    """A task's public checks on the notebook's live variables, and what they leave to the grader."""

    result: TaskResult
    not_covered: tuple[str, ...] = ()
    not_covered_points: float = 0.0
    variables: tuple[str, ...] = ()  # the task's variables
    undefined: tuple[str, ...] = ()  # those not defined yet
    unmet: tuple[Unmet, ...] = ()  # what the grader's own checks need and do not find (one finding per check)

    @property
    def all_passed(self) -> bool:
        """Whether every public check passed (what they did not check aside)."""
        return all(c.passed for c in self.result.checks)

    @property
    def status(self) -> str:
        if self.variables and set(self.undefined) >= set(self.variables):
            return NOT_DONE
        if not self.all_passed:
            return FAILED
        return NOT_READY if self.unmet else PASSED

    @property
    def total_points(self) -> float:
        return sum(c.max_points for c in self.result.checks) + self.not_covered_points

    @property
    def unmet_points(self) -> float:
        return sum(u.points for u in self.unmet)

    def headline(self) -> str:
        checks = self.result.checks
        passed = sum(c.passed for c in checks)
        if self.status == NOT_DONE:
            return f"{self.result.title}: not done yet ({', '.join(self.undefined)} not defined)"
        if not checks:
            what = "no public checks for this task"
        elif self.all_passed:
            what = "all public checks passed"
        else:
            what = f"{passed} of {len(checks)} public checks passed"
        return f"{self.result.title}: {what}{self.what_else()}"

    def what_else(self) -> str:
        """What a headline of passed checks says in the same breath: what the grader's checks need and do not find,
        else how many of the task's points the public checks do not check."""
        total = self.total_points
        if self.unmet:
            whats = [u.what for u in self.unmet]
            said = whats[0] if len(whats) == 1 else ", ".join(whats[:-1]) + " and " + whats[-1]
            return (f"{', but' if self.all_passed else ';'} {said} ({self.unmet_points:g} of the task's {total:g}"
                    f" points depend on {'it' if len(whats) == 1 else 'them'})")
        if self.status != PASSED or not self.not_covered_points:
            return ""
        if self.not_covered_points >= total:
            return f"; the task's {total:g} point{'s are' if total != 1 else ' is'} not checked here (below)"
        return (f" ({total - self.not_covered_points:g} of the task's {total:g} points); the other"
                f" {self.not_covered_points:g} {'are' if self.not_covered_points != 1 else 'is'} not checked here"
                " (below)")

    def unmet_line(self) -> str:
        return f"Not ready for the grader ({self.unmet_points:g} of the task's {self.total_points:g} points):"

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
        if self.unmet:
            lines.append("  " + self.unmet_line())
            lines.extend(f"    - {u.line()}" for u in self.unmet)
        lines.append("  " + self.covered_line())
        lines.extend(f"    - {line}" for line in self.not_covered)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        body = check_table(self.result)
        if self.unmet:
            items = "".join(f"<li>{html.escape(u.line())}</li>" for u in self.unmet)
            body += (f'<div style="color:{COLOURS[NOT_READY]}">{html.escape(self.unmet_line())}</div>'
                     f'<ul style="margin:0">{items}</ul>')
        return html_block(self.headline(), COLOURS[self.status], body, self.covered_line(), self.not_covered)


@dataclass(frozen=True)
class UnknownTask:
    """A check of a task the assignment does not have: the names of those it has (never a traceback)."""

    name: str
    tasks: tuple[str, ...]
    close: tuple[str, ...] = ()  # the task names that look like it
    status = FAILED
    all_passed = False

    def headline(self) -> str:
        names = ", ".join(f'"{task}"' for task in self.tasks)
        guess = f': did you mean check("{self.close[0]}")?' if self.close else ""
        return f"There is no task {quoted(self.name, 60)} in this assignment{guess or '.'} Its tasks are {names}."

    def __str__(self) -> str:
        return self.headline()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return html_block(self.headline(), COLOURS[FAILED], "", "", ())


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
            f'<div style="color:{SECONDARY}">{html.escape(covered)}</div>'
            + (f'<ul style="margin:0;color:{SECONDARY}">{items}</ul>' if items else "") + "</div>")
