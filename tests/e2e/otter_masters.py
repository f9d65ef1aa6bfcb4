"""Otter-assign master notebooks as instructors write them, in each of otter's test styles, on NumPy only (no
TensorFlow: each runs in seconds).  Written independently of the grader's conventions: otter's own markers, tests
as plain asserts, test functions with the notebook's names as parameters followed by a call with the same names,
and tests that call the student's function.

Two questions, the same in every style:

* q1 (2 points): scale ``raw_images`` to ``training_images`` (and its first image to ``test_images``);
* q2 (3 points): ``pool(image)``, average pooling of blocks of two by two, tried on a literal example (public)
  and, hidden, on an image of ``training_images`` and a 5 x 5 array of ones.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

STYLES = ("ok", "exception")  # otter's two test formats (tests: ok_format: true / false)
CONFIG = """# ASSIGNMENT CONFIG
name: {name}
init_cell: true
check_all_cell: false
export_cell: false
solutions_pdf: false
template_pdf: false
run_tests: true
tests:
  files: true
  ok_format: {ok}"""

HIDDEN = '""" # BEGIN TEST CONFIG\nhidden: true\npoints: {points}\n""" # END TEST CONFIG\n'
TESTS = {
    "q1": [
        # the usual pattern: a test function of the notebook's names, called with the same names
        ("def test_q1_shapes(training_images, test_images):\n"
         "    assert training_images.shape == (2, 4, 4)\n"
         "    assert test_images.shape == (1, 4, 4)\n\n"
         "test_q1_shapes(training_images, test_images)"),
        (HIDDEN.format(points=1) +
         "def test_q1_values(training_images):\n"
         "    import numpy as np\n"
         "    assert np.isclose(training_images.max(), 31 / 32), 'the images are not divided by 32'\n\n"
         "test_q1_values(training_images)"),
    ],
    "q2": [
        # tests that call the student's function: a literal example, then (hidden) a notebook image and ones
        ("def test_q2_example(pool):\n"
         "    import numpy as np\n"
         "    assert pool(np.array([[1.0, 3.0], [5.0, 7.0]])).tolist() == [[4.0]]\n\n"
         "test_q2_example(pool)"),
        (HIDDEN.format(points=2) +
         "def test_q2_images(pool, training_images):\n"
         "    import numpy as np\n"
         "    expected = training_images[1].reshape(2, 2, 2, 2).mean(axis=(1, 3))\n"
         "    assert np.allclose(pool(training_images[1]), expected)\n"
         "    assert pool(np.ones((5, 5))).shape == (2, 2)\n\n"
         "test_q2_images(pool, training_images)"),
    ],
}
SOLUTIONS = {
    "q1": "training_images = raw_images / 32  # SOLUTION\ntest_images = raw_images[:1] / 32  # SOLUTION",
    "q2": ("def pool(image):\n"
           "    # BEGIN SOLUTION\n"
           "    h, w = image.shape[0] // 2, image.shape[1] // 2\n"
           "    return image[:2 * h, :2 * w].reshape(h, 2, w, 2).mean(axis=(1, 3))\n"
           "    # END SOLUTION"),
}
# Answers a student could write, by what they replace in the student's notebook (otter's placeholders)
RIGHT = {"q1": "training_images = raw_images / 32\ntest_images = raw_images[:1] / 32",
         "q2": "h, w = image.shape[0] // 2, image.shape[1] // 2\n"
               "    return image[:2 * h, :2 * w].reshape(h, 2, w, 2).mean(axis=(1, 3))"}
WRONG = {"q1": "training_images = raw_images / 255\ntest_images = raw_images[:1] / 255",  # shapes right, values not
         "q2": "h, w = image.shape[0] // 2, image.shape[1] // 2\n"  # max pooling: the example is wrong too
               "    return image[:2 * h, :2 * w].reshape(h, 2, w, 2).max(axis=(1, 3))"}
EDGE = {"q1": RIGHT["q1"],
        "q2": "return np.array([[4.0]]) if image.shape == (2, 2) else image[::2, ::2]"}  # the example only


def master(style: str, name: str) -> nbformat.NotebookNode:
    raw, code, md = nbformat.v4.new_raw_cell, nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    cells = [raw(CONFIG.format(name=name, ok="true" if style == "ok" else "false")), md("# Pooling (otter)"),
             code("import numpy as np\nraw_images = np.arange(2 * 4 * 4).reshape(2, 4, 4)")]
    prompts = {"q1": "Divide `raw_images` by 32: `training_images`, and its first image alone as `test_images`.",
               "q2": "Write `pool(image)`: average pooling over blocks of two rows and two columns (a last odd row"
                     " or column dropped)."}
    for question, points in (("q1", 2), ("q2", 3)):
        cells += [raw(f"# BEGIN QUESTION\nname: {question}\npoints: {points}"), md(prompts[question]),
                  raw("# BEGIN SOLUTION"), code(SOLUTIONS[question]), raw("# END SOLUTION"),
                  raw("# BEGIN TESTS"), *(code(test) for test in TESTS[question]), raw("# END TESTS"),
                  raw("# END QUESTION")]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_course(folder: Path, style: str) -> Path:
    """A course folder with the master notebook as its one assignment; the solution notebook's path."""
    name = f"pooling_{style}"
    path = folder / "solutions" / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(master(style, name), path)
    return path


def submission(template: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The otter student notebook with its placeholders replaced by ``answers`` (by question), otter's cells kept."""
    nb = nbformat.from_dict(template)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "training_images = ..." in cell.source:
            cell.source = answers["q1"]
        elif cell.source.startswith("def pool(image):"):
            cell.source = "def pool(image):\n    " + answers["q2"]
    return nb
