"""The README's main job grades the example submissions that ship with the project, every assignment's."""
from __future__ import annotations

import pytest

from .conftest import REPO, check_result, points_by_task, read_gradebook, task

pytestmark = pytest.mark.slow


def test_every_example_is_in_its_gradebook(examples_graded, course_names):
    for name in course_names:
        names = sorted(p.name for p in (REPO / "examples" / name).glob("*.ipynb"))
        assert [r["submission"] for r in read_gradebook(examples_graded.out / name)] == names
    assert "with the bubblewrap sandbox" in examples_graded.stdout  # the local sandbox is the main job's default


def test_the_fashion_examples_get_what_they_earned(examples_graded):
    results = examples_graded.results("fashion_cnn")
    assert results["fashion_cnn_untouched"].points == 0
    assert "invalid JSON" in results["eve_truncated"].error
    assert points_by_task(results["chloe_no_normalisation"])["data"] == 2
    assert check_result(results["ben_filters_32"], "cnn", "model_layers").message == \
        "layer 3: expected Conv2D with 64 filters, found 32"
    finn = results["finn_kernel_exit"]
    assert points_by_task(finn)["data"] == 6 and points_by_task(finn)["cnn"] == 0
    assert "os._exit" in task(finn, "cnn").ungraded_reason
