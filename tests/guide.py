"""The complete example assignment of docs/authoring.md, read from the guide itself: a test that builds it from
there fails when the guide's example stops working, so the example an instructor copies is the one tested."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "authoring.md"
NOTEBOOK = re.compile(r"<!-- BEGIN EXAMPLE NOTEBOOK (\S+) -->\n(.*?)<!-- END EXAMPLE NOTEBOOK -->", re.S)
FILE = re.compile(r"<!-- BEGIN EXAMPLE FILE (\S+) -->\n```\w*\n(.*?)```\n<!-- END EXAMPLE FILE -->", re.S)
CELL = re.compile(r"^```(raw|python|markdown)\n(.*?)^```$", re.S | re.M)
MAKERS = {"raw": nbformat.v4.new_raw_cell, "python": nbformat.v4.new_code_cell,
          "markdown": nbformat.v4.new_markdown_cell}


def write_example(course: Path, guide: Path = GUIDE) -> dict[str, Path]:
    """Write the guide's example course under ``course``: its notebook (one cell per fenced block, of the block's
    kind) and files, each at the path the guide names; {path: where it was written}."""
    text = guide.read_text()
    written = {}
    for path, body in NOTEBOOK.findall(text):
        cells = [MAKERS[kind](source.rstrip("\n")) for kind, source in CELL.findall(body)]
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        written[path] = course / path
        written[path].parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, written[path])
    for path, body in FILE.findall(text):
        written[path] = course / path
        written[path].parent.mkdir(parents=True, exist_ok=True)
        written[path].write_text(body)
    return written
