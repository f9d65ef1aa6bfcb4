"""Reading an assignment's single source: the reference solution notebook.

The solution notebook follows otter-assign's conventions, so instructors who
already write otter-assign notebooks can reuse them:

* a raw cell starting ``# ASSIGNMENT CONFIG`` holds YAML (name, title, limits);
* a raw cell ``# BEGIN QUESTION`` (YAML: name, title, export) opens a task,
  ``# END QUESTION`` closes it;
* in code cells, lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION``, and
  any line ending in ``# SOLUTION``, are the answer;
* a raw cell ``# BEGIN CHECKS`` holds the task's checks as a YAML list.  Where
  otter runs test code in the student's kernel, these checks are data, run by
  the grader outside the student's process;
* code cells between raw cells ``# BEGIN REFERENCES`` and ``# END REFERENCES`` are
  the instructor's reference functions (``grader.checks.references``): run and
  registered when the notebook is read, never given to students.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import yaml

from grader.checks.references import example_mistakes, load_references, reference, register
from grader.course.schema import (
    Place,
    check_problems,
    checks_problems,
    config_problems,
    question_problems,
    setup_problems,
)
from grader.errors import SpecError
from grader.spec import AssignmentSpec, Limits

CONFIG_MARK = "# ASSIGNMENT CONFIG"
BEGIN_QUESTION = "# BEGIN QUESTION"
END_QUESTION = "# END QUESTION"
BEGIN_CHECKS = "# BEGIN CHECKS"
BEGIN_REFERENCES = "# BEGIN REFERENCES"
END_REFERENCES = "# END REFERENCES"
MARKS = (CONFIG_MARK, BEGIN_QUESTION, END_QUESTION, BEGIN_CHECKS, BEGIN_REFERENCES, END_REFERENCES)
REFERENCES_FILE = "references.py"  # beside the solution notebook: more reference code, read like the cells


@dataclass(frozen=True)
class SourceCell:
    """A cell of the solution notebook that students will see, with the task it belongs to."""

    cell: Any  # nbformat.NotebookNode
    task: str | None


@dataclass(frozen=True)
class AssignmentSource:
    """The parsed solution notebook: spec, student-visible cells, notebook metadata, and the code of its reference
    cells (never student-visible)."""

    path: Path
    spec: AssignmentSpec
    cells: tuple[SourceCell, ...]
    metadata: dict
    reference_code: str = ""


def _mark_of(cell: Any) -> str | None:
    if cell.cell_type != "raw":
        return None
    first = cell.source.lstrip().splitlines()[0].strip() if cell.source.strip() else ""
    return first if first in MARKS else None


def _yaml_body(cell: Any, what: str) -> Any:
    body = cell.source.lstrip().split("\n", 1)[1] if "\n" in cell.source.strip() else ""
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise SpecError(f"{what}: invalid YAML: {exc}") from exc


def read_source(path: str | Path) -> AssignmentSource:
    """Parse a solution notebook into its spec and the cells students get; run its reference cells and register
    the references they define (``grader.checks.references``)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    config: dict[str, Any] | None = None
    tasks: list[dict[str, Any]] = []
    cells: list[SourceCell] = []
    references: list[str] | None = None  # the code of the reference cells, while inside them
    reference_code: list[str] = []
    current: dict[str, Any] | None = None
    problems: list[str] = []  # the specification's mistakes (``grader.course.schema``), all reported at once
    check_cells: dict[str, list[tuple[Place, Any]]] = {}  # task: (where, check) for each check, in order
    for index, cell in enumerate(nb.cells):
        mark = _mark_of(cell)
        where = f"{path.name} cell {index}"
        place = Place(index, mark.lstrip("# ") if mark else "")
        if references is not None:
            if mark == END_REFERENCES:
                reference_code.extend(references)
                references = None
            elif mark:
                raise SpecError(f"{where}: {mark!r} inside the reference cells (close them with '{END_REFERENCES}')")
            elif cell.cell_type == "code":
                references.append(cell.source)
        elif mark == BEGIN_REFERENCES:
            references = []
        elif mark == END_REFERENCES:
            raise SpecError(f"{where}: '{END_REFERENCES}' without '{BEGIN_REFERENCES}'")
        elif mark == CONFIG_MARK:
            config = _yaml_body(cell, where) or {}
            problems += config_problems(config, place)
            config = config if isinstance(config, dict) else {}
        elif mark == BEGIN_QUESTION:
            if current is not None:
                raise SpecError(f"{where}: question {current['name']} is not closed")
            head = _yaml_body(cell, where) or {}
            found = question_problems(head, Place(index, f"{BEGIN_QUESTION.lstrip('# ')}"
                                                         f" {head.get('name', '') if isinstance(head, dict) else ''}"))
            problems += found
            if not isinstance(head, dict) or "name" not in head:
                raise SpecError("\n".join(found) or f"{where}: a question needs a name")
            exports = head.get("export") if isinstance(head.get("export"), dict) else {}
            current = {"name": head["name"], "title": head.get("title"), "exports": exports, "checks": []}
        elif mark == BEGIN_CHECKS:
            if current is None:
                raise SpecError(f"{where}: checks outside a question")
            body = _yaml_body(cell, where)
            place = Place(index, f"{BEGIN_CHECKS.lstrip('# ')} of question {current['name']}")
            problems += checks_problems(body, place)
            body = body if isinstance(body, list) else []
            current["checks"].extend(body)
            check_cells.setdefault(str(current["name"]), []).extend((place, check) for check in body)
        elif mark == END_QUESTION:
            if current is None:
                raise SpecError(f"{where}: END QUESTION without BEGIN QUESTION")
            tasks.append(current)
            current = None
        else:
            cells.append(SourceCell(cell, current["name"] if current else None))
    if current is not None:
        raise SpecError(f"{path.name}: question {current['name']} is not closed")
    if references is not None:
        raise SpecError(f"{path.name}: the reference cells are not closed with '{END_REFERENCES}'")
    if config is None or "name" not in config:
        raise SpecError(f"{path.name}: needs a raw '{CONFIG_MARK}' cell with a name")
    names = [t["name"] for t in tasks]
    if len(set(names)) != len(names):
        raise SpecError(f"{path.name}: task names repeat: {names}")
    code = "\n\n".join(reference_code)
    known: dict[str, Any] = {}
    if code.strip():
        known.update(load_references(code, f"{path} (reference cells)"))
    beside = path.parent / REFERENCES_FILE
    if beside.is_file():
        code = "\n\n".join(filter(str.strip, (code, beside.read_text())))
        known.update(load_references(beside.read_text(), str(beside)))
    register(known)
    for task in tasks:
        for number, (place, check) in enumerate(check_cells.get(str(task["name"]), ()), start=1):
            problems += check_problems(check, number, place, task["exports"], known)
    problems += setup_problems([(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"])
    if problems:
        raise SpecError(f"{path.name} has {len(problems)} mistake{'s' if len(problems) != 1 else ''} in its"
                        " specification:\n" + "\n".join(f"- {problem}" for problem in problems))
    for task in tasks:
        task["checks"] = [_with_references(check, f"{path.name}, task {task['name']}") for check in task["checks"]]
    limits = Limits.from_dict(config.get("limits"))
    spec = AssignmentSpec.from_dict({"name": config["name"], "title": config.get("title"), "tasks": tasks},
                                    limits=limits)
    metadata = {k: v for k, v in nb.metadata.items()}
    return AssignmentSource(path=path, spec=spec, cells=tuple(cells), metadata=metadata, reference_code=code)


def _with_references(check: Any, where: str) -> Any:
    """A check as written, its references known (a ``SpecError`` names one the reference cells do not define), and
    a public example's check with what the reference's typical mistakes give on the example (``mistakes``), so that
    the student's own check names them without the reference."""
    if not isinstance(check, dict):
        return check
    named = [check["reference"]] if "reference" in check else []
    named += [step.get("reference") for step in check.get("steps") or () if isinstance(step, dict)]
    try:
        for name in named:
            reference(name)
        if check.get("kind") == "function_example" and "reference" in check and "args" in check:
            args = tuple(np.asarray(a, dtype=np.float64) for a in check["args"])
            return {**check, "mistakes": example_mistakes(check["reference"], args)}
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
    return check
