"""Model checks on tiny Keras models: right and wrong architectures."""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks.models import describe, model_compile, model_layers, model_shapes


def cnn_params(assignment, kind):
    return next(c.params for c in assignment.spec.task("cnn").checks if c.kind == kind)


def test_describe_matches_the_course_summary(seed_cnn):
    layers = describe(seed_cnn)
    assert [l.output_shape for l in layers] == [(26, 26, 64), (13, 13, 64), (11, 11, 64), (5, 5, 64), (1600,),
                                                (128,), (10,)]
    assert [l.params for l in layers] == [640, 0, 36928, 0, 0, 204928, 1290]
    assert seed_cnn.count_params() == 243786


def test_the_seed_cnn_passes_every_structure_check(assignment, seed_cnn):
    for kind, check in (("model_layers", model_layers), ("model_shapes", model_shapes),
                        ("model_compile", model_compile)):
        outcome = check(seed_cnn, cnn_params(assignment, kind))
        assert outcome.passed, outcome.message


def test_32_filters_instead_of_64_is_named_layer_by_layer(assignment, keras, make_model):
    L = keras.layers
    model = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))
    layers = model_layers(model, cnn_params(assignment, "model_layers"))
    shapes = model_shapes(model, cnn_params(assignment, "model_shapes"))
    assert not layers.passed and not shapes.passed
    assert layers.message == "layer 3: expected Conv2D with 64 filters, found 32"
    assert "layer 3 (Conv2D): its output is (11, 11, 32), expected (11, 11, 64)" in shapes.message
    assert "it has 18,464 parameters, expected 36,928" in shapes.message  # 3*3*64*32 + 32
    assert "122,922 parameters in total, expected 243,786" in shapes.message



def test_the_layer_comparison_comes_as_table_rows_too(assignment, keras, make_model):
    """The rows the feedback's layer table shows: one per layer, the wrong one and the missing one marked."""
    L = keras.layers
    model = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(32, (3, 3), activation="relu"), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))
    rows = model_layers(model, cnn_params(assignment, "model_layers")).details
    wrong = [(r.layer, r.expected, r.found) for r in rows if not r.ok]
    assert ("3", "Conv2D, 64 filters, kernel 3x3, activation relu", "Conv2D, 32 filters, kernel 3x3, activation relu") \
        in wrong
    assert any(layer.startswith("missing (4 of 7)") and expected.startswith("MaxPooling2D") and found == "(none)"
               for layer, expected, found in wrong)
    assert len(wrong) == 2 and sum(r.ok for r in rows) == len(rows) - 2
    right = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))
    assert all(r.ok for r in model_layers(right, cnn_params(assignment, "model_layers")).details)
    extra = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(64, activation="relu"),
                       L.Dense(10, activation="softmax"))
    assert [(r.layer, r.expected, r.found) for r in model_layers(extra, cnn_params(assignment, "model_layers")).details
            if not r.ok] == [("7", "(none)", "Dense, 64 units")]

def test_a_missing_pooling_layer_is_reported_where_it_belongs(assignment, keras, make_model):
    L = keras.layers
    model = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(64, (3, 3), activation="relu"), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))
    outcome = model_layers(model, cnn_params(assignment, "model_layers"))
    assert not outcome.passed
    assert outcome.message == "missing layer: expected MaxPooling2D after layer 3 (Conv2D) (layer 4 of 7)"
    shapes = model_shapes(model, cnn_params(assignment, "model_shapes"))
    assert "the model has 6 layers, expected 7" in shapes.message


def test_an_extra_layer_and_a_wrong_activation(assignment, keras, make_model):
    L = keras.layers
    model = make_model(L.Conv2D(64, (3, 3), activation="sigmoid"), L.MaxPooling2D(2, 2),
                       L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(64, activation="relu"),
                       L.Dense(10, activation="softmax"))
    message = model_layers(model, cnn_params(assignment, "model_layers")).message
    assert "layer 1: expected Conv2D with activation relu, found activation sigmoid" in message
    assert "unexpected Dense layer" in message


def test_a_dense_network_where_a_cnn_is_expected(assignment, keras, make_model):
    L = keras.layers
    model = make_model(L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))
    outcome = model_layers(model, cnn_params(assignment, "model_layers"))
    assert not outcome.passed
    assert "missing layer: expected Conv2D first" in outcome.message


def test_kernel_and_pool_sizes_and_input_shape(assignment, keras, make_model):
    L = keras.layers
    model = make_model(L.Conv2D(64, (5, 5), activation="relu"), L.MaxPooling2D(3, 3),
                       L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"), input_shape=(32, 32, 1))
    message = model_layers(model, cnn_params(assignment, "model_layers")).message
    assert "input shape is (32, 32, 1), expected (28, 28, 1)" in message
    assert "layer 1: expected Conv2D with kernel 3x3, found kernel 5x5" in message
    assert "layer 2: expected MaxPooling2D with pool size 2x2, found pool size 3x3" in message


def test_compile_settings(keras, make_model):
    L = keras.layers
    model = make_model(L.Flatten(), L.Dense(10), compile_with=("sgd", "mse"))
    outcome = model_compile(model, {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"})
    assert not outcome.passed
    assert "optimizer is sgd, expected adam" in outcome.message
    assert "loss is mean_squared_error" in outcome.message or "loss is mse" in outcome.message
    uncompiled = make_model(L.Flatten(), L.Dense(10), compile_with=None)
    assert model_compile(uncompiled, {"optimizer": "adam"}).message == "the model was never compiled"


def test_loss_given_as_an_object_is_recognised(keras, make_model):
    L = keras.layers
    model = make_model(L.Flatten(), L.Dense(10),
                       compile_with=(keras.optimizers.Adam(), keras.losses.SparseCategoricalCrossentropy()))
    assert model_compile(model, {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"}).passed


@pytest.mark.parametrize("value", [None, "model", 3, ...])
def test_things_that_are_not_models(assignment, value):
    outcome = model_layers(value, cnn_params(assignment, "model_layers"))
    assert not outcome.passed and outcome.message.startswith("expected a Keras model, found")


LENET = [{"class": "Conv2D", "filters": 6}, {"class": "MaxPooling2D"}, {"class": "Conv2D", "filters": 16},
         {"class": "MaxPooling2D"}, {"class": "Flatten"}, {"class": "Dense", "units": 120},
         {"class": "Dense", "units": 84}, {"class": "Dense", "units": 10, "activation": "softmax"}]


def test_a_missing_layer_among_layers_of_one_class_is_found_by_its_size(keras):
    L = keras.layers
    model = keras.Sequential([keras.Input((32, 32, 1)), L.Conv2D(6, 5), L.MaxPooling2D(), L.Conv2D(16, 5),
                              L.MaxPooling2D(), L.Flatten(), L.Dense(84), L.Dense(10, activation="softmax")])
    assert model_layers(model, {"layers": LENET}).message == \
        "missing layer: expected Dense after layer 5 (Flatten) (layer 6 of 8)"


def test_a_wrong_size_and_a_missing_layer_together(keras):
    L = keras.layers
    model = keras.Sequential([keras.Input((32, 32, 1)), L.Conv2D(8, 5), L.MaxPooling2D(), L.Conv2D(16, 5),
                              L.Flatten(), L.Dense(120), L.Dense(84), L.Dense(10, activation="softmax")])
    message = model_layers(model, {"layers": LENET}).message
    assert "layer 1: expected Conv2D with 6 filters, found 8" in message
    assert "missing layer: expected MaxPooling2D after layer 3 (Conv2D) (layer 4 of 8)" in message


def test_the_loss_for_one_hot_labels_is_explained(keras, make_model):
    L = keras.layers
    model = make_model(L.Flatten(), L.Dense(10), compile_with=("adam", "categorical_crossentropy"))
    message = model_compile(model, {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"}).message
    assert "the task keeps the labels as class numbers, 0 to 9, which the sparse loss takes" in message


def test_an_extra_dropout_costs_the_layer_check_only(assignment, keras, make_model):
    """One mistake, one penalty: a Dropout changes no output shape and no parameter count."""
    L = keras.layers
    model = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax"))
    layers = model_layers(model, cnn_params(assignment, "model_layers"))
    assert not layers.passed and "unexpected Dropout" in layers.message
    assert model_shapes(model, cnn_params(assignment, "model_shapes")).passed
    wider = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(64, activation="relu"),
                       L.Dense(10, activation="softmax"))
    assert "the model has 8 layers, expected 7" in model_shapes(wider, cnn_params(assignment, "model_shapes")).message


def test_filter_counts_swapped_are_two_sizes_not_missing_layers(keras, make_model):
    """Every layer is there: the alignment pairs them by class and names the two sizes (issue 19)."""
    L = keras.layers
    expected = [{"class": "Conv2D", "filters": 32}, {"class": "MaxPooling2D"}, {"class": "Conv2D", "filters": 64},
                {"class": "MaxPooling2D"}, {"class": "Flatten"}, {"class": "Dense", "units": 128},
                {"class": "Dense", "units": 10}]
    model = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))
    assert model_layers(model, {"layers": expected}).message.splitlines() == [
        "layer 1: expected Conv2D with 32 filters, found 64", "layer 3: expected Conv2D with 64 filters, found 32"]


def _task(name, *checks):
    from grader.spec import CheckSpec, TaskSpec

    specs = tuple(CheckSpec(kind=kind, evidence=evidence, points=points, params=params)
                  for kind, evidence, points, params in checks)
    return TaskSpec(name=name, title=name.capitalize(), exports={c.evidence: "keras_model" for c in specs},
                    checks=specs)


def test_the_shapes_a_wrong_layer_changes_cost_nothing_more(assignment, keras, make_model):
    """32 filters where the task asks 64: the layer check counts it; the shapes and counts that change with that
    layer are said, and cost nothing more.  A shape wrong on its own still costs."""
    from grader.grading.scoring import score_task

    L = keras.layers
    task = _task("cnn", ("model_layers", "model", 2, cnn_params(assignment, "model_layers")),
                 ("model_shapes", "model", 2, cnn_params(assignment, "model_shapes")))
    model = make_model(L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                       L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))
    layers, shapes = score_task(task, {"model": model}).checks
    assert (layers.points, shapes.points) == (0, 2) and not shapes.passed
    assert shapes.consequence_of == "model layers of model (Cnn)"
    assert "not counted again: this follows from a mistake already counted by model layers of model" \
        in shapes.message
    strict = _task("cnn", ("model_layers", "model", 2, cnn_params(assignment, "model_layers")),
                   ("model_shapes", "model", 2, {**cnn_params(assignment, "model_shapes"),
                                                 "charge_consequences": True}))
    assert [c.points for c in score_task(strict, {"model": model}).checks] == [0, 0]


def test_a_model_built_for_the_images_it_was_given_is_not_charged_for_their_shape(keras, make_model):
    """The channel axis never added: the data's shape check counts it; a dense model built with
    input_shape=(28, 28), as its data is, loses nothing more.  A model built for another shape still costs."""
    import numpy as np

    from grader.grading.scoring import score_task

    L = keras.layers
    data = _task("prepare", ("array_shape", "training_images", 1, {"shape": [None, 28, 28, 1]}))
    dense = {"input_shape": [28, 28, 1], "layers": [{"class": "Flatten"}, {"class": "Dense", "units": 128},
                                                    {"class": "Dense", "units": 10}]}
    model_task = _task("dense", ("model_layers", "dense_model", 2, dense))
    model = keras.Sequential([keras.Input((28, 28)), L.Flatten(), L.Dense(128, activation="relu"),
                              L.Dense(10, activation="softmax")])
    counted: dict[str, str] = {}
    prepared = score_task(data, {"training_images": np.zeros((5, 28, 28), np.float32)}, counted=counted)
    built = score_task(model_task, {"dense_model": model}, counted=counted)
    assert prepared.points == 0 and built.points == 2
    assert "input shape is (28, 28), expected (28, 28, 1)" in built.checks[0].message
    assert "already counted by array shape of training_images (Prepare)" in built.checks[0].message
    other = keras.Sequential([keras.Input((32, 32)), L.Flatten(), L.Dense(128, activation="relu"),
                              L.Dense(10, activation="softmax")])
    counted = {}
    score_task(data, {"training_images": np.zeros((5, 28, 28), np.float32)}, counted=counted)
    assert score_task(model_task, {"dense_model": other}, counted=counted).points == 0
    assert score_task(model_task, {"dense_model": model}).points == 0, "alone, the input shape is a mistake"


@pytest.mark.parametrize("loss", ["SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"])
def test_a_loss_named_by_its_class_is_that_loss(keras, make_model, tmp_path, loss):
    """Fairness audit: Keras takes ``loss="SparseCategoricalCrossentropy"`` and trains with it; the check compared
    the string as written and took the compile point. Live and after the trip through a .keras file alike."""
    from grader.grading.evidence import load_model
    from grader.inside.inkernel import save_model

    L = keras.layers
    model = make_model(L.Flatten(), L.Dense(10), compile_with=("adam", loss))
    model.fit(np.zeros((2, 28, 28, 1)), np.zeros(2), verbose=0)
    wanted = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"}
    assert model_compile(model, wanted).passed, model_compile(model, wanted).message
    save_model(model, str(tmp_path / "m.keras"))
    assert model_compile(load_model(tmp_path / "m.keras"), wanted).passed
    wrong = make_model(L.Flatten(), L.Dense(10), compile_with=("adam", "CategoricalCrossentropy"))
    assert "loss is categorical_crossentropy, expected sparse_categorical_crossentropy (the task keeps" in \
        model_compile(wrong, wanted).message
