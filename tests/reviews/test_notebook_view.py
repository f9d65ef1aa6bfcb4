"""The executed notebook as the review page reads it: hostile data read within limits, only text and real images."""
from __future__ import annotations

import json

import nbformat

from grader.reviews import notebook_view
from grader.reviews.notebook_view import read_view

from .conftest import SCRIPT, hostile_notebook, png


def write(out, key, data) -> None:
    path = out / "executed" / key / "executed.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(data if isinstance(data, str) else nbformat.writes(data))


def test_text_and_real_images_only(tmp_path):
    write(tmp_path, "m", hostile_notebook())
    view = read_view(tmp_path, "m")
    assert view.problem == "" and [c.kind for c in view.cells] == ["markdown", "code"]
    outputs = view.cells[1].outputs
    assert [o.kind for o in outputs] == ["text", "text", "text", "image", "error"]
    assert outputs[1].text == "<HTML object>"  # never the HTML itself
    assert outputs[2].text == "<Figure size 640x480>"  # base64 of "<script>" is no PNG: its text instead
    assert outputs[3].text == f"data:image/png;base64,{png()}"
    assert outputs[4].text == f"ValueError: {SCRIPT}"


def test_what_cannot_be_read_says_why(tmp_path, monkeypatch):
    assert "no executed notebook" in read_view(tmp_path, "none").problem
    write(tmp_path, "bad", "{not json")
    assert "cannot be read (JSONDecodeError)" in read_view(tmp_path, "bad").problem
    write(tmp_path, "deep", "[" * 100_000 + "]" * 100_000)
    assert read_view(tmp_path, "deep").problem == "the executed notebook cannot be read (RecursionError)"
    write(tmp_path, "dict", json.dumps({"cells": {"a": 1}}))
    assert read_view(tmp_path, "dict").problem == "the executed notebook has no list of cells"
    monkeypatch.setattr(notebook_view, "MAX_CELLS", 1)
    write(tmp_path, "long", hostile_notebook())
    long = read_view(tmp_path, "long")
    assert len(long.cells) == 1 and long.problem == "only the first 1 of 2 cells are shown"


def test_a_link_to_another_file_is_not_followed(tmp_path):
    secret = tmp_path / "secret.ipynb"
    secret.write_text(nbformat.writes(hostile_notebook()))
    (tmp_path / "executed" / "s").mkdir(parents=True)
    (tmp_path / "executed" / "s" / "executed.ipynb").symlink_to(secret)
    assert read_view(tmp_path, "s").cells == ()
