"""The example submissions of the main job are what examples/make_examples.py makes from today's solutions."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("make_examples", REPO / "examples" / "make_examples.py")
make_examples = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_examples)
COURSE = sorted(p.parent.name for p in (REPO / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)


@pytest.mark.parametrize("name", COURSE)
def test_the_examples_are_up_to_date(name):
    expected = make_examples.examples(name)
    folder = REPO / "examples" / name
    found = {p.stem: p.read_text() for p in folder.glob("*.ipynb")}
    assert sorted(found) == sorted(expected), "run examples/make_examples.py"
    stale = [stem for stem, text in expected.items() if make_examples.canonical(found[stem]) != make_examples.canonical(text)]
    assert stale == [], f"out of date (run examples/make_examples.py): {stale}"
    assert f"{name}_complete" in found and f"{name}_untouched" in found
