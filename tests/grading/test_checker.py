"""A resident checker: what it imports before its first submission (TensorFlow only where the checks load models).
How it checks each submission apart from the others: ``test_apart.py``."""
from __future__ import annotations

from types import SimpleNamespace

import nbformat
import pytest

from grader.course.assignment import load_assignment
from grader.grading.checker import needs_keras


def _assignment(tmp_path, kinds, *sources):
    solution = tmp_path / "solution.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), solution)
    tasks = [SimpleNamespace(exports={f"v{n}": kind}) for n, kind in enumerate(kinds)]
    return SimpleNamespace(spec=SimpleNamespace(tasks=tasks), solution_path=solution)


@pytest.mark.parametrize("name, expected", [("by_hand", False), ("conv_arithmetic", False), ("mnist_callback", True),
                                            ("fashion_cnn", True)])
def test_the_course_s_checkers_import_tensorflow_only_for_models(name, expected):
    """conv_arithmetic (otter's values of any kind, NumPy arrays) waited 4 s for TensorFlow before its first check,
    longer than its whole notebook ran."""
    assert needs_keras(load_assignment(name)) is expected


@pytest.mark.parametrize("kinds, sources, expected", [
    (["keras_model"], ["x = 1"], True),
    (["any"], ["import numpy as np"], False),
    (["any"], ["import tensorflow as tf"], True),
    (["any", "value"], ["from keras import layers"], True),
    (["value", "array"], ["import tensorflow as tf"], False),
])
def test_values_of_any_kind_need_keras_when_the_solution_imports_it(tmp_path, kinds, sources, expected):
    assert needs_keras(_assignment(tmp_path, kinds, *sources)) is expected
