"""The grader measures a trained model's accuracy itself, on the data set's own test images."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import datasets
from . import models  # noqa: F401  (registers the guard for keras_model evidence)
from .base import Outcome, check, fmt_shape

BATCH = 1000


def measure_accuracy(model: Any, dataset: str, split: str, scale: float) -> float:
    """Fraction of the split's images the model classifies right."""
    images, labels = datasets.load(dataset, split)
    input_shape = tuple(model.input_shape[1:])
    x = images.reshape((len(images),) + input_shape).astype(np.float32) / np.float32(scale)
    right = 0
    for start in range(0, len(x), BATCH):
        scores = np.asarray(model(x[start:start + BATCH], training=False))
        right += int((scores.argmax(axis=-1) == labels[start:start + BATCH]).sum())
    return right / len(x)


def _never_trained(model: Any) -> bool:
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None)
    try:
        return iterations is not None and int(iterations.numpy()) == 0
    except (AttributeError, TypeError, ValueError):
        return False


@check("model_accuracy", "keras_model")
def model_accuracy(model: Any, params: Mapping[str, Any]) -> Outcome:
    images, _ = datasets.load(params["dataset"], params["split"])
    input_shape = tuple(model.input_shape[1:])
    if None in input_shape or int(np.prod(input_shape)) != int(np.prod(images.shape[1:])):
        return Outcome(False, f"the model takes inputs of shape {fmt_shape(input_shape)}, which the"
                              f" {fmt_shape(images.shape[1:])} test images cannot be reshaped to")
    output_shape = tuple(model.output_shape[1:])
    if output_shape != (int(params.get("classes", 10)),):
        return Outcome(False, f"the model outputs {fmt_shape(output_shape)} values per image,"
                              f" expected one score for each of the {params.get('classes', 10)} classes")
    accuracy = measure_accuracy(model, params["dataset"], params["split"], float(params.get("scale", 1)))
    minimum = float(params["min_accuracy"])
    measured = f"accuracy measured by the grader on the {len(images):,} {params['split']} images: {accuracy:.4f}"
    if accuracy >= minimum:
        return Outcome(True, f"{measured} (needed {minimum:.2f})")
    hint = " The model was never trained (fit was not run on it)." if _never_trained(model) else ""
    return Outcome(False, f"{measured}, needed at least {minimum:.2f}.{hint}")
