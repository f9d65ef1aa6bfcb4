"""Reading a submitted notebook and preparing the notebook that is executed.

Students break notebooks: invalid JSON, deleted or copied cells, edited setup
cells.  Anything that cannot be read becomes a ``SubmissionError`` with a reason
a student understands; the setup cells are restored from the assignment.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .errors import SubmissionError
from .notebook_file import TooLarge, read_without_outputs
from .spec import AssignmentSpec

MAX_NOTEBOOK_BYTES = 50 * 2**20


@dataclass(frozen=True)
class PreparedNotebook:
    """The notebook to execute, which cell ends each task, and what was repaired."""

    notebook: Any
    last_cell_of_task: dict[str, int | None]
    notes: tuple[str, ...]
    task_of: dict[int, str] = field(default_factory=dict)  # code cell index -> its task

    def cells_of_task(self, task: str) -> list[int]:
        """The indices of the task's code cells in the notebook executed."""
        return sorted(i for i, t in self.task_of.items() if t == task)


def read_submission(path: Path) -> Any:
    """The notebook at ``path`` without its outputs, read with bounded memory however large its outputs are."""
    data = _read_without_outputs(path)
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError("the file is JSON but not a Jupyter notebook (it has no cells)")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on malformed input
        raise SubmissionError(f"the notebook could not be read ({type(exc).__name__})") from None
    for cell in nb.cells:
        if not isinstance(cell.get("source"), str) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise SubmissionError("the notebook has a malformed cell")
    return nb


def _read_without_outputs(path: Path) -> Any:
    """The notebook's JSON, its cells' outputs and attachments dropped while the file streams past."""
    try:
        with path.open("rb") as handle:
            kept, skipped = read_without_outputs(handle, MAX_NOTEBOOK_BYTES)
    except TooLarge:
        raise SubmissionError(f"the notebook's code and text, without its outputs, are more than"
                              f" {MAX_NOTEBOOK_BYTES / 2**20:.0f} MB: is a large file pasted into it?") from None
    if not kept.strip():
        raise SubmissionError("the file is empty: download the notebook again from Jupyter with File > Download")
    try:
        text = kept.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError("the file is not a text file, so not a Jupyter notebook") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f" at line {exc.lineno}: {exc.msg}" if not skipped else ""
        raise SubmissionError(f"the file is not a valid notebook (invalid JSON{where}); download it again from"
                              " Jupyter with File > Download") from None


def grader_meta(cell: Any) -> dict:
    """The grader's metadata of a cell (task, role), or {} when a student broke it."""
    meta = cell.get("metadata", {}).get("grader")
    return meta if isinstance(meta, dict) else {}


CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([A-Za-z_]\w*)["']\s*\)""")


def _code_key(source: str) -> str:
    """A cell's code without blank lines and trailing spaces: what survives an editor or a jupytext round trip."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines() if line.strip())


def _setup_cells(template: Any) -> list[Any]:
    return [c for c in template.cells if grader_meta(c).get("role") == "setup"]


def _matching_setup(cell: Any, setup: list[Any]) -> Any | None:
    """The template's setup cell this cell is: same id with the setup role, or the same code (ids and metadata
    lost, as after jupytext or an old editor)."""
    if cell.cell_type != "code":
        return None
    for original in setup:
        if cell.get("id") and cell.get("id") == original.get("id") and grader_meta(cell).get("role") == "setup":
            return original
    key = _code_key(cell.source)
    return next((original for original in setup if key and key == _code_key(original.source)), None)


def task_of_cells(cells: list[Any], tasks: list[str]) -> dict[int, str]:
    """The task of each code cell: from its metadata, else from the ``check("task")`` it calls, else the task of the
    cells around it (a cell split off, pasted or written anew sits in the task whose check cell follows it)."""
    known = set(tasks)
    found: dict[int, str] = {}
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        task = grader_meta(cell).get("task")
        if task in known:
            found[index] = task
            continue
        called = [name for name in CHECK_CALL.findall(cell.source) if name in known]
        if called:
            found[index] = called[-1]
    # A code cell with no task of its own belongs to the task of the next cell that has one, as long as the
    # previous one is of that task too or is before that task's first cell (so a cell between two tasks stays out).
    result = dict(found)
    ordered = sorted(found)
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or index in found:
            continue
        after = next((i for i in ordered if i > index), None)
        before = next((i for i in reversed(ordered) if i < index), None)
        if after is not None and (before is None or found[before] == found[after]
                                  or _first_mention(found, found[after]) == after):
            result[index] = found[after]
    return result


def _first_mention(found: dict[int, str], task: str) -> int:
    return min(i for i, t in found.items() if t == task)


def prepare(nb: Any, template: Any, spec: AssignmentSpec) -> PreparedNotebook:
    """Clear outputs, restore the setup cells, and find where each task ends, in notebooks as students leave them:
    cells moved, copied, split, merged or deleted, metadata stripped (another editor, jupytext), old nbformat."""
    notes: list[str] = []
    setup = _setup_cells(template)
    seen: set[int] = set()
    cells = []
    for cell in nb.cells:
        original = _matching_setup(cell, setup)
        if original is not None:
            if id(original) in seen:
                continue
            seen.add(id(original))
            cell = nbformat.from_dict(dict(original))
        elif cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    missing = [c for c in setup if id(c) not in seen]
    if missing:
        notes.append("setup cells that were deleted or changed were put back as they were given")
        cells = [nbformat.from_dict(dict(c)) for c in missing] + cells
    nb.cells = cells
    task_of = task_of_cells(nb.cells, [t.name for t in spec.tasks])
    last: dict[str, int | None] = {task.name: None for task in spec.tasks}
    for index, task in sorted(task_of.items()):
        last[task] = index
    template_tasks = {grader_meta(c).get("task") for c in template.cells}
    for task in spec.tasks:
        if last[task.name] is None and task.name in template_tasks:  # (an otter notebook marks no task's cells)
            notes.append(f"the cells of {task.title} were not found (deleted?); its variables are"
                         " read at the end of the notebook")
    return PreparedNotebook(notebook=nb, last_cell_of_task=last, notes=tuple(notes), task_of=task_of)
