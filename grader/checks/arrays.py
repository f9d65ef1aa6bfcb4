"""Checks on exported NumPy arrays: shape, dtype and range, and equality with the real data."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import datasets
from .base import Outcome, check, fmt_shape, guard

CHUNK = 4096


@guard("array")
def is_array(value: Any) -> Outcome | None:
    if not isinstance(value, np.ndarray):
        return Outcome(False, f"expected a NumPy array, found {type(value).__name__}")
    if value.dtype.kind not in "biuf":
        return Outcome(False, f"expected an array of numbers, found dtype {value.dtype}")
    return None


@check("array_shape", "array")
def array_shape(value: Any, params: Mapping[str, Any]) -> Outcome:
    expected = tuple(params["shape"])
    if value.shape == expected:
        return Outcome(True, f"shape is {fmt_shape(expected)}")
    hint = ""
    if value.size == int(np.prod(expected)):
        hint = " (the same number of values: reshape it)"
    return Outcome(False, f"shape is {fmt_shape(value.shape)}, expected {fmt_shape(expected)}{hint}")


def _min_max(value: np.ndarray) -> tuple[float, float]:
    flat = value.reshape(len(value), -1) if value.ndim > 1 else value.reshape(-1, 1)
    low, high = np.inf, -np.inf
    for start in range(0, len(flat), CHUNK):
        part = flat[start:start + CHUNK]
        part_low, part_high = float(part.min()), float(part.max())
        if np.isnan(part_low) or np.isnan(part_high):
            return float("nan"), float("nan")
        low, high = min(low, part_low), max(high, part_high)
    return low, high


@check("array_range", "array")
def array_range(value: Any, params: Mapping[str, Any]) -> Outcome:
    if params.get("dtype") == "float" and value.dtype.kind != "f":
        return Outcome(False, f"values are {value.dtype}, expected floating point numbers"
                              " (dividing by 255.0 gives floats)")
    if value.size == 0:
        return Outcome(False, "the array is empty")
    low, high = _min_max(value)
    want_low, want_high = float(params["min"]), float(params["max"])
    if np.isnan(low) or np.isnan(high):
        return Outcome(False, "the array contains NaN values")
    if low < want_low or high > want_high:
        return Outcome(False, f"values range from {low:g} to {high:g}, expected between"
                              f" {want_low:g} and {want_high:g} (did you normalise?)")
    return Outcome(True, f"values lie between {want_low:g} and {want_high:g}")


@check("array_matches_dataset", "array")
def array_matches_dataset(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The array holds the data set's images, in order, divided by ``scale``."""
    images, _ = datasets.load(params["dataset"], params["split"])
    scale = float(params.get("scale", 1.0))
    if value.size != images.size:
        return Outcome(False, f"holds {value.size:,} values, but the {params['split']} images have {images.size:,}")
    flat_ref = images.reshape(len(images), -1)
    flat = value.reshape(len(images), -1)
    tolerance = float(params.get("tolerance", 1e-5))
    for start in range(0, len(flat), CHUNK):
        ref = flat_ref[start:start + CHUNK].astype(np.float64)
        got = flat[start:start + CHUNK].astype(np.float64)
        close = np.isclose(got, ref / scale, atol=tolerance, rtol=0).all(axis=1)
        if not close.all():
            first_bad = start + int(np.argmin(close))
            hint = ""
            if scale != 1 and np.allclose(got, ref, atol=tolerance, rtol=0):
                hint = f": these are the raw pixel values, divide them by {scale:g}"
            return Outcome(False, f"image {first_bad} differs from the original {params['split']} image{hint}")
    return Outcome(True, f"the same images as the original {params['split']} set")
