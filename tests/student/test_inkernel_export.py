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


def test_a_tensorflow_shape_or_tensor_is_saved_as_the_numbers_it_holds(tmp_path, keras):
    """Fairness audit: ``Conv2D(64, (3, 3))(tf.zeros((1, 32, 48, 3))).shape[1:3]`` is ``TensorShape([30, 46])``,
    a right answer the export refused ("not JSON serializable") and the student's check called "not a shape"."""
    import tensorflow as tf

    from grader.checks.answers import shape_format

    conv = tf.keras.layers.Conv2D(64, (3, 3))(tf.zeros((1, 32, 48, 3)))
    layer = tf.keras.layers.Conv2D(64, (3, 3))
    layer.build((None, 32, 48, 3))
    answers = {"q4_conv_output": conv.shape[1:3], "q6_conv_params": tf.constant(layer.count_params()),
               "q5_pool_output": tf.keras.layers.MaxPooling2D(2, 2)(conv).shape[1:3]}
    for name, expected in (("q4_conv_output", [30, 46]), ("q5_pool_output", [15, 23])):
        assert shape(answers[name], {"expected": expected}).passed  # the student's check, on the live value
        assert shape_format(answers[name], {}).passed
    evidence = exported(tmp_path, answers)
    assert shape(evidence["q4_conv_output"], {"expected": [30, 46]}).passed, evidence
    assert shape(evidence["q5_pool_output"], {"expected": [15, 23]}).passed, evidence
    assert number(evidence["q6_conv_params"], {"expected": 1792}).passed, evidence
    assert not shape(tf.TensorShape([None, 30]), {"expected": [30, 46]}).passed


def test_arrays_and_tensors_inside_an_answer_are_saved_as_the_lists_they_hold(tmp_path, keras):
    """Fairness audit: conv_arithmetic's feature map built as a list of rows, each an array, or left a tensor, passed
    the instructor's own tests in the kernel (np.shape, np.allclose) and could not be saved ("it is a ndarray,
    which cannot be saved as data"): 3 of 7 points lost for right answers."""
    import tensorflow as tf

    rows = [np.array([1.0, 2.0, 3.0]) for _ in range(3)]
    answers = {"as_rows": rows, "as_tuple": tuple(rows), "as_tensor": tf.reshape(tf.range(9.0), (3, 3))}
    evidence = exported(tmp_path, answers, kind="any")
    for name in answers:
        assert np.shape(evidence[name]) == (3, 3), (name, evidence[name])
    assert np.allclose(evidence["as_rows"], [[1, 2, 3]] * 3)
    assert np.allclose(evidence["as_tensor"], np.arange(9.0).reshape(3, 3))


def test_the_student_s_check_takes_an_array_as_the_export_does(keras):
    """Fairness audit: a tensor (tf.pad(...) / 255.0) is saved by the export as the array it holds, graded in full;
    the student's check said "expected a NumPy array, found EagerTensor"."""
    import tensorflow as tf

    from grader.student.live_checks import live_evidence

    tensor = tf.zeros((2, 32, 32, 1))
    found = live_evidence("train_images", {"train_images": tensor}, "array")
    assert isinstance(found, np.ndarray) and found.shape == (2, 32, 32, 1)
    assert isinstance(live_evidence("x", {"x": [1, 2]}, "array"), np.ndarray)
    assert live_evidence("x", {"x": None}, "array") is None  # the array check names it
