"""The README's main job grades the example submissions that ship with the project."""
from __future__ import annotations

import subprocess

import pytest

from .conftest import REPO, check_result, points_by_task, read_gradebook, read_results, task

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples")
    done = subprocess.run(["bash", "scripts/grade-examples.sh", "--out", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=3000)
    assert done.returncode == 0, done.stderr[-3000:]
    return read_results(out), out, done


def test_every_example_is_in_the_gradebook(graded):
    results, out, done = graded
    names = sorted(p.name for p in (REPO / "examples" / "fashion_cnn").glob("*.ipynb"))
    assert [r["submission"] for r in read_gradebook(out)] == names
    assert "with the bubblewrap sandbox" in done.stdout  # the local sandbox is the main job's default


def test_the_complete_notebook_gets_full_marks(graded):
    assert graded[0]["ada_complete"].points == 24


def test_the_examples_get_what_they_earned(graded):
    results = graded[0]
    assert results["dan_untouched"].points == 0
    assert "invalid JSON" in results["eve_truncated"].error
    assert points_by_task(results["chloe_no_normalisation"])["data"] == 2
    assert check_result(results["ben_filters_32"], "cnn", "model_layers").message == \
        "layer 3: expected Conv2D with 64 filters, found 32"
    finn = results["finn_kernel_exit"]
    assert points_by_task(finn)["data"] == 6 and points_by_task(finn)["cnn"] == 0
    assert "os._exit" in task(finn, "cnn").ungraded_reason
