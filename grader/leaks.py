"""Finding answers and hidden checks in the files students get."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .generate import BEGIN_SOLUTION, END_SOLUTION, PUBLIC_CHECKS_FILE, SOLUTION_LINE
from .source import MARKS, AssignmentSource
from .spec import FORMAT_TWINS

MIN_LINE = 10
ALSO_GRADED_KEYS = {"kind", "evidence", "points"}


def solution_lines(source: AssignmentSource) -> set[str]:
    """The answer lines of the solution notebook, stripped, long enough to be telling."""
    lines: set[str] = set()
    for item in source.cells:
        if item.cell.cell_type != "code":
            continue
        inside = False
        for line in item.cell.source.split("\n"):
            if BEGIN_SOLUTION.match(line):
                inside = True
                continue
            if END_SOLUTION.match(line):
                inside = False
                continue
            single = SOLUTION_LINE.match(line)
            text = single.group(2).strip() if single else line.strip() if inside else ""
            if len(text) >= MIN_LINE and re.search(r"\w", text):
                lines.add(text)
    return lines


def find_leaks(source: AssignmentSource, student_dir: Path) -> list[str]:
    """Every answer line, solution marker or hidden check found in the student's files."""
    problems = []
    notebook = student_dir / f"{source.spec.name}.ipynb"
    nb = json.loads(notebook.read_text())
    code = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                     for c in nb["cells"] if c["cell_type"] == "code")
    everything = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                           for c in nb["cells"])
    for line in sorted(solution_lines(source)):
        if line in code:
            problems.append(f"{notebook.name}: contains the answer line {line!r}")
    for mark in (*MARKS, "# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION"):
        if mark in everything:
            problems.append(f"{notebook.name}: contains the marker {mark!r}")
    public = json.loads((student_dir / PUBLIC_CHECKS_FILE).read_text())
    public_checks = [c for t in public["tasks"] for c in t["checks"]]
    hidden = [c.to_dict() for t in source.spec.tasks for c in t.checks if not c.public]
    for check in public_checks:
        if check.get("kind") in FORMAT_TWINS:  # a choice, number or shape with its expected answer
            problems.append(f"{PUBLIC_CHECKS_FILE}: the check {check.get('title')!r} reveals an answer")
        if not check.get("public"):
            problems.append(f"{PUBLIC_CHECKS_FILE}: contains the hidden check {check.get('title')!r}")
        if check in hidden:
            problems.append(f"{PUBLIC_CHECKS_FILE}: contains the hidden check {check.get('title')!r}")
    for task in public["tasks"]:
        for note in task.get("also_graded", ()):
            if set(note) != ALSO_GRADED_KEYS:  # a check left out is named by its kind only: its parameters hold answers
                problems.append(f"{PUBLIC_CHECKS_FILE}: the note on a hidden check of {task.get('name')!r}"
                                f" says more than {sorted(ALSO_GRADED_KEYS)}")
    for path in sorted(student_dir.rglob("*")):
        if path.is_file() and path.suffix not in (".ipynb", ".json", ".md", ".txt", ".py"):
            problems.append(f"{path.name}: unexpected file in the student's folder")
    return problems
