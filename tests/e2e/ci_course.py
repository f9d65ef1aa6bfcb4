"""Course folders for the course-CI tests: assignments written as docs/authoring.md says (solution notebooks under
solutions/<name>/, the student's files generated beside them), NumPy only, so that nothing trains in TensorFlow.

``tiny`` is the sandbox suites' assignment (tests/e2e/tiny.py); ``stopper`` trains a logistic regression with
NumPy by gradient descent and stops at a training accuracy (a real ``training_stopped`` check, seconds a run).
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from grader.course.assignment import load_assignment

from . import tiny

STOPPER_TRAINING = """\
# BEGIN SOLUTION
centres = np.repeat([[1.2, 1.2], [-1.2, -1.2]], 100, axis=0)
points = np.random.randn(200, 2) + centres
labels = np.repeat([1, 0], 100)
weights, bias = np.random.randn(2) * 0.01, 0.0
accuracy = []
for epoch in range(40):
    for i in np.random.permutation(200)[:10]:
        error = 1 / (1 + np.exp(-(points[i] @ weights + bias))) - labels[i]
        weights, bias = weights - 0.05 * error * points[i], bias - 0.05 * error
    accuracy.append(float(np.mean(((points @ weights + bias) > 0) == labels)))
    if accuracy[-1] >= THRESHOLD:
        break
history = {"accuracy": accuracy}
# END SOLUTION"""


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def stopper_notebook(threshold: float = 0.9, margin: float | None = None, name: str = "stopper"):
    """A training that stops at ``threshold`` (its check states ``margin`` when given)."""
    limits = "\n".join(f"  {k}: {v}" for k, v in tiny.LIMITS.items())
    stated = f"\n  margin: {margin}" if margin is not None else ""
    cells = [
        _raw(f"# ASSIGNMENT CONFIG\nname: {name}\ntitle: Stop at the threshold\nlimits:\n{limits}"),
        nbformat.v4.new_markdown_cell("# Stop at the threshold"),
        nbformat.v4.new_code_cell("import numpy as np\nfrom grader.student import check\nnp.random.seed(20)"),
        _raw("# BEGIN QUESTION\nname: train\ntitle: 'Task 1: train until the threshold'\nexport:\n"
             "  history: history"),
        nbformat.v4.new_markdown_cell("Train until the training accuracy reaches the threshold, at most 40 epochs."),
        nbformat.v4.new_code_cell(STOPPER_TRAINING.replace("THRESHOLD", str(threshold))),
        nbformat.v4.new_code_cell('check("train")'),
        _raw(f"# BEGIN CHECKS\n- kind: training_stopped\n  title: training stopped at the threshold\n"
             f"  evidence: history\n  points: 2\n  metric: accuracy\n  threshold: {threshold}\n"
             f"  max_epochs: 40{stated}"),
        _raw("# END QUESTION"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def renamed(nb, name: str):
    """The notebook with its assignment's ``name`` changed (the config cell is the first)."""
    nb.cells[0].source = nb.cells[0].source.replace("name: tiny", f"name: {name}", 1)
    return nb


def write_assignment(root: Path, name: str, nb, generate: bool = True):
    """``nb`` as ``root/solutions/<name>/<name>.ipynb``; the student's files generated, as `grader generate` does."""
    path = root / "solutions" / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    course = load_assignment(path)
    if generate:
        course.write_student_files()
    return course


def tiny_notebook(name: str = "tiny"):
    return renamed(tiny.solution_notebook(), name)


def edit(nb, old: str, new: str):
    """``old`` replaced by ``new`` in the one cell (of any type: checks are raw cells) that holds it."""
    cells = [cell for cell in nb.cells if old in cell.source]
    assert len(cells) == 1, f"{len(cells)} cells hold {old!r}"
    cells[0].source = cells[0].source.replace(old, new)
    return nb
