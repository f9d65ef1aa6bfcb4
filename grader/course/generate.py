"""Generating the student's files from the solution notebook, and checking they are in sync."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from grader.course.source import AssignmentSource, read_source
from grader.course.stated import STATED, stated_checks
from grader.errors import SpecError

BEGIN_SOLUTION = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END_SOLUTION = re.compile(r"^\s*# END SOLUTION\s*$")
SOLUTION_LINE = re.compile(r"^(\s*)(.*?)\s*# SOLUTION\s*$")
ASSIGNMENT_LINE = re.compile(r"^([\w\[\]\.,\s]+?)\s*=(?!=)")
PUBLIC_CHECKS_FILE = "public_checks.json"
PLACEHOLDER = "...  # YOUR CODE HERE"


@dataclass(frozen=True)
class StudentFiles:
    """What students get, as text, keyed by file name."""

    notebook_name: str
    files: dict[str, str]


def strip_solution(source: str) -> tuple[str, bool]:
    """Replace the answer lines of a code cell; say whether there were any."""
    out: list[str] = []
    inside = False
    changed = False
    placeholder_last = False  # the line just written is a placeholder for answer lines
    for line in source.split("\n"):
        begin = BEGIN_SOLUTION.match(line)
        if begin and not inside:
            inside = True
            changed = True
            out.append(begin.group(1) + PLACEHOLDER)
            continue
        if inside:
            if END_SOLUTION.match(line):
                inside = False
                placeholder_last = True
            continue
        single = SOLUTION_LINE.match(line)
        if single:
            changed = True
            indent, code = single.groups()
            target = ASSIGNMENT_LINE.match(code)
            if target:  # the name the student defines stays: `x = ...`
                out.append(f"{indent}{target.group(1).strip()} = ...")
                placeholder_last = False
            elif not (placeholder_last and out and out[-1] == indent + PLACEHOLDER):
                out.append(indent + PLACEHOLDER)  # consecutive answer lines at one indentation: one placeholder
                placeholder_last = True
            continue
        placeholder_last = False
        out.append(line)
    if inside:
        raise SpecError("a '# BEGIN SOLUTION' block is never closed")
    return "\n".join(out), changed


def _student_cell(cell, task: str | None, number: int, keep_solutions: bool):
    if cell.cell_type == "code":
        source, is_answer = strip_solution(cell.source)
        role = "answer" if is_answer else ("scaffold" if task else "setup")
        if keep_solutions:
            source = "\n".join(line for line in cell.source.split("\n")
                               if not BEGIN_SOLUTION.match(line) and not END_SOLUTION.match(line))
            source = re.sub(r"[ \t]*# SOLUTION[ \t]*$", "", source, flags=re.M)
        new = nbformat.v4.new_code_cell(source)
    elif cell.cell_type == "markdown":
        new = nbformat.v4.new_markdown_cell(cell.source)
        role = "text"
    else:
        new = nbformat.v4.new_raw_cell(cell.source)
        role = "text"
    new["id"] = f"{task or 'common'}-{number}"
    new.metadata["grader"] = {"task": task, "role": role}
    if role == "setup":
        new.metadata["editable"] = False
        new.metadata["deletable"] = False
    return new


def student_notebook(source: AssignmentSource, keep_solutions: bool = False):
    """The student's notebook: solutions and checks removed, scaffolding and instructions kept.

    With ``keep_solutions``, the same notebook filled in with the reference answers: what a
    perfect student would submit.
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "grader": {"assignment": source.spec.name, "format": 1},
    }
    for number, item in enumerate(source.cells):
        nb.cells.append(_student_cell(item.cell, item.task, number, keep_solutions))
    nbformat.validate(nb)
    return nb


def public_checks_json(source: AssignmentSource) -> str:
    """What students' own checks read: the public checks; per task, only the kind, variable and points of each
    check left out (never its parameters: they hold the answers), and of those the task's text states (an
    accuracy to reach, when training stops) the thresholds it states (``grader/course/stated.py``); the limits a
    submission
    runs under; and the setup cells as given (to tell a student which were changed)."""
    data = source.spec.public_view().to_dict()
    stated = stated_checks(source)
    for task, public in zip(source.spec.tasks, data["tasks"]):
        public["also_graded"] = [{"kind": c.kind, "evidence": c.evidence, "points": c.points}
                                 for c in task.checks if not c.public]
        if task.name in stated:
            public[STATED] = stated[task.name]
    data["limits"] = asdict(source.spec.limits)
    data["setup_cells"] = [{"id": cell["id"], "source": cell.source} for cell in student_notebook(source).cells
                           if cell.metadata["grader"]["role"] == "setup"]
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def student_files(source: AssignmentSource) -> StudentFiles:
    name = f"{source.spec.name}.ipynb"
    return StudentFiles(name, {
        name: nbformat.writes(student_notebook(source)) + "\n",
        PUBLIC_CHECKS_FILE: public_checks_json(source),
    })


def generate(solution: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the student's files for a solution notebook into ``out_dir``."""
    files = student_files(read_source(solution))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.files.items():
        (out / name).write_text(text)
        written.append(out / name)
    return written


def out_of_date(solution: str | Path, out_dir: str | Path) -> list[str]:
    """Names of the student files that differ from what the solution generates."""
    files = student_files(read_source(solution))
    stale = []
    for name, text in files.files.items():
        path = Path(out_dir) / name
        if not path.is_file() or path.read_text() != text:
            stale.append(name)
    return stale
