"""The network a student built, whatever the way it was built.

A model made with ``Sequential`` (with or without ``Input``, or with ``input_shape=`` on its
first layer as the course notes write it), with the functional API, or nested, is described
the same way: its layers in order, without the ``InputLayer`` (which ``model.summary()`` of a
Sequential model does not list either), nested models flattened, and an activation given as a
layer of its own (``Activation("relu")``, ``ReLU()``, ``Softmax()``) folded into the layer it
follows when that layer has no activation of its own.  Activation functions are named the way
Keras names them, so that ``tf.nn.relu`` and ``"relu"`` read the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

SETTINGS = ("filters", "kernel_size", "pool_size", "strides", "units", "activation", "padding")
# Layer classes that Keras exports under two names (both names are the same class in Keras 3).
CLASS_ALIASES = {"MaxPool2D": "MaxPooling2D", "MaxPool1D": "MaxPooling1D", "MaxPool3D": "MaxPooling3D",
                 "AvgPool2D": "AveragePooling2D", "AvgPool1D": "AveragePooling1D",
                 "Convolution2D": "Conv2D", "Convolution1D": "Conv1D", "Conv2d": "Conv2D"}
# TensorFlow's and Keras's names of the same functions.
ACTIVATION_ALIASES = {"softmax_v2": "softmax", "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh",
                      "swish": "silu", "log_softmax_v2": "log_softmax", "leaky_relu": "leaky_relu",
                      "exp": "exponential", "identity": "linear", "None": "linear"}


@dataclass(frozen=True)
class LayerReport:
    """One layer of the network as found, with the settings the checks compare."""

    class_name: str
    settings: Mapping[str, Any]
    output_shape: tuple | None
    params: int
    folded: tuple[str, ...] = field(default=())  # activation layers folded into this one


def canonical_class(name: str) -> str:
    return CLASS_ALIASES.get(str(name), str(name))


def activation_name(activation: Any) -> str | None:
    """``relu`` for ``"relu"``, ``keras.activations.relu``, ``tf.nn.relu`` or their serialised forms."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return ACTIVATION_ALIASES.get(activation, activation).lower()
    if isinstance(activation, Mapping):  # a serialised function or activation object
        config = activation.get("config")
        name = config if isinstance(config, str) else (config or {}).get("name") if isinstance(config, Mapping) \
            else None
        return activation_name(name or activation.get("class_name"))
    name = getattr(activation, "__name__", None)
    if name:
        return activation_name(name)
    return type(activation).__name__.lower()


def plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    return value


def _output_shape(layer: Any) -> tuple | None:
    try:
        return tuple(layer.output.shape)[1:]
    except (AttributeError, ValueError, TypeError):
        return None


def _is_input(layer: Any) -> bool:
    return type(layer).__name__ == "InputLayer"


def _is_graph_model(layer: Any) -> bool:
    """A Sequential or functional model used as a layer: its own layers are the network."""
    import keras

    return isinstance(layer, keras.Model) and type(layer).__name__ in ("Sequential", "Functional")


def leaf_layers(model: Any) -> list[Any]:
    """The model's layers in order, nested Sequential and functional models flattened, inputs left out."""
    layers = []
    for layer in model.layers:
        if _is_input(layer):
            continue
        if _is_graph_model(layer):
            layers += leaf_layers(layer)
        else:
            layers.append(layer)
    return layers


def _activation_of_layer(layer: Any) -> str | None:
    """The activation an activation layer applies, or None when it is not a plain activation layer."""
    name = type(layer).__name__
    config = layer.get_config()
    if name == "Activation":
        return activation_name(getattr(layer, "activation", config.get("activation")))
    if name == "ReLU" and not config.get("max_value") and not config.get("negative_slope") \
            and not config.get("threshold"):
        return "relu"
    if name == "Softmax" and config.get("axis", -1) in (-1, [-1], (-1,)):
        return "softmax"
    return None


def report(layer: Any) -> LayerReport:
    config = layer.get_config()
    settings = {key: plain(config[key]) for key in SETTINGS if key in config and key != "activation"}
    if "activation" in config:
        settings["activation"] = activation_name(getattr(layer, "activation", config["activation"]))
    return LayerReport(type(layer).__name__, settings, _output_shape(layer), int(layer.count_params()))


def fold_activations(reports: list[tuple[LayerReport, str | None]]) -> list[LayerReport]:
    """Fold an activation layer into the layer before it when that layer's own activation is linear."""
    out: list[LayerReport] = []
    for layer, applies in reports:
        previous = out[-1] if out else None
        if applies is not None and previous is not None and previous.settings.get("activation") == "linear":
            out[-1] = replace(previous, settings={**previous.settings, "activation": applies},
                              output_shape=layer.output_shape or previous.output_shape,
                              params=previous.params + layer.params,
                              folded=previous.folded + (layer.class_name,))
        else:
            out.append(layer)
    return out


def describe(model: Any) -> list[LayerReport]:
    """The network of a built Keras model, one entry per layer a student would name."""
    return fold_activations([(report(layer), _activation_of_layer(layer)) for layer in leaf_layers(model)])


def expected_layers(layers: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A spec's layers with class aliases resolved and activation layers folded, as ``describe`` does."""
    out: list[dict[str, Any]] = []
    for want in layers:
        want = {**want, "class": _canonical_classes(want["class"])}
        applies = _spec_activation_layer(want)
        previous = out[-1] if out else None
        if applies and previous is not None and previous.get("activation", "linear") == "linear" \
                and previous["class"] not in ("Activation", "ReLU", "Softmax"):
            previous["activation"] = applies
        else:
            if isinstance(want.get("activation"), (list, tuple)):
                want["activation"] = [activation_name(a) for a in want["activation"]]
            elif "activation" in want:
                want["activation"] = activation_name(want["activation"])
            out.append(want)
    return out


def _canonical_classes(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(canonical_class(v) for v in value)
    return canonical_class(value)


def _spec_activation_layer(want: Mapping[str, Any]) -> str | None:
    if want["class"] == "Activation":
        return activation_name(want.get("activation"))
    if want["class"] == "ReLU":
        return "relu"
    if want["class"] == "Softmax":
        return "softmax"
    return None


def input_shape(model: Any) -> tuple | None:
    try:
        return tuple(model.input_shape[1:])
    except (AttributeError, ValueError, TypeError, IndexError):
        return None
