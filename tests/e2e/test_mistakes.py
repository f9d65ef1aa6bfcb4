"""Typical mistakes get the intended partial score and the right message, graded as a batch by the CLI."""
from __future__ import annotations

import os

import pytest

from . import notebooks as nbs
from .conftest import check_result, points_by_task, read_gradebook, read_results, run_cli, task, without_times

pytestmark = pytest.mark.slow

CNN_SECOND_CONV = 'tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),\n    tf.keras.layers.MaxPooling2D(2, 2),\n    tf.keras.layers.Flatten(),'


ENVIRONMENT_FIRST = "import os\nos.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'  # the same numbers on every machine"


def mistakes(assignment):
    q = lambda: nbs.quick(nbs.reference(assignment))  # noqa: E731
    return {
        "filters_32": nbs.replace(q(), CNN_SECOND_CONV, CNN_SECOND_CONV.replace("Conv2D(64", "Conv2D(32")),
        # the channel axis never added, and the dense model built for the images as they are (28 x 28)
        "no_reshape": nbs.replace(nbs.replace(nbs.replace(
            q(), "training_images = training_images.reshape(60000, 28, 28, 1)\n", ""),
            "test_images = test_images.reshape(10000, 28, 28, 1)\n", ""),
            "dense_model = tf.keras.Sequential([\n    tf.keras.Input(shape=(28, 28, 1)),",
            "dense_model = tf.keras.Sequential([\n    tf.keras.Input(shape=(28, 28)),"),
        "no_normalisation": nbs.replace(nbs.replace(q(), "training_images = training_images / 255.0\n", ""),
                                        "test_images = test_images / 255.0\n", ""),
        # with a variable set before TensorFlow's import, as some students do (its kernel imports nothing ahead)
        "wrong_activation": nbs.insert_cell(nbs.replace(q(), 'Conv2D(64, (3, 3), activation="relu")',
                                                        'Conv2D(64, (3, 3), activation="sigmoid")'),
                                            "data", ENVIRONMENT_FIRST, where="start"),
        "missing_pooling": nbs.replace(q(), CNN_SECOND_CONV, CNN_SECOND_CONV.replace(
            "\n    tf.keras.layers.MaxPooling2D(2, 2),", "")),
        "never_trained": nbs.replace(q(), "cnn_model.fit(training_images[:3000], training_labels[:3000], epochs=1)",
                                     "pass  # no time to train"),
    }


@pytest.fixture(scope="module")
def graded(assignment, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mistakes")
    for name, nb in {**mistakes(assignment), "quick_reference": nbs.quick(nbs.reference(assignment))}.items():
        nbs.write(nb, folder / "in", name)
    done = run_cli("batch", str(folder / "in"), "-a", "fashion_cnn", "--out", str(folder / "out"), "--sandbox",
                   "bubblewrap")
    assert done.returncode == 0, done.stderr[-3000:]
    return read_results(folder / "out"), folder / "out", done


QUICK = {"data": 6, "dense": 4, "cnn": 6, "variant": 4, "inside": 6, "quiz": 7}  # accuracy missed for lack of training


def test_quick_training_misses_only_the_accuracy(quick_reference_graded):
    result = quick_reference_graded[1]
    assert points_by_task(result) == QUICK
    assert "needed at least 0.88" in check_result(result, "cnn", "model_accuracy").message


def test_the_batch_grades_as_grader_grade_does(graded, quick_reference_graded):
    """In the batch, a worker's resident checker (TensorFlow imported once) checks one submission while the next
    executes: the quick reference gets the same result, message for message and accuracy for accuracy, as from
    one `grader grade` process."""
    assert without_times(graded[0]["quick_reference"]) == without_times(quick_reference_graded[1])
    # its kernel was started, and TensorFlow imported, ahead; not where the notebook sets the environment first
    assert graded[0]["quick_reference"].execution["warm_imports"] == {"tensorflow": "ok"}
    assert graded[0]["quick_reference"].execution["kernel_seconds"] > 0
    assert graded[0]["wrong_activation"].execution["warm_imports"] == {}
    assert "1 local worker (one per 2 of the 2 cores)" in graded[2].stdout or len(os.sched_getaffinity(0)) != 2


def test_32_filters_instead_of_64(graded):
    result = graded[0]["filters_32"]
    assert points_by_task(result) == {**QUICK, "cnn": 3}  # one mistake costs once: the layer check's 3 points
    assert check_result(result, "cnn", "model_layers").message == "layer 3: expected Conv2D with 64 filters, found 32"
    shapes = check_result(result, "cnn", "model_shapes")
    assert "layer 3 (Conv2D): its output is (11, 11, 32), expected (11, 11, 64)" in shapes.message
    assert shapes.points == shapes.max_points and not shapes.passed and shapes.consequence_of
    assert "not counted again: this follows from a mistake already counted by" in shapes.message


def test_a_missing_reshape(graded):
    result = graded[0]["no_reshape"]
    data = task(result, "data")
    assert data.points == 4
    assert "shape is (60000, 28, 28), expected (60000, 28, 28, 1) (the same number of values: reshape it)" in \
        data.feedback
    # one mistake costs once (issue 19): the dense model takes the images as they are, which the data's shape
    # check has counted; its input shape is said, and costs nothing more
    layers = check_result(result, "dense", "model_layers")
    assert "input shape is (28, 28), expected (28, 28, 1)" in layers.message
    assert layers.points == layers.max_points and "already counted by shape of training_images (Task 1" in \
        layers.message


def test_no_normalisation(graded):
    result = graded[0]["no_normalisation"]
    assert task(result, "data").points == 2
    assert "values are uint8, expected floating point numbers" in \
        check_result(result, "data", "array_range", "training").message
    assert "these are the raw pixel values (0 to 255): divide them by 255" in \
        check_result(result, "data", "array_matches_dataset", "training").message


def test_a_wrong_activation(graded):
    result = graded[0]["wrong_activation"]
    assert points_by_task(result)["cnn"] == 3
    assert check_result(result, "cnn", "model_layers").message == \
        "layer 1: expected Conv2D with activation relu, found activation sigmoid"


def test_a_missing_pooling_layer(graded):
    result = graded[0]["missing_pooling"]
    assert points_by_task(result)["cnn"] == 3  # the layer check counts it; the shapes it changes cost nothing more
    assert check_result(result, "cnn", "model_layers").message == \
        "missing layer: expected MaxPooling2D after layer 3 (Conv2D) (layer 4 of 7)"
    assert "the model has 6 layers, expected 7" in check_result(result, "cnn", "model_shapes").message


def test_a_model_that_never_trained(graded):
    result = graded[0]["never_trained"]
    assert points_by_task(result)["cnn"] == 6
    message = check_result(result, "cnn", "model_accuracy").message
    assert "The model was never trained" in message


def test_the_batch_wrote_a_gradebook_and_feedback(graded):
    results, out, done = graded
    rows = read_gradebook(out)
    assert [r["submission"] for r in rows] == sorted(f"{n}.ipynb" for n in results)
    assert {r["sandbox"] for r in rows} == {"bubblewrap"}
    points = results["filters_32"].points
    assert points == sum({**QUICK, "cnn": 3}.values())
    assert (out / "feedback" / "filters_32.txt").read_text().startswith(f"fashion_cnn: {points:g} / 40 points")
    assert "graded 7" in done.stdout
    again = run_cli("batch", str(out.parent / "in"), "-a", "fashion_cnn", "--out", str(out), "--sandbox", "bubblewrap")
    assert "graded 0, reused 7 earlier results" in again.stdout
