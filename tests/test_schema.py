"""Mistakes in a solution notebook's specification are found when it is read (at ``grader generate``), every one of
them at once, each with its cell and field and how it is written instead."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.course.check_kinds import BY_KIND
from grader.course.generate import generate
from grader.course.schema import check_problems
from grader.errors import SpecError

SETUP = "import numpy as np\nfrom grader.student import check"
REFERENCES = '''import numpy as np
from grader.checks.references import Reference


def _pool(image):
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    return image[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))


max_pool_2x2 = Reference(_pool, draw=lambda rng, shape, number: (rng.uniform(0, 255, shape),))
'''
POOL_CHECKS = """- kind: function_matches
  evidence: max_pool
  points: 2
  reference: max_pool_2x2
  seed: 7
  shapes: [[8, 8]]"""
QUIZ_CHECKS = """- kind: choice
  evidence: q1
  points: 1
  expected: a
  options:
    a: the largest value
    b: the average"""
PICTURE_CHECKS = """- kind: array_from_reference
  evidence: pooled
  points: 1
  image: {dataset: fashion_mnist, split: train, index: 0}
  steps:
    - {reference: max_pool_2x2}"""


def solution(tmp_path: Path, setup: str = SETUP, pool: str = POOL_CHECKS, quiz: str = QUIZ_CHECKS,
             pictures: str = PICTURE_CHECKS) -> Path:
    raw, code = nbformat.v4.new_raw_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        raw("# ASSIGNMENT CONFIG\nname: pooling\ntitle: Pooling"),
        code(setup),
        raw("# BEGIN QUESTION\nname: pool\nexport:\n  max_pool: function"),
        code("def max_pool(image):\n    return image[::2, ::2]  # SOLUTION"),
        code('check("pool")'),
        raw(f"# BEGIN CHECKS\n{pool}"),
        raw("# END QUESTION"),
        raw("# BEGIN QUESTION\nname: pictures\nexport:\n  pooled: array"),
        code("pooled = max_pool(np.zeros((28, 28)))  # SOLUTION"),
        raw(f"# BEGIN CHECKS\n{pictures}"),
        raw("# END QUESTION"),
        raw("# BEGIN QUESTION\nname: quiz\nexport:\n  q1: value"),
        code('q1 = "a"  # SOLUTION'),
        code('check("quiz")'),
        raw(f"# BEGIN CHECKS\n{quiz}"),
        raw("# END QUESTION"),
        raw("# BEGIN REFERENCES"),
        code(REFERENCES),
        raw("# END REFERENCES"),
    ])
    folder = tmp_path / "solutions" / "pooling"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "pooling.ipynb")
    return folder / "pooling.ipynb"


def mistakes(path: Path, tmp_path: Path) -> list[str]:
    with pytest.raises(SpecError) as raised:
        generate(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written for students
    lines = str(raised.value).splitlines()
    assert lines[0].startswith(f"pooling.ipynb has {len(lines) - 1} mistake")
    return [line.removeprefix("- ") for line in lines[1:]]


def test_the_right_specification_generates(tmp_path):
    written = generate(solution(tmp_path), tmp_path / "out")
    assert sorted(p.name for p in written) == ["pooling.ipynb", "public_checks.json"]


def test_a_reference_that_does_not_exist_is_named_with_its_cell_and_field(tmp_path):
    found = mistakes(solution(tmp_path, pool=POOL_CHECKS.replace("max_pool_2x2", "max_pool_3x3")), tmp_path)
    assert found == ["cell 6 (BEGIN CHECKS of question pool), check 1 (function_matches), field reference: no"
                     " reference function 'max_pool_3x3' (the solution's reference cells, between"
                     " '# BEGIN REFERENCES' and '# END REFERENCES', or references.py beside it, define:"
                     " max_pool_2x2)"]


def test_a_step_written_as_a_name_says_how_a_step_is_written(tmp_path):
    found = mistakes(solution(tmp_path, pictures=PICTURE_CHECKS.replace("- {reference: max_pool_2x2}",
                                                                        "- max_pool_2x2")), tmp_path)
    assert found == ["cell 10 (BEGIN CHECKS of question pictures), check 1 (array_from_reference), field steps:"
                     " step 1 is the text 'max_pool_2x2': write each step as a mapping, for example"
                     " '- {reference: max_pool_2x2}' (args: [...] when the function takes more than the image)"]


def test_quiz_options_as_a_list_say_to_write_a_mapping(tmp_path):
    listed = QUIZ_CHECKS.replace("    a: the largest value\n    b: the average",
                                 "    - the largest value\n    - the average")
    found = mistakes(solution(tmp_path, quiz=listed), tmp_path)
    assert len(found) == 1
    assert found[0].startswith("cell 15 (BEGIN CHECKS of question quiz), check 1 (choice), field options: is a"
                               " list: write the options as a mapping of letters to their texts")


def test_a_setup_cell_without_the_check_import_is_refused(tmp_path):
    found = mistakes(solution(tmp_path, setup="import numpy as np"), tmp_path)
    assert found == ["cell 5 calls check(...), but no cell before it imports it: add 'from grader.student import"
                     " check' to the setup cell (the first code cell, before the first question)"]


def test_every_mistake_is_reported_at_once(tmp_path):
    found = mistakes(solution(tmp_path, setup="import numpy as np",
                              pool=POOL_CHECKS.replace("seed: 7", "seed: seven").replace("shapes:", "shape:"),
                              quiz=QUIZ_CHECKS.replace("evidence: q1", "evidence: q2")), tmp_path)
    assert [line.split(": ", 1)[0] for line in found] == [
        "cell 6 (BEGIN CHECKS of question pool), check 1 (function_matches), field shape",
        "cell 6 (BEGIN CHECKS of question pool), check 1 (function_matches), field seed",
        "cell 6 (BEGIN CHECKS of question pool), check 1 (function_matches), field shapes",
        "cell 15 (BEGIN CHECKS of question quiz), check 1 (choice), field evidence",
        "cell 5 calls check(...), but no cell before it imports it"]
    assert "function_matches has no field shape (its fields: reference, seed, shapes, tolerance)" in found[0]
    assert "the task does not export 'q2' (add 'q2: value' under export:" in found[3]


@pytest.mark.parametrize("check, problem", [
    ({"kind": "choice", "evidence": "x", "points": 1, "expected": "a", "options": {"a": "yes", "bb": "no"}},
     "field options: has the key 'bb': each option is named by one letter"),
    ({"kind": "images_of_one_class", "evidence": "x", "points": 1, "dataset": "fashion", "split": "train"},
     "field dataset: should be one of mnist, fashion_mnist, found the text 'fashion'"),
    ({"kind": "shape", "evidence": "x", "points": "two", "expected": [28, 28]},
     "field points: should be a number of points (0 or more), found the text 'two'"),
    ({"kind": "array_sahpe", "evidence": "x", "points": 1}, "field kind: the text 'array_sahpe' is not a check kind"),
    ({"kind": "function_example", "evidence": "x", "points": 1, "args": [[1]], "expected": [1]},
     "field evidence: x is exported as value, but function_example reads a function (export it as 'x: function')"),
])
def test_each_field_is_checked_against_its_kind(check, problem):
    found = check_problems(check, 1, _place(), {"x": "value"}, ())
    assert len(found) == 1 and problem in found[0]


def test_a_manual_part_and_a_margin_are_accepted():
    manual = {"kind": "manual", "title": "explain", "points": 2, "guide": "..."}
    assert check_problems(manual, 1, _place(), {}, ()) == []
    assert check_problems({"kind": "number", "evidence": "x", "points": 1, "expected": 3, "margin": 0.01}, 1, _place(),
                          {"x": "value"}, ()) == []


def test_every_field_a_kind_documents_has_a_form():
    assert all(p.form and p.doc for doc in BY_KIND.values() for p in doc.params)


def _place():
    from grader.course.schema import Place

    return Place(0, "BEGIN CHECKS of question q")
