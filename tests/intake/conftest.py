"""Downloads as instructors get them, written as real zip files and folders."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest


def notebook_bytes(text: str = "x = 1") -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    return json.dumps(nb).encode()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


@pytest.fixture
def nb():
    return notebook_bytes
