"""Reading a submitted notebook and preparing the notebook that is executed.

Students break notebooks: invalid JSON, deleted or copied cells, edited setup
cells.  Anything that cannot be read becomes a ``SubmissionError`` with a reason
a student understands; the setup cells are restored from the assignment.
"""
from __future__ import annotations

import bisect
import json
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import nbformat

from grader.errors import SubmissionError
from grader.grading.notebook_file import MAX_DEPTH, TooDeep, TooLarge, TooManyEntries, read_without_outputs
from grader.spec import AssignmentSpec

log = logging.getLogger(__name__)
MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_CELLS = 10_000  # a long course notebook has a few hundred
MAX_INTEGER_DIGITS = 100  # no number in a notebook Jupyter writes comes near (Python refuses 4,300)
KINDS = ("code", "markdown", "raw")
AGAIN = "download the notebook again from Jupyter with File > Download"


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
    """The notebook at ``path`` without its outputs, read with bounded memory however large its outputs are.

    Total: whatever the file holds (any bytes, nesting, numbers or types), this returns a notebook whose cells
    are what the grader reads (a list of cells, each of a known type with its source as text and its metadata a
    dict), or raises ``SubmissionError`` with a reason a student understands."""
    data = _read_without_outputs(path)
    cells = _cells_of(data)
    for number, cell in enumerate(cells, start=1):
        _check_cell(cell, number)
    if not isinstance(data.get("metadata", {}), dict):
        raise SubmissionError(f"the notebook's metadata is {_kind(data['metadata'])}, not a dictionary: {_EDITED}")
    try:
        nb = nbformat.reader.reads(json.dumps(data))
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on malformed input
        raise SubmissionError(f"the notebook could not be read ({type(exc).__name__}): {_EDITED}") from None
    try:  # as nbformat.reads does (it mends missing and repeated cell ids), without logging the student's content
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - what Jupyter's schema finds invalid is read all the same, as Jupyter does
        log.info("%s does not follow Jupyter's notebook schema (%s)", path, type(exc).__name__)
    for cell in nb.cells:
        if not isinstance(cell.get("source"), str) or cell.get("cell_type") not in KINDS:
            raise SubmissionError("the notebook has a malformed cell")
    return nb


_EDITED = f"was it edited outside Jupyter? {AGAIN}"


def _kind(value: Any) -> str:
    """What a JSON value is, in words."""
    return {dict: "a dictionary", list: "a list", str: "text", bool: "true or false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _cells_of(data: Any) -> list:
    if not isinstance(data, dict) or "cells" not in data:
        old = isinstance(data, dict) and "worksheets" in data
        raise SubmissionError("the file is in Jupyter's old notebook format (version 3): open it in a current"
                              " Jupyter and save it again" if old
                              else "the file is JSON but not a Jupyter notebook (it has no cells)")
    cells = data["cells"]
    if not isinstance(cells, list):
        raise SubmissionError(f"the notebook's cells are {_kind(cells)}, not a list: {_EDITED}")
    if len(cells) > MAX_CELLS:
        raise SubmissionError(f"the notebook has {len(cells):,} cells; the grader reads notebooks of at most"
                              f" {MAX_CELLS:,} cells")
    for key in ("nbformat", "nbformat_minor"):
        version = data.get(key)
        if type(version) is not int or version < 0 or key == "nbformat" and version != 4:
            shown = "missing" if key not in data else f"{version}" if type(version) is int else _kind(version)
            raise SubmissionError(f"the notebook's format version (\"{key}\") is {shown}; the grader reads"
                                  f" Jupyter's format 4: {_EDITED}")
    return cells


def _check_cell(cell: Any, number: int) -> None:
    """A ``SubmissionError`` naming what is wrong with a cell, as far as the grader reads it; where it can, the cell
    is mended in place (a source given as a list of lines is joined, as Jupyter does)."""
    where = f"cell {number} of the notebook (counting from the top, text cells too)"
    if not isinstance(cell, dict):
        raise SubmissionError(f"{where} is {_kind(cell)}, not a cell: {_EDITED}")
    if cell.get("cell_type") not in KINDS:
        kind = cell.get("cell_type")
        shown = repr(kind[:40]) if isinstance(kind, str) else _kind(kind)
        raise SubmissionError(f"{where} has the type {shown}, not code, markdown or raw: {_EDITED}")
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise SubmissionError(f"the source of {where} is {_kind(source)}, not text: {_EDITED}")
    cell["source"] = source
    for key, kind in (("metadata", dict), ("id", str)):
        if key in cell and not isinstance(cell[key], kind):
            wanted = "a dictionary" if kind is dict else "text"
            raise SubmissionError(f"the {key} of {where} is {_kind(cell[key])}, not {wanted}: {_EDITED}")
    if cell["cell_type"] == "code" and not (cell.get("execution_count") is None
                                            or type(cell["execution_count"]) is int):
        cell["execution_count"] = None  # cleared before the notebook runs anyway


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _HugeInteger(len(digits.lstrip("-")))
    return int(digits)


class _HugeInteger(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _open_regular(path: Path) -> BinaryIO:
    """The file opened for reading, refused unless it is a regular file (a FIFO or a device would block or never
    end); ``OSError`` when it cannot be opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionError("the notebook is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_without_outputs(path: Path) -> Any:
    """The notebook's JSON, its cells' outputs and attachments dropped while the file streams past."""
    try:
        with _open_regular(path) as handle:
            kept, skipped = read_without_outputs(handle, MAX_NOTEBOOK_BYTES)
    except OSError as exc:
        raise SubmissionError(f"the notebook could not be opened ({exc.strerror or type(exc).__name__})") from None
    except TooLarge:
        raise SubmissionError(f"the notebook's code and text, without its outputs, are more than"
                              f" {MAX_NOTEBOOK_BYTES / 2**20:.0f} MB: is a large file pasted into it?") from None
    except TooDeep as exc:
        raise SubmissionError(f"{exc.where} is nested {exc.depth:,} levels deep (lists or dictionaries inside each"
                              f" other); the grader reads notebooks nested at most {MAX_DEPTH} levels deep: remove"
                              f" what was put there, or {AGAIN}") from None
    except TooManyEntries as exc:
        raise SubmissionError(f"the notebook's code, text and metadata have more than {exc.limit:,} entries (texts,"
                              " list items and dictionary keys); the grader reads notebooks of at most that many:"
                              f" remove what was put in its metadata, or {AGAIN}") from None
    if not kept.strip():
        raise SubmissionError(f"the file is empty: {AGAIN}")
    try:
        text = kept.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError("the file is not a text file, so not a Jupyter notebook") from None
    try:
        return json.loads(text, parse_int=_parse_int)
    except _HugeInteger as exc:
        raise SubmissionError(f"the notebook holds an integer of {exc.digits:,} digits; the grader reads numbers of"
                              f" at most {MAX_INTEGER_DIGITS} digits: {_EDITED}") from None
    except json.JSONDecodeError as exc:
        where = f" at line {exc.lineno}: {exc.msg}" if not skipped else ""
        raise SubmissionError(f"the file is not a valid notebook (invalid JSON{where}); {AGAIN}") from None
    except RecursionError:  # not reached: the scanner bounds the nesting (a second guard, with the same reason)
        raise SubmissionError(f"the notebook is nested more than {MAX_DEPTH} levels deep; {AGAIN}") from None


def grader_meta(cell: Any) -> dict[str, str]:
    """The grader's metadata of a cell (task, role): its text values only, {} when a student broke it."""
    metadata = cell.get("metadata", {})
    meta = metadata.get("grader") if isinstance(metadata, dict) else None
    return {k: v for k, v in meta.items() if isinstance(v, str)} if isinstance(meta, dict) else {}


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
    first_mention: dict[str, int] = {}
    for index in ordered:
        first_mention.setdefault(found[index], index)
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or index in found:
            continue
        place = bisect.bisect(ordered, index)
        after = ordered[place] if place < len(ordered) else None
        before = ordered[place - 1] if place > 0 else None
        if after is not None and (before is None or found[before] == found[after]
                                  or first_mention[found[after]] == after):
            result[index] = found[after]
    return result


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
    for index, task_name in sorted(task_of.items()):
        last[task_name] = index
    template_tasks = {grader_meta(c).get("task") for c in template.cells}
    for task in spec.tasks:
        if last[task.name] is None and task.name in template_tasks:  # (an otter notebook marks no task's cells)
            notes.append(f"the cells of {task.title} were not found (deleted?); its variables are"
                         " read at the end of the notebook")
    return PreparedNotebook(notebook=nb, last_cell_of_task=last, notes=tuple(notes), task_of=task_of)
