"""A resident checker: what it imports before its first submission (TensorFlow only where the checks load models),
and how it forgets one submission before the next."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from grader.course.assignment import load_assignment
from grader.grading.checker import needs_keras

REPO = Path(__file__).resolve().parents[2]


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


def test_a_checker_answers_before_it_forgets_the_last_submission_s_models():
    """Forgetting (Keras's session cleared, the garbage collected) took 0.35 s after a model's checks, and the host
    waited for it: the answer goes first.  Here forgetting never ends, so an answer after it would never come."""
    code = ("import sys, threading; import grader.grading.checker as c;"
            " c._forget_models = lambda: threading.Event().wait();"
            " sys.exit(c.serve('by_hand'))")
    checker = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        assert checker.stdin is not None and checker.stdout is not None
        checker.stdin.write(json.dumps({"not": "a request"}) + "\n")
        checker.stdin.flush()
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(checker.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=120)
        assert lines, "no answer while the checker was forgetting"
        assert "error" in json.loads(lines[0])
    finally:
        checker.kill()
        checker.wait()


def test_forgetting_leaves_nothing_of_the_last_models_in_keras_s_session():
    import keras

    from grader.grading.checker import _forget_models

    _forget_models()
    first = keras.layers.Dense(1).name
    assert keras.layers.Dense(1).name != first  # the session counts the layers it made...
    _forget_models()
    assert keras.layers.Dense(1).name == first  # ...until it is cleared
