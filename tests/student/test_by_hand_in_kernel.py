"""by_hand's functions in a real Jupyter kernel, cell by cell as students run them: the template and a function that
forgot its ``return`` are told so (never "raised TypeError: it returned a ndarray"), a typical mistake on the example
is named with no reference in the student's reach, and the grader's package students install holds no answer."""
from __future__ import annotations

import shutil

import pytest

from .conftest import REPO, cells_of
from .kernel import StudentKernel

FORGOT_RETURN = """def convolve(image, kernel):
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    height, width = image.shape[0] - 2, image.shape[1] - 2
    result = np.zeros((height, width))
    for a in range(3):
        for b in range(3):
            result += kernel[a, b] * image[a:a + height, b:b + width]
"""
PLACEHOLDER_KEPT = FORGOT_RETURN.replace("):\n", "):\n    ...  # YOUR CODE HERE\n", 1) + "    return result\n"
FLIPPED = FORGOT_RETURN.replace("kernel[a, b]", "kernel[2 - a, 2 - b]") + "    return result\n"


@pytest.fixture(scope="module")
def by_hand_kernel(tmp_path_factory):
    """A kernel in a student's copy of by_hand, its setup cell and task 1's cell run as students get them."""
    folder = tmp_path_factory.mktemp("student") / "by_hand"
    shutil.copytree(REPO / "assignments" / "by_hand", folder)
    cells = cells_of(folder / "by_hand.ipynb")
    with StudentKernel(folder) as kernel:
        for cell in cells:
            if cell.cell_type == "code" and cell.metadata["grader"]["role"] == "setup":
                assert not kernel.run(cell.source).error
        template = next(c for c in cells if c.metadata["grader"] == {"task": "convolve", "role": "answer"})
        shown = kernel.run(template.source)
        assert not shown.error and shown.text.strip() == "None"  # the template's own print
        yield kernel


def test_the_template_is_not_done_yet(by_hand_kernel):
    shown = by_hand_kernel.run('check("convolve")').text
    assert "Task 1: a convolution: not done yet" in shown, shown
    assert "convolve is not done yet: its code still holds the placeholder ... (# YOUR CODE HERE)" in shown, shown
    assert "TypeError" not in shown and "ndarray" not in shown and "array of object" not in shown


def test_a_function_that_forgot_return(by_hand_kernel):
    by_hand_kernel.run(FORGOT_RETURN)
    shown = by_hand_kernel.run('check("convolve")').text
    assert "FAIL convolve on the example: on the example: it returned None and raised nothing: is its return" \
           " statement missing?" in shown, shown
    assert "TypeError" not in shown and "ndarray" not in shown


def test_a_flipped_filter_is_named_on_the_example(by_hand_kernel):
    assert not by_hand_kernel.run(FLIPPED).error
    shown = by_hand_kernel.run('check("convolve")').text
    assert "FAIL convolve on the example: on the example: the filter is flipped (a mathematical convolution" in shown, \
        shown


def test_the_installed_grader_holds_no_reference(by_hand_kernel):
    """What a student's notebook can import of the grader computes none of the answers: the reference functions are
    the solution's, and no solution was read in the student's kernel."""
    shown = by_hand_kernel.run("from grader.checks.references import correlate_valid")
    assert shown.error.startswith("ImportError: cannot import name 'correlate_valid'"), shown.error
    shown = by_hand_kernel.run("from grader.checks import references\nprint(sorted(references.REFERENCES))")
    assert not shown.error and shown.text.strip() == "[]"


def test_a_function_written_under_the_placeholder_line_it_kept_is_written(by_hand_kernel):
    """Fairness audit: the template's ``...  # YOUR CODE HERE`` left above a working body was "not done yet" in the
    student's check, under the right result the cell printed; the grader gave full marks."""
    assert not by_hand_kernel.run(PLACEHOLDER_KEPT).error
    shown = by_hand_kernel.run('check("convolve")').text
    assert "not done yet" not in shown and "PASS convolve on the example" in shown, shown
