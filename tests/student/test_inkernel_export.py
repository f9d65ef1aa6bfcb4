"""What the in-kernel exporter saves of a task's plain values, read back as the grader reads them: an answer held
as a NumPy number (``np.prod((13, 13, 32))``) is the number it holds."""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks.answers import number, shape
from grader.grading.evidence import EXPORTS, load_task_evidence
from grader.inside.inkernel import _tagged, export_task
from grader.spec import TaskSpec


def exported(tmp_path, namespace, kind="value"):
    """Export ``namespace`` as the runner does after a task's cells; the evidence the grader loads from it."""
    exports = {name: kind for name in namespace}
    export_task(namespace, {"folder": str(tmp_path / EXPORTS / "quiz"), "report": str(tmp_path / EXPORTS / "quiz.json"),
                            "exports": exports})
    return load_task_evidence(tmp_path, TaskSpec("quiz", "quiz", exports, ()))


@pytest.mark.parametrize("answer", [np.prod((13, 13, 32)), np.int32(5408), np.array(5408), np.float32(5408)])
def test_a_numpy_number_is_saved_as_the_number_it_holds(tmp_path, answer):
    evidence = exported(tmp_path, {"q2_flatten_size": answer})
    assert evidence["q2_flatten_size"] == 5408 and type(evidence["q2_flatten_size"]) in (int, float)
    assert number(evidence["q2_flatten_size"], {"expected": 5408}).passed


@pytest.mark.parametrize("kind", ["value", "any"])
def test_a_size_of_numpy_numbers(tmp_path, kind):
    evidence = exported(tmp_path, {"q1_conv_size": (np.int64(26), np.int64(26))}, kind)
    assert shape(evidence["q1_conv_size"], {"expected": [26, 26]}).passed, evidence


def test_tagged_values_hold_plain_numbers():
    assert _tagged({"size": (np.int64(26), 26), "ok": np.bool_(True)}) == {"size": {"__tuple__": [26, 26]}, "ok": True}
    with pytest.raises(TypeError, match="cannot be saved as data"):
        _tagged(object())
