"""The student's side, tested as students use it: a real Jupyter kernel, the command line, a fresh install."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from ..e2e.conftest import tiny_assignment  # noqa: F401 - the tiny NumPy assignment, shared with the sandbox suites
from .kernel import StudentKernel

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def student_folder(tiny_assignment, tmp_path):  # noqa: F811
    """A student's copy of the tiny assignment: the notebook and public_checks.json, alone in a folder."""
    folder = tmp_path / "work"
    shutil.copytree(tiny_assignment.student_dir, folder)
    return folder


@pytest.fixture
def kernel(student_folder):
    with StudentKernel(student_folder) as running:
        yield running


def cells_of(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def answer(nb, task: str, source: str):
    """Write ``source`` into the task's answer cell, as a student would."""
    cell = next(c for c in nb.cells if c.metadata.get("grader") == {"task": task, "role": "answer"})
    cell.source = source
    return nb


def set_limits(folder: Path, **limits) -> None:
    path = folder / "public_checks.json"
    data = json.loads(path.read_text())
    data["limits"].update(limits)
    path.write_text(json.dumps(data))
