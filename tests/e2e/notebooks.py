"""Submissions for end-to-end tests, made from the reference solution by the edits students make.

They stand for students who wrote that code.  ``quick`` ones train on 3,000 images for
one epoch, so that the suite stays inside CI's time: their accuracy checks fail for that
reason, and the tests expect it.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

QUICK_TRAINING = {
    "dense_model.fit(training_images, training_labels, epochs=5)":
        "dense_model.fit(training_images[:3000], training_labels[:3000], epochs=1)",
    "cnn_model.fit(training_images, training_labels, epochs=5)":
        "cnn_model.fit(training_images[:3000], training_labels[:3000], epochs=1)",
}


def reference(assignment):
    return assignment.reference_submission()


def replace(nb, old: str, new: str, count: int = 1):
    """Replace ``old`` in the code cells; fail loudly when the reference no longer contains it."""
    done = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and old in cell.source and done < count:
            cell.source = cell.source.replace(old, new, count - done)
            done = min(count, done + 1)
    assert done, f"the reference solution no longer contains {old!r}"
    return nb


def quick(nb):
    for old, new in QUICK_TRAINING.items():
        replace(nb, old, new)
    return nb


def code_cells_of(nb, task: str) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.metadata["grader"]["task"] == task]


def insert_cell(nb, task: str, source: str, where: str = "end"):
    """A new code cell in ``task``: at its ``start`` or its ``end``."""
    cells = code_cells_of(nb, task)
    index = cells[0] if where == "start" else cells[-1] + 1
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["grader"] = {"task": task, "role": "answer"}
    nb.cells.insert(index, cell)
    return nb


def write(nb, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def network_probe(port: int) -> str:
    """A cell that tries the host's loopback on ``port`` and a DNS lookup, printing 'blocked:' for each refusal."""
    return ("import socket\n"
            "for attempt in (lambda: socket.create_connection(('127.0.0.1', %d), timeout=3),\n"
            "                lambda: socket.getaddrinfo('pypi.org', 443)):\n"
            "    try:\n        attempt()\n        print('CONNECTED')\n"
            "    except OSError as exc:\n        print('blocked:', exc)\n") % port
