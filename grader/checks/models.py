"""Checks on Keras models: layers in order with their settings, output shapes, parameters, compile settings.

Every function works on a live model (the student's own check) and on one loaded
from a ``.keras`` file (the grader), since both are ``keras.Model`` objects.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from grader.checks.base import Outcome, check, fmt_shape, guard
from grader.checks.network import LayerReport, describe, expected_layers, input_shape, plain
from grader.results import LayerRow

SETTING_WORDS = {"filters": "filters", "units": "units", "kernel_size": "kernel", "pool_size": "pool size",
                 "strides": "strides", "activation": "activation", "padding": "padding"}


@guard("keras_model")
def is_model(value: Any) -> Outcome | None:
    import keras

    if not isinstance(value, keras.Model):
        return Outcome(False, f"expected a Keras model, found {type(value).__name__}")
    if not value.built or not value.layers:
        return Outcome(False, "the model has no layers or was never built (give it an Input or train it)")
    return None


def _setting_text(key: str, value: Any) -> str:
    if value is None:
        return "no " + SETTING_WORDS[key]
    if key in ("kernel_size", "pool_size", "strides"):
        value = value if isinstance(value, (tuple, list)) else (value, value)
        return f"{SETTING_WORDS[key]} {'x'.join(str(v) for v in value)}"
    if key in ("filters", "units"):
        return f"{value} {SETTING_WORDS[key]}"
    return f"{SETTING_WORDS[key]} {value}"


def _found_text(key: str, value: Any) -> str:
    return str(value) if key in ("filters", "units") and value is not None else _setting_text(key, value)


def same_setting(want: Any, got: Any) -> bool:
    """Equal settings, where ``3`` stands for ``(3, 3)`` as Keras reads it, and a list means "any of"."""
    if isinstance(want, list):
        return any(same_setting(w, got) for w in want)
    want, got = plain(want), plain(got)
    if isinstance(want, int) and isinstance(got, tuple):
        return bool(got) and all(g == want for g in got)
    if isinstance(want, str) and isinstance(got, str):
        return want.lower() == got.lower()
    return want == got


def _class_matches(want: Any, got: str) -> bool:
    return got in want if isinstance(want, tuple) else got == want


def _class_text(want: Any) -> str:
    return " or ".join(want) if isinstance(want, tuple) else str(want)


def _size_of(settings: Mapping[str, Any]) -> Any:
    return settings.get("units", settings.get("filters"))


def _align(found: Sequence[LayerReport], expected: Sequence[Mapping[str, Any]], detailed: bool = True,
           offset: tuple[int, int] = (0, 0)):
    """Pairs (found index or None, expected index or None): aligned on layer classes and sizes (so that a missing
    Dense(120) is told from a Dense(84) in its place), then on classes alone within what differs."""
    def key(cls: str, size: Any) -> str:
        return f"{cls}:{size}" if detailed and size is not None else cls

    keys = [key(_class_text(e["class"]), _size_of(e)) for e in expected]
    found_keys = [key(next((_class_text(e["class"]) for e in expected if _class_matches(e["class"], f.class_name)),
                           f.class_name), _size_of(f.settings)) for f in found]
    matcher = difflib.SequenceMatcher(a=found_keys, b=keys, autojunk=False)
    pairs: list[tuple[int | None, int | None]] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op in ("equal", "replace") and a1 - a0 == b1 - b0:
            pairs.extend((offset[0] + i, offset[1] + j) for i, j in zip(range(a0, a1), range(b0, b1)))
        elif op == "replace" and detailed:
            pairs.extend(_align(found[a0:a1], expected[b0:b1], detailed=False,
                                offset=(offset[0] + a0, offset[1] + b0)))
        else:
            pairs.extend((offset[0] + i, None) for i in range(a0, a1))
            pairs.extend((None, offset[1] + j) for j in range(b0, b1))
    return pairs


def _pairs(found: Sequence[LayerReport], expected: Sequence[Mapping[str, Any]]) -> list[tuple[int | None, int | None]]:
    """The alignment that leaves the fewest layers unpaired: on classes and sizes (a missing Dense(120) told from
    the Dense(84) after it), or on classes alone when that pairs more (every layer there, two sizes swapped: two
    layers with another size, not two missing and two extra); a tie keeps classes and sizes."""
    def unpaired(pairs: list[tuple[int | None, int | None]]) -> int:
        return sum(1 for i, j in pairs if i is None or j is None)

    by_size, by_class = _align(found, expected), _align(found, expected, detailed=False)
    return by_class if unpaired(by_class) < unpaired(by_size) else by_size


def _want_text(key: str, value: Any) -> str:
    if isinstance(value, list):  # alternatives, some of them the same setting written two ways (3 and (3, 3))
        return " or ".join(dict.fromkeys(_setting_text(key, v) for v in value))
    return _setting_text(key, value)


def _layer_text(class_name: str, settings: Mapping[str, Any], keys: Sequence[str], want: bool = False) -> str:
    """``Conv2D, 64 filters, kernel 3x3, activation relu``: a layer's class and the settings named in ``keys``."""
    return ", ".join([class_name, *((_want_text if want else _setting_text)(k, settings.get(k)) for k in keys)])


def _setting_keys(settings: Mapping[str, Any]) -> list[str]:
    return [key for key in settings if key in SETTING_WORDS]


def _size_text(got: LayerReport) -> str:
    """A layer found where another class was expected: its class and its size (``Dense, 64 units``)."""
    return _layer_text(got.class_name, got.settings, [k for k in ("filters", "units") if got.settings.get(k)])


def compare_layers(found: Sequence[LayerReport], expected: Sequence[Mapping[str, Any]]
                   ) -> tuple[list[str], list[LayerRow]]:
    """Layer-by-layer differences in class and settings, numbered as in a Sequential model's summary: as lines of
    text, and as one table row for each layer found or expected."""
    expected = expected_layers(list(expected))
    lines: list[str] = []
    rows: list[LayerRow] = []
    for i, j in _pairs(found, expected):
        if j is None:
            if i is not None:  # a layer found that no expected one pairs with (a pair holds at least one of the two)
                lines.append(f"layer {i + 1}: unexpected {found[i].class_name} layer")
                rows.append(LayerRow(str(i + 1), "(none)", _size_text(found[i]), False))
            continue
        want = expected[j]
        keys = _setting_keys(want)
        want_text = _layer_text(_class_text(want["class"]), want, keys, want=True)
        if i is None:
            where = f"after layer {j} ({_class_text(expected[j - 1]['class'])})" if j else "first"
            lines.append(f"missing layer: expected {_class_text(want['class'])} {where}"
                         f" (layer {j + 1} of {len(expected)})")
            rows.append(LayerRow(f"missing ({j + 1} of {len(expected)})", want_text, "(none)", False))
            continue
        got = found[i]
        if not _class_matches(want["class"], got.class_name):
            lines.append(f"layer {i + 1}: expected {_class_text(want['class'])}, found {got.class_name}")
            rows.append(LayerRow(str(i + 1), want_text, _size_text(got), False))
            continue
        wrong = [(key, value, got.settings.get(key)) for key, value in want.items()
                 if key in SETTING_WORDS and not same_setting(value, got.settings.get(key))]
        if wrong:
            parts = [f"expected {got.class_name} with {_setting_text(k, v if not isinstance(v, list) else v[0])},"
                     f" found {_found_text(k, g)}" for k, v, g in wrong]
            lines.append(f"layer {i + 1}: " + "; ".join(parts))
        rows.append(LayerRow(str(i + 1), want_text, _layer_text(got.class_name, got.settings, keys), not wrong))
    return lines, rows


def layer_differences(found: Sequence[LayerReport], expected: Sequence[Mapping[str, Any]]) -> list[str]:
    """The differences of ``compare_layers`` as lines of text."""
    return compare_layers(found, expected)[0]


def first_change(found: Sequence[LayerReport], expected: Sequence[Mapping[str, Any]]) -> tuple[int | None, bool]:
    """The first layer found (0-based) that differs from its expected layer, or that comes after a missing or
    extra one, and whether the count of layers differs: from there on every output shape and count can change."""
    expected = expected_layers(list(expected))
    first, shifted, seen = None, False, 0
    for i, j in _pairs(found, expected):
        differs = i is None or j is None or not _class_matches(expected[j]["class"], found[i].class_name) or any(
            key in SETTING_WORDS and not same_setting(value, found[i].settings.get(key))
            for key, value in expected[j].items())
        if differs:
            shifted = shifted or i is None or j is None
            first = (i if i is not None else seen) if first is None else first
        seen = i + 1 if i is not None else seen
    if first is not None:  # numbered as model_shapes numbers them when it leaves out an extra Dropout
        first -= sum(1 for layer in found[:first] if layer.class_name in SHAPE_KEEPING)
    return first, shifted


def _changed_from(first: int, count: int, shifted: bool) -> tuple[str, ...]:
    """What a model's changed layers change further on: the shapes and counts of layer ``first`` + 1 onwards."""
    return (*(f"layer:{k}" for k in range(first + 1, count + 1)), "total", *(("layer-count",) if shifted else ()))


@check("model_layers", "keras_model")
def model_layers(model: Any, params: Mapping[str, Any]) -> Outcome:
    found = describe(model)
    lines, rows = [], []
    follows: tuple[str, ...] = ()
    input_changed = False
    if "input_shape" in params:
        want = tuple(params["input_shape"])
        got = input_shape(model)
        if got != want:
            lines.append(f"input shape is {fmt_shape(got) if got else 'unknown'}, expected {fmt_shape(want)}")
            follows, input_changed = ((f"@sample-shape:{fmt_shape(got)}",) if got else ()), True
        rows.append(LayerRow("input", fmt_shape(want), fmt_shape(got) if got else "unknown", got == want))
    layer_lines, layer_rows = compare_layers(found, params["layers"])
    lines += layer_lines
    rows += layer_rows
    if lines:
        first, shifted = first_change(found, params["layers"])
        first = 0 if input_changed else first
        causes = _changed_from(first, len(found), shifted) if first is not None else ()
        causes += (INPUT_SHAPE,) if input_changed else ()
        # a model whose only difference is the input shape of the images it was given follows from their shape
        return Outcome(False, "\n".join(lines), tuple(rows), causes=causes,
                       follows_from=follows if not layer_lines else ())
    return Outcome(True, f"{len(found)} layers as expected", tuple(rows))


SHAPE_KEEPING = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
                 "GaussianNoise", "AlphaDropout", "ActivityRegularization"}  # no parameters, output shape = input


@check("model_shapes", "keras_model")
def model_shapes(model: Any, params: Mapping[str, Any]) -> Outcome:
    found = describe(model)
    shapes: list[tuple[Any, ...] | None] = [tuple(s) for s in params.get("output_shapes", ())]
    counts = list(params.get("params", ()))
    lines = []
    expected_layers = max(len(shapes), len(counts))
    shaping = [layer for layer in found if layer.class_name not in SHAPE_KEEPING]
    if len(found) != expected_layers and len(shaping) == expected_layers:
        found = shaping  # an extra Dropout changes no shape and no count: model_layers names it, once
    follows: list[str] = []
    if len(found) != expected_layers:
        lines.append(f"the model has {len(found)} layers, expected {expected_layers}")
        follows.append("layer-count")
        found = []
    for i, (got, want_shape, want_count) in enumerate(zip(found, shapes or [None] * len(counts),
                                                         counts or [None] * len(shapes))):
        parts = []
        if want_shape is not None and got.output_shape != want_shape:
            parts.append(f"its output is {fmt_shape(got.output_shape) if got.output_shape else 'unknown'},"
                         f" expected {fmt_shape(want_shape)}")
        if want_count is not None and got.params != want_count:
            parts.append(f"it has {got.params:,} parameters, expected {want_count:,}")
        if parts:
            lines.append(f"layer {i + 1} ({got.class_name}): " + "; ".join(parts))
            follows.append(f"layer:{i + 1}")
    total = int(model.count_params())
    if "total_params" in params and total != int(params["total_params"]):
        lines.append(f"{total:,} parameters in total, expected {int(params['total_params']):,}")
        follows.append("total")
    if lines:  # each difference a change the model's layers already made (model_layers counts it), or not
        return Outcome(False, "\n".join(lines), follows_from=tuple(follows))
    return Outcome(True, f"output shapes and {total:,} parameters as expected")


def _loss_name(loss: Any) -> str | None:
    if loss is None:
        return None
    if isinstance(loss, str):
        return snake_case(loss)  # Keras takes a loss's class name too: "SparseCategoricalCrossentropy"
    function = getattr(loss, "fn", None)
    if callable(function):
        return getattr(function, "__name__", None)
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None)
    return str(name) if name else type(loss).__name__


def snake_case(name: str) -> str:
    """A name as Keras names its functions: ``SparseCategoricalCrossentropy`` is ``sparse_categorical_crossentropy``
    (a name in lower case already is left as it is)."""
    if name.islower() or "_" in name:
        return name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


INPUT_SHAPE = "input-shape"  # what model_layers counts when the model takes inputs of another shape
OUTPUTS_NOT_PAIRED = "outputs-not-one-per-layer"  # what activation_outputs counts, activation_values follows from


@check("model_compile", "keras_model")
def model_compile(model: Any, params: Mapping[str, Any]) -> Outcome:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return Outcome(False, "the model was never compiled")
    lines = []
    got_optimizer = type(optimizer).__name__.lower()
    if "optimizer" in params and got_optimizer != str(params["optimizer"]).lower():
        lines.append(f"optimizer is {got_optimizer}, expected {params['optimizer']}")
    got_loss = _loss_name(getattr(model, "loss", None))
    if "loss" in params and (got_loss or "").lower() != str(params["loss"]).lower():
        hint = ""
        if (got_loss or "").lower() == "categorical_crossentropy" \
                and params["loss"] == "sparse_categorical_crossentropy":
            hint = (" (the task keeps the labels as class numbers, 0 to 9, which the sparse loss takes; the plain one"
                    " takes one-hot vectors, made with to_categorical)")
        elif (got_loss or "").lower() in ("mse", "mean_squared_error"):
            hint = " (a squared error is for numbers to predict, not for classes)"
        lines.append(f"loss is {got_loss or 'not set'}, expected {params['loss']}{hint}")
    if lines:
        return Outcome(False, "\n".join(lines))
    return Outcome(True, f"compiled with {got_optimizer} and {got_loss}")


@dataclass(frozen=True)
class LayerOutputs:
    """How an activation model's outputs pair with the trained model's layers: the layers (its InputLayer left out),
    how many leading outputs are the model's own input (the InputLayer's output, which
    ``[layer.output for layer in model.layers]`` gives first for a functional model) and are skipped, and what does
    not pair."""

    layers: tuple
    skipped: int
    problems: tuple[str, ...]


def _outputs_of(model: Any) -> list:
    return list(model.outputs) if isinstance(model.outputs, (list, tuple)) else [model.outputs]


def _is_an_input(output: Any, model: Any) -> bool:
    return any(output is tensor for tensor in model.inputs)


def _pairing_problem(outputs: list, layers: list, model: Any) -> str:
    """Why the outputs do not pair one for one with the layers, named by aligning the outputs' shapes on the
    layers' (a layer left out, the model's input among the outputs, an output of no layer)."""
    if len(outputs) != len(layers):
        head = (f"activation_model has {len(outputs)} output{'s' if len(outputs) != 1 else ''}, expected one for"
                f" each of the {len(layers)} layers of the trained model")
    else:
        head = "the outputs of activation_model are not the layers' outputs in order"
    if len(outputs) == 1:
        return (f"{head}: give it the list of every layer's output,"
                " outputs=[layer.output for layer in cnn_model.layers]")
    found = [fmt_shape(tuple(o.shape)[1:]) for o in outputs]
    wanted = [fmt_shape(tuple(layer.output.shape)[1:]) for layer in layers]
    causes = []
    for op, a0, a1, b0, b1 in difflib.SequenceMatcher(a=found, b=wanted, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        causes += [f"output {i + 1} ({found[i]}) is " + ("the model's input, not a layer's output"
                   if _is_an_input(outputs[i], model) else "the output of no layer") for i in range(a0, a1)]
        causes += [f"no output for layer {j + 1} ({type(layers[j]).__name__})" for j in range(b0, b1)]
    return head + (": " + "; ".join(causes[:4]) if causes else "")


def _one_output_per_layer(model: Any, other: Any) -> LayerOutputs:
    outputs = _outputs_of(model)
    layers = [layer for layer in other.layers if type(layer).__name__ != "InputLayer"]
    skipped = 1 if len(outputs) == len(layers) + 1 and _is_an_input(outputs[0], model) else 0
    compared = outputs[skipped:]
    if len(compared) != len(layers) or any(_is_an_input(output, model) for output in compared):
        return LayerOutputs(tuple(layers), skipped, (_pairing_problem(outputs, layers, model),))
    lines = []
    for number, (output, layer) in enumerate(zip(compared, layers), start=1):
        got, want = tuple(output.shape)[1:], tuple(layer.output.shape)[1:]
        if got != want:
            lines.append(f"output {number + skipped} is {fmt_shape(got)}, but layer {number}"
                         f" ({type(layer).__name__}) gives {fmt_shape(want)}")
    return LayerOutputs(tuple(layers), skipped, tuple(lines))


@check("activation_outputs", "keras_model")
def activation_outputs(model: Any, params: Mapping[str, Any], other: Any = None) -> Outcome:
    """One output per layer of the trained model (``compare_to``), each of that layer's shape."""
    if other is None:
        return Outcome(False, "the trained model to compare with is missing")
    paired = _one_output_per_layer(model, other)
    if paired.problems:
        return Outcome(False, "\n".join(paired.problems), causes=(OUTPUTS_NOT_PAIRED,))
    skipped = " (the first, the model's input, left out)" if paired.skipped else ""
    return Outcome(True, f"{len(paired.layers)} outputs, one for each layer, of the layers' shapes{skipped}")


@check("activation_values", "keras_model")
def activation_values(model: Any, params: Mapping[str, Any], other: Any = None) -> Outcome:
    """On images the grader picks, each output equals the trained model's own layer output (computed here)."""
    import keras
    import numpy as np

    from grader.inside import datasets

    if other is None:
        return Outcome(False, "the trained model to compare with is missing")
    paired = _one_output_per_layer(model, other)
    if paired.problems:
        return Outcome(False, "its outputs are not one per layer of the trained model (see the check above)",
                       follows_from=(OUTPUTS_NOT_PAIRED,))
    layers = paired.layers
    images, _ = datasets.load(params["dataset"], params["split"])
    picks = np.random.default_rng(int(params.get("seed", 0))).choice(len(images), int(params.get("images", 8)),
                                                                     replace=False)
    x = images[np.sort(picks)].reshape((-1,) + tuple(other.input_shape[1:])).astype(np.float32)
    x /= np.float32(params.get("scale", 1))
    truth = keras.Model(other.inputs, [layer.output for layer in layers])(x, training=False)
    found = model(x, training=False)
    truth = truth if isinstance(truth, (list, tuple)) else [truth]
    found = list(found)[paired.skipped:] if isinstance(found, (list, tuple)) else [found]
    for number, (got, want) in enumerate(zip(found, truth), start=1):
        got, want = np.asarray(got), np.asarray(want)
        if not np.allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(want).max()))):
            return Outcome(False, f"output {number + paired.skipped} differs from what layer {number} of the trained"
                                  " model gives on"
                                  f" the same images (by up to {float(np.abs(got - want).max()):.3g}): build"
                                  " activation_model from the trained model's own layers")
    return Outcome(True, f"all {len(found)} outputs equal the trained model's own layer outputs on"
                         f" {len(x)} images the grader picked")
