"""A student's executed notebook as the review page shows it: code, text outputs and images, nothing else.

The notebook was written in the sandbox: hostile data. It is read within limits (its size, the cells, the text of
each output, the bytes of each image), only under the names Jupyter gives; HTML and JavaScript outputs are never
shown as such (their text/plain twin is, as text), and an image is shown only when it decodes as base64 and starts
with its format's signature (the page's Content-Security-Policy allows images from data: URIs only)."""
from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from grader.output_folder import EXECUTED

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_CELLS = 500
MAX_TEXT = 20_000  # characters of one output's text, of a cell's source
MAX_IMAGE_BYTES = 4 * 1024 * 1024
SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


@dataclass(frozen=True)
class Output:
    kind: str  # text | error | image
    text: str = ""  # the text, or an image's data URI


@dataclass(frozen=True)
class Cell:
    kind: str  # code | markdown | raw
    source: str
    number: int | None = None  # its number among the code cells, from 1
    outputs: tuple[Output, ...] = ()


@dataclass(frozen=True)
class NotebookView:
    cells: tuple[Cell, ...] = ()
    problem: str = ""  # why nothing (or not everything) is shown


def executed_notebook(out_dir: Path, key: str) -> Path:
    return out_dir / EXECUTED / key / "executed.ipynb"


def _text(value: object) -> str:
    if isinstance(value, list):
        value = "".join(part for part in value if isinstance(part, str))
    if not isinstance(value, str):
        return ""
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + f"\n… ({len(value) - MAX_TEXT} more characters)"


def _image(mime: str, value: object) -> str | None:
    text = "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value
    if not isinstance(text, str) or len(text) > MAX_IMAGE_BYTES * 4 // 3 + 8:
        return None
    text = "".join(text.split())
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data.startswith(SIGNATURES[mime]):
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _outputs(raw: object) -> tuple[Output, ...]:
    outputs = []
    for output in raw if isinstance(raw, list) else ():
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            outputs.append(Output("text", _text(output.get("text"))))
        elif kind == "error":
            outputs.append(Output("error", _text(f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}")))
        elif kind in ("execute_result", "display_data") and isinstance(output.get("data"), dict):
            data = output["data"]
            image = next((uri for mime in SIGNATURES if mime in data for uri in [_image(mime, data[mime])] if uri),
                         None)
            if image:
                outputs.append(Output("image", image))
            elif "text/plain" in data:
                outputs.append(Output("text", _text(data["text/plain"])))
    return tuple(outputs)


def read_view(out_dir: Path, key: str) -> NotebookView:
    """The executed notebook of ``key``; an empty view that says why where it cannot be read."""
    path = executed_notebook(out_dir, key)
    try:
        if path.is_symlink() or not path.is_file():
            return NotebookView(problem="no executed notebook was kept for this submission")
        if path.stat().st_size > MAX_FILE_BYTES:
            return NotebookView(problem=f"the executed notebook is larger than {MAX_FILE_BYTES >> 20} MB")
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        return NotebookView(problem=f"the executed notebook cannot be read ({type(exc).__name__})")
    cells_data = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells_data, list):
        return NotebookView(problem="the executed notebook has no list of cells")
    cells, number = [], 0
    for cell in cells_data[:MAX_CELLS]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        if cell["cell_type"] == "code":
            number += 1
            cells.append(Cell("code", _text(cell.get("source")), number, _outputs(cell.get("outputs"))))
        else:
            cells.append(Cell(cell["cell_type"], _text(cell.get("source"))))
    problem = f"only the first {MAX_CELLS} of {len(cells_data)} cells are shown" if len(cells_data) > MAX_CELLS else ""
    return NotebookView(tuple(cells), problem)
