"""Where a cell's error arose, read from the executed notebook the runner reported: only the cell's own frame counts,
and whatever the notebook holds (the student's outputs) it is read without a crash."""
from __future__ import annotations

import json

import pytest

from grader.grading.cell_errors import failing_lines, names_text, unset_names

FRAME = "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[{count}]\x1b[39m\x1b[32m, line {line}\x1b[39m\n"


def executed(*cells) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "execution_count": count, "source": "",
                                  "outputs": [{"output_type": "error", "ename": "E", "evalue": "",
                                               "traceback": traceback}]} for count, traceback in cells]})


def test_the_cells_own_frame_gives_the_line():
    text = executed((3, ["---", "ValueError  Traceback", FRAME.format(count=3, line=4), FRAME.format(count=1, line=2)]))
    assert failing_lines(text, [0]) == {0: 4}


def test_a_frame_of_another_cell_is_not_this_cells_line():
    """A function defined in cell 1 raised, and the traceback's first frames were cut (30 are kept): no line."""
    assert failing_lines(executed((5, [FRAME.format(count=1, line=2)])), [0]) == {}


@pytest.mark.parametrize("text", [
    "", "not json", "[" * 100_000 + "]" * 100_000, json.dumps({"cells": "x"}), json.dumps([1, 2]),
    json.dumps({"cells": [{"execution_count": True, "outputs": []}]}),
    json.dumps({"cells": [{"execution_count": 1, "outputs": [{"output_type": "error", "traceback": [1, None]}]}]}),
    json.dumps({"cells": [{"execution_count": 1, "outputs": [{"output_type": "error",
                                                              "traceback": ["Cell In[1], line 9" + "9" * 50]}]}]}),
])
def test_anything_else_gives_no_line(text):
    assert failing_lines(text, [0, 5]) == {}


def test_what_a_cell_did_not_set():
    source = "%matplotlib inline\nimport numpy as np\nx = 1\nfiltered = f(x)\npooled, (a, b) = g(filtered)\n" \
             "def show():\n    pass\nclass Box:\n    pass\nfor i in range(3):\n    y = i\nimport os.path as p, sys"
    assert unset_names(source, 4) == ("filtered", "pooled", "a", "b", "show", "Box", "p", "sys")
    assert unset_names("x = (\n", 1) == ()  # not Python: nothing is said
    assert names_text(("a",)) == "a" and names_text(("a", "b")) == "a or b"
    assert names_text(tuple("abcdef")) == "a, b, c, d or 2 other names"
