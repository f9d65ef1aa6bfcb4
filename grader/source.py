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
  the grader outside the student's process.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from .errors import SpecError
from .spec import AssignmentSpec, Limits

CONFIG_MARK = "# ASSIGNMENT CONFIG"
BEGIN_QUESTION = "# BEGIN QUESTION"
END_QUESTION = "# END QUESTION"
BEGIN_CHECKS = "# BEGIN CHECKS"
MARKS = (CONFIG_MARK, BEGIN_QUESTION, END_QUESTION, BEGIN_CHECKS)


@dataclass(frozen=True)
class SourceCell:
    """A cell of the solution notebook that students will see, with the task it belongs to."""

    cell: Any  # nbformat.NotebookNode
    task: str | None


@dataclass(frozen=True)
class AssignmentSource:
    """The parsed solution notebook: spec, student-visible cells and notebook metadata."""

    path: Path
    spec: AssignmentSpec
    cells: tuple[SourceCell, ...]
    metadata: dict


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
    """Parse a solution notebook into its spec and the cells students get."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    config: dict[str, Any] | None = None
    tasks: list[dict[str, Any]] = []
    cells: list[SourceCell] = []
    current: dict[str, Any] | None = None
    for index, cell in enumerate(nb.cells):
        mark = _mark_of(cell)
        where = f"{path.name} cell {index}"
        if mark == CONFIG_MARK:
            config = _yaml_body(cell, where) or {}
        elif mark == BEGIN_QUESTION:
            if current is not None:
                raise SpecError(f"{where}: question {current['name']} is not closed")
            head = _yaml_body(cell, where) or {}
            if "name" not in head:
                raise SpecError(f"{where}: a question needs a name")
            current = {"name": head["name"], "title": head.get("title"),
                       "exports": head.get("export") or {}, "checks": []}
        elif mark == BEGIN_CHECKS:
            if current is None:
                raise SpecError(f"{where}: checks outside a question")
            current["checks"].extend(_yaml_body(cell, where) or [])
        elif mark == END_QUESTION:
            if current is None:
                raise SpecError(f"{where}: END QUESTION without BEGIN QUESTION")
            tasks.append(current)
            current = None
        else:
            cells.append(SourceCell(cell, current["name"] if current else None))
    if current is not None:
        raise SpecError(f"{path.name}: question {current['name']} is not closed")
    if config is None or "name" not in config:
        raise SpecError(f"{path.name}: needs a raw '{CONFIG_MARK}' cell with a name")
    names = [t["name"] for t in tasks]
    if len(set(names)) != len(names):
        raise SpecError(f"{path.name}: task names repeat: {names}")
    limits = Limits.from_dict(config.get("limits"))
    spec = AssignmentSpec.from_dict({"name": config["name"], "title": config.get("title"), "tasks": tasks},
                                    limits=limits)
    metadata = {k: v for k, v in nb.metadata.items()}
    return AssignmentSource(path=path, spec=spec, cells=tuple(cells), metadata=metadata)
