"""A resident checker: what it imports before its first submission (TensorFlow only where the checks load models),
and how it forgets one submission before the next."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
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


def _template_never_started():
    """A kernel template whose start no kernel's request ever made (a sandbox that failed before its kernel)."""
    return SimpleNamespace(started=threading.Event(), environment={}, cpus=len(os.sched_getaffinity(0)),
                           checker=lambda *args, **kwargs: pytest.fail("forked"))


def test_a_checker_whose_template_never_started_is_launched_once_a_check_waits_for_it():
    """It would wait for the template as long as a kernel's request may (75 s): a check does not wait."""
    from grader.grading.checker import CheckerFailed, ResidentChecker

    checker = ResidentChecker("by_hand", template=_template_never_started())
    try:
        assert checker.pid is None  # nothing made yet: the template may still start
        began = time.monotonic()
        with pytest.raises(CheckerFailed, match="KeyError"):  # the launched checker's answer to a bad request
            checker.check({"submission": "nothing.ipynb"})
        assert time.monotonic() - began < 60
        assert checker.pid is not None and checker.forked == 0
    finally:
        checker.close(graceful=False)


def test_a_checker_closed_before_its_template_started_launches_nothing(monkeypatch):
    from grader.grading import checker as checker_module

    launched = []
    monkeypatch.setattr(checker_module.subprocess, "Popen", lambda *args, **kwargs: launched.append(args))
    checker = checker_module.ResidentChecker("by_hand", template=_template_never_started())
    checker.close()
    assert launched == [] and checker.pid is None


@pytest.mark.parametrize("setting, config, unlike", [
    ({}, None, ""),
    ({}, {"backend": "tensorflow", "floatx": "float32"}, ""),
    ({"TF_CLI_CONFIG_FILE": "/root/.terraformrc"}, None, ""),  # not TensorFlow's
    ({"TF_ENABLE_ONEDNN_OPTS": "0"}, None, "sets TF_ENABLE_ONEDNN_OPTS otherwise"),
    ({"KERAS_BACKEND": "jax"}, None, "sets KERAS_BACKEND otherwise"),
    ({}, {"floatx": "float16"}, "not Keras's defaults"),
    ({}, "not json", "could not be read"),
])
def test_a_checker_is_forked_only_where_the_template_imported_as_the_host_would(tmp_path, setting, config, unlike):
    """A launched checker imports TensorFlow and Keras with the host's environment and Keras file; a template
    imported them with the sandbox's: a host that sets them otherwise gets its checker launched, as before."""
    from grader.grading.checker import imported_alike

    if config is not None:
        (tmp_path / ".keras").mkdir()
        (tmp_path / ".keras" / "keras.json").write_text(config if isinstance(config, str) else json.dumps(config))
    said = imported_alike({"HOME": "/home/student", "TF_CPP_MIN_LOG_LEVEL": "2"}, 2,
                          {"HOME": str(tmp_path), **setting}, 2)
    assert (unlike in said) if unlike else said == ""


def test_a_checker_is_forked_only_from_a_template_that_imported_on_all_the_host_s_cpus():
    from grader.grading.checker import imported_alike

    assert imported_alike({}, 2, {}, 16) == "the template imported on 2 of the host's 16 CPUs"
