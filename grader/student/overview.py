"""The check of everything before handing in: each task's public checks, the setup cells, what is left to the grader.

Tasks are checked on the live variables; the setup cells are compared in the notebook file as saved on disk, by
the grader's own rule (the same code, blank lines and trailing spaces aside): the grader runs a changed setup
cell as it was given, so a change there does not count.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from grader.course.handout import Handout
from grader.errors import SubmissionError
from grader.grading.submission import _code_key, read_submission
from grader.student.check_report import (
    COLOURS,
    FAILED,
    NOT_DONE,
    NOT_READY,
    PASSED,
    SECONDARY,
    CheckReport,
    check_table,
)
from grader.student.live_checks import check_known_task
from grader.student_text import cut_at_word

STATUS_WORDS = {PASSED: "PASS", FAILED: "FAIL", NOT_DONE: "NOT DONE", NOT_READY: "NOT READY"}


def first_line(text: str, width: int = 60) -> str:
    """The first line of ``text`` that is not blank, in at most ``width`` characters (cut after a whole word)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return cut_at_word(lines[0], width) if lines else "(empty)"


def changed_setup_cells(nb: Any, handout: Handout) -> list[str]:
    """A sentence for each setup cell that is not in the notebook as it was given."""
    problems = []
    keys = {_code_key(c.source) for c in nb.cells if c.cell_type == "code"}
    by_id = {c.get("id"): (number, c) for number, c in enumerate(nb.cells, 1) if c.get("id")}
    for setup in handout.setup_cells:
        if _code_key(setup["source"]) in keys:
            continue
        found = by_id.get(setup["id"])
        if found:
            problems.append(f"cell {found[0]} ({first_line(setup['source'])}) is a setup cell and was changed: the"
                            " grader runs it as it was given, so your change will not count")
        else:
            problems.append(f"the setup cell that starts {first_line(setup['source'])!r} was changed or deleted: the"
                            " grader puts it back as it was given, at the top")
    return problems


@dataclass(frozen=True)
class OverviewReport:
    """Every task's check, the setup cells changed in the saved notebook, and the notebook that was read."""

    title: str
    tasks: tuple[CheckReport, ...]
    setup_changed: tuple[str, ...]
    notebook: Path | None
    notebook_problem: str | None = None

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.tasks)

    @property
    def ready(self) -> bool:
        return self.count(PASSED) == len(self.tasks) and not self.setup_changed and not self.notebook_problem

    def headline(self) -> str:
        parts = [f"{self.count(PASSED)} of {len(self.tasks)} tasks pass their public checks"]
        if self.count(FAILED):
            parts.append(f"{self.count(FAILED)} failing")
        if self.count(NOT_READY):
            parts.append(f"{self.count(NOT_READY)} not ready for the grader")
        if self.count(NOT_DONE):
            parts.append(f"{self.count(NOT_DONE)} not done")
        return f"{self.title}: " + ", ".join(parts)

    def notebook_lines(self) -> list[str]:
        if self.notebook_problem:
            return [f"The setup cells were not compared: {self.notebook_problem}"]
        assert self.notebook is not None  # (a notebook that could not be found is a notebook_problem)
        if not self.setup_changed:
            return [f"Setup cells: as given (in {self.notebook.name} as saved on disk)"]
        return [f"Setup cells changed (in {self.notebook.name} as saved on disk):", *self.setup_changed]

    def __str__(self) -> str:
        lines = [self.headline()]
        for task in self.tasks:
            lines.append(f"  {STATUS_WORDS[task.status]:<8} {task.headline()}")
            if task.status == FAILED:
                lines.extend(f"           FAIL {c.title}: {first_line(c.message, 200)}"
                             for c in task.result.checks if not c.passed)
            lines.extend(f"           NOT READY {first_line(u.line(), 200)}" for u in task.unmet)
        first, *rest = self.notebook_lines()
        lines += [first, *(f"  - {line}" for line in rest)]
        lines.append("Not checked here, the grader also does this:")
        lines.extend(f"  - {task.result.title}: {line}" for task in self.tasks for line in task.not_covered)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = []
        for task in self.tasks:
            colour = COLOURS[task.status]
            body = check_table(task.result) if task.status == FAILED else ""
            body += "".join(f'<div style="color:{COLOURS[NOT_READY]}">&nbsp;&nbsp;not ready: {html.escape(u.line())}'
                            "</div>" for u in task.unmet)
            opened = " open" if task.status in (FAILED, NOT_READY) else ""
            rows.append(f'<details{opened}><summary style="color:{colour}">'
                        f"<b>{STATUS_WORDS[task.status]}</b> {html.escape(task.headline())}</summary>{body}"
                        + "".join(f'<div style="color:{SECONDARY}">&nbsp;&nbsp;not checked here: {html.escape(line)}'
                                  "</div>" for line in task.not_covered) + "</details>")
        first, *rest = self.notebook_lines()
        colour = COLOURS[FAILED if rest or self.notebook_problem else PASSED]
        setup = (f'<div style="color:{colour}">{html.escape(first)}</div>'
                 + "".join(f"<div>&nbsp;&nbsp;{html.escape(line)}</div>" for line in rest))
        colour = COLOURS[PASSED if self.ready else FAILED]
        return (f'<div style="border-left:4px solid {colour};padding-left:8px">'
                f'<div style="font-weight:bold;color:{colour}">{html.escape(self.headline())}</div>'
                f'{"".join(rows)}{setup}</div>')


def check_everything(handout: Handout, namespace: Mapping[str, Any], notebook: Path | None,
                     notebook_problem: str | None = None) -> OverviewReport:
    tasks = tuple(check_known_task(handout, task.name, namespace) for task in handout.spec.tasks)
    changed: list[str] = []
    if notebook is not None and notebook_problem is None:
        try:
            changed = changed_setup_cells(read_submission(notebook), handout)
        except SubmissionError as exc:
            notebook_problem = f"{notebook.name}: {exc}"
    return OverviewReport(handout.spec.title, tasks, tuple(changed), notebook, notebook_problem)
