"""Every correct way of building the course's CNN gets full marks, live (the student's check) and after
the trip through a ``.keras`` file (the grader): the architecture checks compare the network, not the API."""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks.models import activation_outputs, activation_values, model_compile, model_layers, model_shapes
from grader.checks.network import describe
from grader.grading.evidence import load_model
from grader.inside.inkernel import save_model
from grader.student import check
from grader.student.check_report import PASSED

STRUCTURE_CHECKS = (("model_layers", model_layers), ("model_shapes", model_shapes),
                    ("model_compile", model_compile))


def compiled(model, fit=True):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if fit:
        model.fit(np.zeros((2, 28, 28, 1), np.float32), np.zeros(2), epochs=1, verbose=0)
    return model


def sequential_with_input(tf):
    L = tf.keras.layers
    return tf.keras.Sequential([tf.keras.Input(shape=(28, 28, 1)), L.Conv2D(64, (3, 3), activation="relu"),
                                L.MaxPooling2D(2, 2), L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                                L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])


def notes_style(tf):
    """Exactly as the course notes (seed 001) write it: input_shape= on the first layer, tf.keras.models."""
    return tf.keras.models.Sequential([
        tf.keras.layers.Conv2D(64, (3, 3), activation='relu', input_shape=(28, 28, 1)),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(64, (3, 3), activation='relu'),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dense(10, activation='softmax')
    ])


def tf_nn_activations(tf):
    """Activations given as TensorFlow functions, as the notes' dense model does (tf.nn.relu, tf.nn.softmax)."""
    L = tf.keras.layers
    return tf.keras.models.Sequential([
        L.Conv2D(64, (3, 3), activation=tf.nn.relu, input_shape=(28, 28, 1)), L.MaxPooling2D(2, 2),
        L.Conv2D(64, (3, 3), activation=tf.nn.relu), L.MaxPooling2D(2, 2), L.Flatten(),
        L.Dense(128, activation=tf.nn.relu), L.Dense(10, activation=tf.nn.softmax)])


def functional(tf):
    L = tf.keras.layers
    inputs = tf.keras.Input(shape=(28, 28, 1))
    x = L.Conv2D(64, 3, activation="relu")(inputs)
    x = L.MaxPool2D()(x)
    x = L.Conv2D(64, 3, activation="relu")(x)
    x = L.MaxPool2D()(x)
    x = L.Flatten()(x)
    x = L.Dense(128, activation="relu")(x)
    return tf.keras.Model(inputs, L.Dense(10, activation="softmax")(x))


def activation_layers(tf):
    L = tf.keras.layers
    return tf.keras.Sequential([tf.keras.Input((28, 28, 1)), L.Conv2D(64, (3, 3)), L.Activation("relu"),
                                L.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)), L.Conv2D(64, (3, 3)), L.ReLU(),
                                L.MaxPooling2D((2, 2)), L.Flatten(), L.Dense(128), L.Activation(tf.nn.relu),
                                L.Dense(10), L.Softmax()])


def aliases_and_add(tf):
    L = tf.keras.layers
    model = tf.keras.Sequential()
    model.add(L.Convolution2D(64, kernel_size=3, activation=tf.keras.activations.relu, input_shape=(28, 28, 1)))
    model.add(L.MaxPool2D(pool_size=2))
    model.add(L.Convolution2D(filters=64, kernel_size=(3, 3), activation="relu"))
    model.add(L.MaxPool2D())
    model.add(L.Flatten())
    model.add(L.Dense(units=128, activation="relu"))
    model.add(L.Dense(10, activation=tf.keras.activations.softmax))
    return model


def nested(tf):
    L = tf.keras.layers
    features = tf.keras.Sequential([L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
                                    L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2)])
    head = tf.keras.Sequential([L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])
    return tf.keras.Sequential([tf.keras.Input((28, 28, 1)), features, head])


def built_by_fit(tf):
    """No Input and no input_shape: Keras builds it when it is trained."""
    L = tf.keras.layers
    return tf.keras.Sequential([L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                                L.MaxPooling2D(2), L.Flatten(), L.Dense(128, activation="relu"),
                                L.Dense(10, activation="softmax")])


def subclassed(tf):
    L = tf.keras.layers

    class FashionCNN(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.conv1 = L.Conv2D(64, 3, activation="relu")
            self.pool1 = L.MaxPooling2D(2)
            self.conv2 = L.Conv2D(64, 3, activation="relu")
            self.pool2 = L.MaxPooling2D(2)
            self.flatten = L.Flatten()
            self.hidden = L.Dense(128, activation="relu")
            self.out = L.Dense(10, activation="softmax")

        def call(self, x):
            x = self.pool1(self.conv1(x))
            x = self.pool2(self.conv2(x))
            return self.out(self.hidden(self.flatten(x)))

    return FashionCNN()


STYLES = [sequential_with_input, notes_style, tf_nn_activations, functional, activation_layers, aliases_and_add,
          nested, built_by_fit, subclassed]


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def cnn_params(assignment, kind):
    return next(c.params for c in assignment.spec.task("cnn").checks if c.kind == kind)


def assert_full_marks(model, assignment):
    for kind, structure_check in STRUCTURE_CHECKS:
        outcome = structure_check(model, cnn_params(assignment, kind))
        assert outcome.passed, f"{kind}: {outcome.message}"


@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.__name__)
def test_every_style_gets_full_marks_from_the_grader(style, tf, assignment, tmp_path):
    model = compiled(style(tf))
    save_model(model, str(tmp_path / "m.keras"), [28, 28, 1])
    loaded = load_model(tmp_path / "m.keras")
    assert_full_marks(loaded, assignment)
    assert loaded.count_params() == 243786
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded(images), model(images), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.__name__)
def test_every_style_gets_full_marks_in_the_students_check(style, tf, assignment):
    """check("cnn") as the notebook calls it, on the live model: a subclassed one is checked as the network of its
    layers, as the grader's export saves it."""
    report = check("cnn", {"cnn_model": compiled(style(tf))}, assignment.student_dir)
    assert report.all_passed and report.status == PASSED, str(report)


def test_a_subclassed_model_never_built_gets_the_grader_s_marks_live(tf, assignment, tmp_path):
    """Never called, never trained: the grader traces it on the task's input shape, and so does the live check,
    which says too that it is not trained yet."""
    model = compiled(subclassed(tf), fit=False)
    report = check("cnn", {"cnn_model": model}, assignment.student_dir)
    assert report.all_passed, str(report)
    assert report.headline().endswith("all public checks passed, but cnn_model is not trained yet (3 of the task's 9"
                                      " points depend on it)")
    save_model(model, str(tmp_path / "m.keras"), [28, 28, 1])
    assert_full_marks(load_model(tmp_path / "m.keras"), assignment)


def subclassed_with_tensorflow_operations(tf):
    """A subclassed model whose call() applies a TensorFlow function to its layers' output."""
    L = tf.keras.layers

    class Raw(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.flatten = L.Flatten()
            self.dense = L.Dense(10)

        def call(self, x):
            return tf.nn.softmax(self.dense(self.flatten(x)))

    return Raw()


def test_a_subclassed_model_that_cannot_be_traced_gets_the_grader_s_words_live(tf, assignment):
    report = check("cnn", {"cnn_model": compiled(subclassed_with_tensorflow_operations(tf))}, assignment.student_dir)
    assert not report.all_passed
    assert "the grader cannot read cnn_model: it is a subclassed model whose call() is not made of Keras layers" \
        " only" in str(report)


def test_saving_leaves_the_students_model_as_it_was(tf, tmp_path):
    model = compiled(tf_nn_activations(tf))
    save_model(model, str(tmp_path / "m.keras"))
    assert model.layers[0].activation is tf.nn.relu and model.layers[-1].activation is tf.nn.softmax


def test_folded_activation_layers_keep_the_summary_numbers(tf):
    layers = describe(compiled(activation_layers(tf)))
    assert [l.class_name for l in layers] == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten",
                                              "Dense", "Dense"]
    assert [l.params for l in layers] == [640, 0, 36928, 0, 0, 204928, 1290]
    assert layers[0].folded == ("Activation",) and layers[-1].settings["activation"] == "softmax"


def test_an_activation_layer_after_a_nonlinear_layer_is_a_layer_of_its_own(tf, assignment):
    L = tf.keras.layers
    model = compiled(tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)), L.Conv2D(64, 3, activation="relu"), L.Activation("relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dense(128, activation="relu"),
        L.Dense(10, activation="softmax")]))
    assert model_layers(model, cnn_params(assignment, "model_layers")).message == \
        "layer 2: unexpected Activation layer"


def test_a_subclassed_model_that_uses_tensorflow_operations_says_why_it_cannot_be_graded(tf, tmp_path):
    with pytest.raises(TypeError, match="call\\(\\) is not made of Keras layers only"):
        save_model(compiled(subclassed_with_tensorflow_operations(tf)), str(tmp_path / "m.keras"), [28, 28, 1])


def test_the_spec_may_name_an_alias_or_alternatives(tf):
    model = compiled(functional(tf))
    spec = {"layers": [{"class": "Conv2D", "kernel_size": 3}, {"class": ["MaxPool2D", "AveragePooling2D"]},
                       {"class": "Convolution2D", "filters": 64}, {"class": "MaxPool2D", "pool_size": 2},
                       {"class": "Flatten"}, {"class": "Dense", "units": 128, "activation": ["relu", "tanh"]},
                       {"class": "Dense"}, {"class": "Softmax"}]}
    outcome = model_layers(model, spec)
    assert outcome.passed, outcome.message


ACTIVATION_PARAMS = {"dataset": "fashion_mnist", "split": "test", "scale": 255, "images": 4}


def tiny_functional(tf):
    L = tf.keras.layers
    inputs = tf.keras.Input(shape=(28, 28, 1))
    x = L.MaxPooling2D(2)(L.Conv2D(4, 3, activation="relu")(inputs))
    return tf.keras.Model(inputs, L.Dense(10, activation="softmax")(L.Flatten()(x)))


def saved_and_loaded(model, path):
    save_model(model, str(path))
    return load_model(path)


def activation_checks(activation_model, cnn_model, tmp_path):
    """activation_outputs and activation_values on both models after the grader's trip through .keras files."""
    activation = saved_and_loaded(activation_model, tmp_path / "activation_model.keras")
    trained = saved_and_loaded(cnn_model, tmp_path / "cnn_model.keras")
    return (activation_outputs(activation, {}, other=trained),
            activation_values(activation, ACTIVATION_PARAMS, other=trained))


def test_the_tasks_own_activation_model_of_a_functional_cnn_gets_full_marks(tf, tmp_path):
    """[layer.output for layer in cnn_model.layers] of a functional model starts with its InputLayer's output."""
    cnn_model = compiled(tiny_functional(tf))
    layer_outputs = [layer.output for layer in cnn_model.layers]
    assert type(cnn_model.layers[0]).__name__ == "InputLayer"  # what makes the output more than there are layers
    activation_model = tf.keras.models.Model(inputs=cnn_model.inputs, outputs=layer_outputs)
    for outcome in activation_checks(activation_model, cnn_model, tmp_path):
        assert outcome.passed, outcome.message
    assert activation_outputs(activation_model, {}, other=cnn_model).passed  # live, as in the student's check


@pytest.mark.parametrize("first, message", [
    (1, "activation_model has 3 outputs, expected one for each of the 4 layers of the trained model: no output for"
        " layer 4 (Dense)"),
    (0, "the outputs of activation_model are not the layers' outputs in order: output 1 ((28, 28, 1)) is the model's"
        " input, not a layer's output; no output for layer 4 (Dense)"),
])
def test_an_activation_model_that_leaves_a_layer_out_is_told_which(tf, tmp_path, first, message):
    cnn_model = compiled(tiny_functional(tf))
    activation_model = tf.keras.models.Model(inputs=cnn_model.inputs,
                                             outputs=[layer.output for layer in cnn_model.layers[first:-1]])
    outputs, values = activation_checks(activation_model, cnn_model, tmp_path)
    assert not outputs.passed and not values.passed
    assert outputs.message == message
    # one mistake costs once (fairness audit): the values that cannot be compared are not charged again
    from grader.grading.scoring import score_task
    from grader.spec import CheckSpec, TaskSpec

    task = TaskSpec("inside", "Inside", {"activation_model": "keras_model", "cnn_model": "keras_model"}, (
        CheckSpec("activation_outputs", "activation_model", 2.0, params={"compare_to": "cnn_model"}),
        CheckSpec("activation_values", "activation_model", 2.0, params={**ACTIVATION_PARAMS,
                                                                       "compare_to": "cnn_model"})))
    scored = score_task(task, {"activation_model": activation_model, "cnn_model": cnn_model})
    assert scored.points == 2.0 and "not counted again" in scored.checks[1].message, scored.feedback


def test_an_input_output_that_is_not_first_is_named(tf, tmp_path):
    cnn_model = compiled(tiny_functional(tf))
    outputs = [layer.output for layer in cnn_model.layers[1:]] + [cnn_model.inputs[0]]
    activation_model = tf.keras.models.Model(inputs=cnn_model.inputs, outputs=outputs)
    outcome = activation_checks(activation_model, cnn_model, tmp_path)[0]
    assert not outcome.passed
    assert "output 5 ((28, 28, 1)) is the model's input, not a layer's output" in outcome.message, outcome.message
