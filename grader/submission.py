"""Reading a submitted notebook and preparing the notebook that is executed.

Students break notebooks: invalid JSON, deleted or copied cells, edited setup
cells.  Anything that cannot be read becomes a ``SubmissionError`` with a reason
a student understands; the setup cells are restored from the assignment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
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

    def cells_of_task(self, task: str) -> list[int]:
        """The indices of the task's code cells in the notebook executed."""
        return [i for i, c in enumerate(self.notebook.cells) if c.cell_type == "code" and grader_meta(c).get("task") == task]


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


def prepare(nb: Any, template: Any, spec: AssignmentSpec) -> PreparedNotebook:
    """Clear outputs, restore the setup cells, and find where each task ends."""
    notes: list[str] = []
    setup = {c.get("id"): c for c in template.cells if grader_meta(c).get("role") == "setup"}
    seen: set[str] = set()
    cells = []
    for cell in nb.cells:
        meta = grader_meta(cell)
        cell_id = cell.get("id")
        if meta.get("role") == "setup" and cell_id in setup:
            if cell_id in seen:
                continue
            seen.add(cell_id)
            cell = nbformat.from_dict(dict(setup[cell_id]))
        elif cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    missing = [c for c in setup.values() if c.get("id") not in seen]
    if missing:
        notes.append("setup cells that were deleted were put back")
        cells = [nbformat.from_dict(dict(c)) for c in missing] + cells
    nb.cells = cells
    last: dict[str, int | None] = {task.name: None for task in spec.tasks}
    for index, cell in enumerate(nb.cells):
        task = grader_meta(cell).get("task")
        if task in last and cell.cell_type == "code":
            last[task] = index
    template_tasks = {grader_meta(c).get("task") for c in template.cells}
    for task in spec.tasks:
        if last[task.name] is None and task.name in template_tasks:  # (an otter notebook marks no task's cells)
            notes.append(f"the cells of {task.title} were not found (deleted?); its variables are"
                         " read at the end of the notebook")
    return PreparedNotebook(notebook=nb, last_cell_of_task=last, notes=tuple(notes))
