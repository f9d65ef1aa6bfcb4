"""The streaming reader keeps everything of a notebook but its cells' outputs and attachments, at any chunk size."""
from __future__ import annotations

import io
import json
import random

import pytest

from grader import notebook_file
from grader.notebook_file import TooLarge, read_without_outputs

TRICKY = ['say "hi"', "back\\slash", "ends with a backslash \\", "brackets ] } [ {", "colon: comma, quote\"",
          "unicode ✓ é", "\\\\\\", '"outputs": [1, 2]', "\n\t"]


def notebook(rng: random.Random) -> dict:
    cells = []
    for index in range(8):
        kind = rng.choice(["code", "markdown", "raw"])
        cell = {"cell_type": kind, "id": f"c{index}", "metadata": {"tags": [rng.choice(TRICKY)],
                                                                   "outputs": {"nested": rng.choice(TRICKY)}},
                "source": [rng.choice(TRICKY) + "\n" for _ in range(rng.randint(0, 4))]}
        if kind == "code":
            cell["execution_count"] = rng.choice([None, 3])
            cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                                "text": [rng.choice(TRICKY) * rng.randint(1, 50) for _ in range(5)]},
                               {"output_type": "display_data", "data": {"image/png": "A" * rng.randint(0, 5000)},
                                "metadata": {"outputs": []}}]
        if kind == "markdown" and rng.random() < 0.5:
            cell["attachments"] = {"x.png": {"image/png": "QUJD" * 100}}
        cells.append(cell)
    return {"cells": cells, "metadata": {"outputs": [1], "kernelspec": {"name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def expected(nb: dict) -> dict:
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        if "outputs" in cell:
            cell["outputs"] = []
        if "attachments" in cell:
            cell["attachments"] = {}
    return nb


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4096])
@pytest.mark.parametrize("seed", range(6))
def test_outputs_and_attachments_are_dropped_and_nothing_else(monkeypatch, chunk, seed):
    monkeypatch.setattr(notebook_file, "CHUNK", chunk)
    nb = notebook(random.Random(seed))
    for indent in (None, 1):
        raw = json.dumps(nb, indent=indent, ensure_ascii=seed % 2 == 0).encode()
        kept, skipped = read_without_outputs(io.BytesIO(raw), 10**9)
        assert json.loads(kept) == expected(nb)
        assert skipped > 0


def test_scalar_outputs_and_a_cell_ending_with_them():
    raw = b'{"cells": [{"cell_type": "code", "source": "x", "outputs": null}, {"outputs": 5, "a": 1}], "x": 2}'
    kept, _ = read_without_outputs(io.BytesIO(raw), 10**6)
    assert json.loads(kept) == {"cells": [{"cell_type": "code", "source": "x", "outputs": []},
                                          {"outputs": [], "a": 1}], "x": 2}


def test_what_is_kept_is_bounded():
    raw = json.dumps({"cells": [{"cell_type": "code", "source": "x" * 5000, "outputs": []}]}).encode()
    with pytest.raises(TooLarge):
        read_without_outputs(io.BytesIO(raw), 1000)
    kept, _ = read_without_outputs(io.BytesIO(raw), 10_000)
    assert json.loads(kept)["cells"][0]["source"] == "x" * 5000


def test_malformed_input_comes_out_malformed_not_as_a_crash():
    for raw in (b'{"cells": [{"outputs": [1, 2', b'{"cells": "unterminated', b"]]]}}}", b""):
        kept, _ = read_without_outputs(io.BytesIO(raw), 10**6)
        with pytest.raises(json.JSONDecodeError):
            json.loads(kept)
