"""The streaming reader keeps everything of a notebook but its cells' outputs and attachments, at any chunk size."""
from __future__ import annotations

import io
import json
import random

import pytest

from grader.grading import notebook_file
from grader.grading.notebook_file import MAX_DEPTH, TooDeep, TooLarge, TooManyEntries, read_without_outputs

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


@pytest.mark.parametrize("window", [1, 2, 5, 64])
def test_skipped_values_counted_a_window_at_a_time_end_where_they_end(monkeypatch, window):
    """The skipped values are counted a window at a time (NumPy): windows ending anywhere, in a string, after a
    backslash, on a bracket, give what the JSON says."""
    monkeypatch.setattr(notebook_file, "FIRST_WINDOW", window)
    for seed in range(12):
        monkeypatch.setattr(notebook_file, "CHUNK", random.Random(seed).choice([1, 3, 50, 4096]))
        nb = notebook(random.Random(100 + seed))
        kept, _ = read_without_outputs(io.BytesIO(json.dumps(nb).encode()), 10**9)
        assert json.loads(kept) == expected(nb)


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


def _with(where: str, value: bytes) -> bytes:
    """A small notebook with ``value`` (raw JSON) as its metadata's "x", or as the "x" of a cell's metadata, or
    as a cell's outputs."""
    cell = b'{"cell_type": "code", "source": "a = 1", "metadata": {"x": @C}, "outputs": @O}'
    raw = b'{"cells": [{"cell_type": "markdown", "source": "", "metadata": {}}, ' + cell + b'], "metadata": {"x": @M}}'
    for mark, name in ((b"@C", "cell"), (b"@O", "output"), (b"@M", "notebook")):
        raw = raw.replace(mark, value if where == name else b"[]")
    return raw


@pytest.mark.parametrize("where, named", [
    ("notebook", "the notebook's metadata"),
    ("cell", "the metadata of cell 2 of the notebook (counting from the top, text cells too)")])
def test_nesting_past_the_bound_is_refused_with_where_and_how_deep(where, named):
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(TooDeep) as raised:
        read_without_outputs(io.BytesIO(_with(where, deep)), 10**9)
    assert (raised.value.where, raised.value.depth) == (named, 100_000)


def test_nesting_at_the_bound_and_in_strings_is_read():
    fits = b"[" * (MAX_DEPTH - 4) + b"]" * (MAX_DEPTH - 4)  # the notebook, its cells, the cell and its metadata
    kept, _ = read_without_outputs(io.BytesIO(_with("cell", fits)), 10**9)
    assert json.loads(kept)["cells"][1]["metadata"]["x"] == json.loads(fits)
    in_text = json.dumps("[" * 10_000 + "{").encode()
    kept, _ = read_without_outputs(io.BytesIO(_with("notebook", in_text)), 10**9)
    assert json.loads(kept)["metadata"]["x"] == "[" * 10_000 + "{"


def test_deep_outputs_are_dropped_and_never_stacked(monkeypatch):
    """Nesting in a skipped value is counted, not kept: memory stays flat (the old scanner stacked a list per level,
    hundreds of bytes each: gigabytes for a notebook of brackets)."""
    import tracemalloc

    monkeypatch.setattr(notebook_file, "CHUNK", 1 << 16)
    deep = b"[" * 2_000_000 + b"]" * 2_000_000
    in_outputs, in_metadata = _with("output", deep), _with("notebook", deep)
    tracemalloc.start()
    kept, skipped = read_without_outputs(io.BytesIO(in_outputs), 10**9)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert json.loads(kept)["cells"][1]["outputs"] == [] and skipped >= len(deep)
    assert peak < 8 * 2**20, peak  # a list per level stacked took 200 MB
    tracemalloc.start()
    with pytest.raises(TooDeep):
        read_without_outputs(io.BytesIO(in_metadata), 10**9)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * 2**20, peak


def test_entries_are_counted_before_they_are_built(monkeypatch):
    monkeypatch.setattr(notebook_file, "MAX_ENTRIES", 100)
    with pytest.raises(TooManyEntries):
        read_without_outputs(io.BytesIO(_with("notebook", b"[" + b"{}," * 200 + b"{}]")), 10**9)
    many_outputs = b"[" + b"{}," * 200 + b"{}]"  # dropped, so not counted
    kept, _ = read_without_outputs(io.BytesIO(_with("output", many_outputs)), 10**9)
    assert json.loads(kept)["cells"][1]["outputs"] == []
