"""Where in a cell an error arose, in the student's terms: the line of the cell that raised (or was running when it
was interrupted), and what the cell would have set from there on.

The line is read from the traceback IPython showed, which the executed notebook keeps (the runner reports that
notebook on its own channel; its outputs are what the student's code made, so they are read as untrusted JSON,
and only a frame of the cell itself counts: ``Cell In[n], line k`` with ``n`` the cell's own execution count,
never a line of a library or of a function defined in another cell).  The text of the line is taken from the
notebook the grader ran, never from the traceback.
"""
from __future__ import annotations

import ast
import re
from typing import Any, Iterable

from grader.errors import EvidenceError
from grader.untrusted import JsonLimits, parse_json

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_FRAME = re.compile(r"Cell In\[(\d{1,9})\], line (\d{1,9})\b")
MAX_DEPTH = 64  # of the executed notebook's JSON (a display's own JSON data nests within it)
MOST_NAMES = 4  # named in a message, the rest counted
CELL_FILE = re.compile(r" \((?:<[^<>()]*>|[^()]*\.py), line \d+\)$")  # where IPython compiled it: says nothing here


def failing_lines(notebook_text: str, indices: Iterable[int]) -> dict[int, int]:
    """{cell index: the line of that cell (from 1) where its error arose}, for the cells of ``indices`` whose
    traceback in the executed notebook says so; {} when the notebook cannot be read."""
    indices = set(indices)
    if not indices or not notebook_text:
        return {}
    try:
        nb = parse_json(notebook_text, JsonLimits(max_bytes=len(notebook_text), max_depth=MAX_DEPTH,
                                                  max_entries=len(notebook_text)))
    except EvidenceError:
        return {}
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return {}
    found = {}
    for index in sorted(i for i in indices if 0 <= i < len(cells)):
        line = _cell_line(cells[index])
        if line is not None:
            found[index] = line
    return found


def _cell_line(cell: Any) -> int | None:
    """The line of the cell's own frame in its error's traceback (the outermost: the cell's line that called the
    rest)."""
    count = cell.get("execution_count") if isinstance(cell, dict) else None
    outputs = cell.get("outputs") if isinstance(cell, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or not isinstance(outputs, list):
        return None
    for output in outputs:
        if not isinstance(output, dict) or output.get("output_type") != "error":
            continue
        traceback = output.get("traceback")
        for entry in traceback if isinstance(traceback, list) else ():
            match = CELL_FRAME.search(ANSI.sub("", entry)) if isinstance(entry, str) else None
            if match and int(match.group(1)) == count:
                return int(match.group(2))
    return None


def line_of(source: str, line: int) -> str:
    """Line ``line`` (from 1) of a cell's source, stripped; "" when there is none."""
    lines = source.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def unset_names(source: str, line: int) -> tuple[str, ...]:
    """The names the cell's top-level statements from ``line`` on would have set (assigned, defined, imported):
    what the cell did not set when it raised there.  () when the cell's code cannot be read as Python."""
    code = "\n".join("pass" if text.lstrip().startswith(("%", "!")) else text for text in source.splitlines())
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    names: dict[str, None] = {}
    for statement in tree.body:
        if (statement.end_lineno or statement.lineno) < line:
            continue
        for name in _set_by(statement):
            names[name] = None
    return tuple(names)


def _set_by(statement: ast.stmt) -> list[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in statement.names if alias.name != "*"]
    targets = statement.targets if isinstance(statement, ast.Assign) else \
        [statement.target] if isinstance(statement, ast.AnnAssign) and statement.value is not None else []
    return [node.id for target in targets for node in ast.walk(target)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)]


def names_text(names: tuple[str, ...]) -> str:
    """``filtered, pooled or figure`` (and how many more)."""
    shown = list(names[:MOST_NAMES])
    more = len(names) - len(shown)
    if more:
        return ", ".join(shown) + f" or {more} other name{'s' if more != 1 else ''}"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def syntax_problem(evalue: str) -> str:
    """A syntax error's message without the name of the file IPython compiled the cell as (``(3124.py, line 1)``)."""
    return CELL_FILE.sub("", evalue)
