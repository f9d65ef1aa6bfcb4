"""A tiny real assignment for the sandbox suites: three tasks on NumPy values, no TensorFlow.

Hostile submissions test the sandbox, not the course: on this assignment each one runs in a couple of
seconds instead of the half minute a notebook that imports TensorFlow and trains takes, so both sandboxes'
suites stay inside CI's time.  It is a real solution notebook, generated, executed and graded like the course's.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

BASELINE = {"numbers": 1, "array": 2, "last": 1}  # the reference: full marks
LIMITS = {"notebook_timeout_s": 120, "cell_timeout_s": 60, "memory_mb": 2048, "cpus": 1, "max_processes": 256,
          "disk_mb": 256}


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def solution_notebook():
    limits = "\n".join(f"  {k}: {v}" for k, v in LIMITS.items())
    cells = [
        _raw(f"# ASSIGNMENT CONFIG\nname: tiny\ntitle: A tiny assignment\nlimits:\n{limits}"),
        nbformat.v4.new_markdown_cell("# A tiny assignment"),
        nbformat.v4.new_code_cell("import numpy as np\nfrom grader.student import check"),
        _raw("# BEGIN QUESTION\nname: numbers\ntitle: 'Task 1: a number'\nexport:\n  answer: value"),
        nbformat.v4.new_code_cell("answer = 6 * 7  # SOLUTION"),
        nbformat.v4.new_code_cell('check("numbers")'),
        _raw("# BEGIN CHECKS\n- {kind: number, evidence: answer, points: 1, expected: 42}"),
        _raw("# END QUESTION"),
        _raw("# BEGIN QUESTION\nname: array\ntitle: 'Task 2: an array'\nexport:\n  values: array"),
        nbformat.v4.new_code_cell("values = np.arange(10) * 2  # SOLUTION"),
        nbformat.v4.new_code_cell('check("array")'),
        _raw("# BEGIN CHECKS\n- {kind: array_shape, evidence: values, points: 1, public: true, shape: [10]}\n"
             "- {kind: array_range, evidence: values, points: 1, min: 0, max: 18}"),
        _raw("# END QUESTION"),
        _raw("# BEGIN QUESTION\nname: last\ntitle: 'Task 3: a choice'\nexport:\n  word: value"),
        nbformat.v4.new_code_cell('word = "b"  # SOLUTION'),
        nbformat.v4.new_code_cell('check("last")'),
        _raw("# BEGIN CHECKS\n- kind: choice\n  evidence: word\n  points: 1\n  expected: b\n  options: {a: one, b: two}"),
        _raw("# END QUESTION"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_solution(root: Path) -> Path:
    """Write ``root/solutions/tiny/tiny.ipynb``; return its path (load_assignment takes it)."""
    path = root / "solutions" / "tiny" / "tiny.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(solution_notebook(), path)
    return path
