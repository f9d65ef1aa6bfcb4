"""Checks on Keras models: layers in order with their settings, output shapes, parameters, compile settings.

Every function works on a live model (the student's own check) and on one loaded
from a ``.keras`` file (the grader), since both are ``keras.Model`` objects.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .base import Outcome, check, fmt_shape, guard

SETTINGS = ("filters", "kernel_size", "pool_size", "strides", "units", "activation", "padding")
SETTING_WORDS = {"filters": "filters", "units": "units", "kernel_size": "kernel", "pool_size": "pool size",
                 "strides": "strides", "activation": "activation", "padding": "padding"}


@dataclass(frozen=True)
class LayerReport:
    """One layer as found in a model."""

    class_name: str
    settings: Mapping[str, Any]
    output_shape: tuple | None
    params: int


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict) and "class_name" in value:  # a serialised activation object
        return str(value.get("config", {}).get("name") or value["class_name"]).lower()
    return value


def describe(model: Any) -> list[LayerReport]:
    """The layers of a built Keras model, as ``model.summary()`` lists them."""
    reports = []
    for layer in model.layers:
        config = layer.get_config()
        settings = {key: _plain(config[key]) for key in SETTINGS if key in config}
        try:
            shape = tuple(layer.output.shape)[1:]
        except (AttributeError, ValueError):
            shape = None
        reports.append(LayerReport(type(layer).__name__, settings, shape, int(layer.count_params())))
    return reports


@guard("keras_model")
def is_model(value: Any) -> Outcome | None:
    import keras

    if not isinstance(value, keras.Model):
        return Outcome(False, f"expected a Keras model, found {type(value).__name__}")
    if not value.built or not value.layers:
        return Outcome(False, "the model has no layers or was never built (give it an Input or train it)")
    return None


def _setting_text(key: str, value: Any) -> str:
    if key in ("kernel_size", "pool_size", "strides"):
        return f"{SETTING_WORDS[key]} {'x'.join(str(v) for v in value)}"
    if key in ("filters", "units"):
        return f"{value} {SETTING_WORDS[key]}"
    return f"{SETTING_WORDS[key]} {value}"


def _wanted(expected: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in expected.items() if k in SETTINGS}


def _layer_name(expected: Mapping[str, Any]) -> str:
    return str(expected["class"])


def _align(found: Sequence[LayerReport], expected: Sequence[Mapping[str, Any]]):
    """Pairs (found index or None, expected index or None) aligned on layer classes."""
    matcher = difflib.SequenceMatcher(a=[f.class_name for f in found], b=[_layer_name(e) for e in expected],
                                      autojunk=False)
    pairs: list[tuple[int | None, int | None]] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op in ("equal", "replace") and a1 - a0 == b1 - b0:
            pairs.extend(zip(range(a0, a1), range(b0, b1)))
        else:
            pairs.extend((i, None) for i in range(a0, a1))
            pairs.extend((None, j) for j in range(b0, b1))
    return pairs


def layer_differences(found: Sequence[LayerReport], expected: Sequence[Mapping[str, Any]]) -> list[str]:
    """Layer-by-layer differences in class and settings, numbered as in ``model.summary()``."""
    lines = []
    for i, j in _align(found, expected):
        if j is None:
            lines.append(f"layer {i + 1}: unexpected {found[i].class_name} layer")
            continue
        want = expected[j]
        if i is None:
            where = f"after layer {j} ({_layer_name(expected[j - 1])})" if j else "first"
            lines.append(f"missing layer: expected {_layer_name(want)} {where} (layer {j + 1} of {len(expected)})")
            continue
        got = found[i]
        if got.class_name != _layer_name(want):
            lines.append(f"layer {i + 1}: expected {_layer_name(want)}, found {got.class_name}")
            continue
        wrong = [(key, value, got.settings.get(key)) for key, value in _wanted(want).items()
                 if got.settings.get(key) != value]
        if wrong:
            parts = [f"expected {got.class_name} with {_setting_text(k, v)}, found "
                     + (_setting_text(k, g).split(" ", 1)[0] if k in ("filters", "units") else
                        _setting_text(k, g) if g is not None else "none")
                     for k, v, g in wrong]
            lines.append(f"layer {i + 1}: " + "; ".join(parts))
    return lines


@check("model_layers", "keras_model")
def model_layers(model: Any, params: Mapping[str, Any]) -> Outcome:
    found = describe(model)
    lines = []
    if "input_shape" in params:
        want = tuple(params["input_shape"])
        got = tuple(model.input_shape[1:]) if hasattr(model, "input_shape") else None
        if got != want:
            lines.append(f"input shape is {fmt_shape(got) if got else 'unknown'}, expected {fmt_shape(want)}")
    lines += layer_differences(found, params["layers"])
    if lines:
        return Outcome(False, "\n".join(lines))
    return Outcome(True, f"{len(found)} layers as expected")


@check("model_shapes", "keras_model")
def model_shapes(model: Any, params: Mapping[str, Any]) -> Outcome:
    found = describe(model)
    shapes = [tuple(s) for s in params.get("output_shapes", ())]
    counts = list(params.get("params", ()))
    lines = []
    expected_layers = max(len(shapes), len(counts))
    if len(found) != expected_layers:
        lines.append(f"the model has {len(found)} layers, expected {expected_layers}")
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
    total = int(model.count_params())
    if "total_params" in params and total != int(params["total_params"]):
        lines.append(f"{total:,} parameters in total, expected {int(params['total_params']):,}")
    if lines:
        return Outcome(False, "\n".join(lines))
    return Outcome(True, f"output shapes and {total:,} parameters as expected")


def _loss_name(loss: Any) -> str | None:
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    function = getattr(loss, "fn", None)
    if callable(function):
        return getattr(function, "__name__", None)
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None)
    return str(name) if name else type(loss).__name__


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
        lines.append(f"loss is {got_loss or 'not set'}, expected {params['loss']}")
    if lines:
        return Outcome(False, "\n".join(lines))
    return Outcome(True, f"compiled with {got_optimizer} and {got_loss}")
