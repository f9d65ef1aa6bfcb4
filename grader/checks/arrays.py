"""Checks on exported NumPy arrays: shape, dtype and range, and equality with the real data."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from grader.checks.base import Outcome, check, fmt_shape, guard
from grader.errors import DatasetUnavailableError
from grader.inside import datasets

CHUNK = 4096
GREY_TOLERANCE = 0.25  # of a grey level (0 to 255): float16 keeps a quarter of one
TWICE_DIVIDED_MAX = 1.001 / 255  # the most a 0-to-1 range of images divided by 255 twice reaches (float16 aside)


@guard("array")
def is_array(value: Any) -> Outcome | None:
    if not isinstance(value, np.ndarray):
        return Outcome(False, f"expected a NumPy array, found {type(value).__name__}")
    if value.dtype.kind not in "biuf":
        return Outcome(False, f"expected an array of numbers, found dtype {value.dtype}")
    return None


def _shape_text(shape: tuple) -> str:
    return fmt_shape(tuple("N" if s is None else s for s in shape))


@check("array_shape", "array")
def array_shape(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The array's shape; ``null`` in the expected shape stands for any size (the number of images)."""
    expected = tuple(params["shape"])
    if len(value.shape) == len(expected) and all(w is None or w == g for w, g in zip(expected, value.shape)):
        return Outcome(True, f"shape is {fmt_shape(value.shape)}")
    hint = ""
    known = [s for s in expected if s is not None]
    if None not in expected and value.size == int(np.prod(expected)):
        hint = " (the same number of values: reshape it)"
    elif None in expected and known and value.size % int(np.prod(known)) == 0 and len(value.shape) != len(expected):
        hint = " (reshape it)"
    # what a model built for these images takes: its input shape then follows from this mistake, counted here
    sample = (f"@sample-shape:{fmt_shape(tuple(value.shape[1:]))}",) if len(expected) > 1 and value.ndim > 1 else ()
    return Outcome(False, f"shape is {fmt_shape(value.shape)}, expected {_shape_text(expected)}{hint}",
                   causes=sample)


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
    if (want_low, want_high) == (0, 1) and 0 < high <= TWICE_DIVIDED_MAX:
        # Within the range asked, so this point is kept (the grader's check of the images themselves costs the
        # mistake once); said here, where a student sees it, as the warning it is.
        return Outcome(True, f"values lie between 0 and 1, but the largest is {high:.3g}, 1/255 or less, where"
                             " normalised images reach 1: were the images divided by 255 twice? (run the cells that"
                             " prepare them once, from the top)")
    return Outcome(True, f"values lie between {want_low:g} and {want_high:g}")


@check("array_matches_dataset", "array")
def array_matches_dataset(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The array holds the data set's images, in order, divided by ``scale`` (in any float precision)."""
    images, _ = datasets.load(params["dataset"], params["split"])
    pad = int(params.get("pad", 0))
    if pad:
        images = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
    scale = float(params.get("scale", 1.0))
    split = params["split"]
    per_image = int(np.prod(images.shape[1:]))
    if pad and value.size != images.size and value.size == images[:, pad:-pad, pad:-pad].size:
        side = images.shape[1] - 2 * pad
        return Outcome(False, f"the images are still {side} x {side}: pad them with {pad} pixels of zeros on every side"
                              f" to make them {images.shape[1]} x {images.shape[2]}")
    if value.size != images.size:
        if pad and value.ndim >= 3 and value.shape[0] == len(images) + 2 * pad:
            return Outcome(False, f"holds {value.shape[0]:,} images, {2 * pad} more than the {split} set's"
                                  f" {len(images):,}: the image axis was padded too; pad only the height and width,"
                                  f" for example np.pad(images, ((0, 0), ({pad}, {pad}), ({pad}, {pad})))")
        if value.size % per_image == 0:
            return Outcome(False, f"holds {value.size // per_image:,} images, but the {split} set has"
                                  f" {len(images):,}: keep every image")
        return Outcome(False, f"holds {value.size:,} values, but the {split} images have {images.size:,}")
    flat_ref = images.reshape(len(images), -1)
    flat = value.reshape(len(images), -1)
    bad = first_differing_images(flat, flat_ref, scale)
    if not bad:
        padded = f", padded with {pad} pixels of zeros on every side" if pad else ""
        return Outcome(True, f"the same images as the original {split} set{padded}")
    if pad:
        off_centre = _off_centre(flat[bad].astype(np.float64) * scale, images[bad], pad)
        if off_centre:
            return Outcome(False, off_centre)
    return Outcome(False, diagnose(value, flat, flat_ref, bad, params))


def _off_centre(got: np.ndarray, padded: np.ndarray, pad: int) -> str | None:
    """Whether the images were padded by the right amount in all, but not on every side (not centred)."""
    inner = padded[:, pad:-pad, pad:-pad]
    side = padded.shape[1]
    for top in range(0, 2 * pad + 1):
        for left in range(0, 2 * pad + 1):
            if (top, left) == (pad, pad):
                continue
            moved = np.pad(inner, ((0, 0), (top, 2 * pad - top), (left, 2 * pad - left))).reshape(len(inner), -1)
            if np.allclose(got.reshape(len(got), -1), moved, atol=GREY_TOLERANCE, rtol=0):
                return (f"the images are {side} x {side} but not centred ({top} rows of zeros above, {2 * pad - top}"
                        f" below, {left} columns on the left, {2 * pad - left} on the right): pad {pad} on every side")
    return None


def first_differing_images(flat: np.ndarray, flat_ref: np.ndarray, scale: float, wanted: int = 20) -> list[int]:
    """Indices of the first images that are not the original ones divided by ``scale`` (a quarter of a grey
    level of tolerance, so that float16 and float32 copies of the right images count as right)."""
    bad: list[int] = []
    for start in range(0, len(flat), CHUNK):
        got = flat[start:start + CHUNK].astype(np.float64) * scale
        ref = flat_ref[start:start + CHUNK].astype(np.float64)
        close = (np.abs(got - ref) <= GREY_TOLERANCE).all(axis=1)
        bad += [start + int(i) for i in np.flatnonzero(~close)[:wanted - len(bad)]]
        if len(bad) >= wanted:
            break
    return bad


def diagnose(value: np.ndarray, flat: np.ndarray, flat_ref: np.ndarray, bad: list[int],
             params: Mapping[str, Any]) -> str:
    """How the exported images differ from the originals, in a student's words."""
    scale = float(params.get("scale", 1.0))
    split = params["split"]
    got = flat[bad].astype(np.float64)
    ref = flat_ref[bad].astype(np.float64)
    first = bad[0]
    factor = _constant_factor(got, ref / scale)
    if factor is not None:
        return _factor_message(factor, scale)
    side = int(round(np.sqrt(flat_ref.shape[1])))
    if side * side == flat_ref.shape[1]:
        for name, move in (("transposed (rows and columns swapped)", lambda a: a.transpose(0, 2, 1)),
                           ("flipped left to right", lambda a: a[:, :, ::-1]),
                           ("flipped upside down", lambda a: a[:, ::-1, :])):
            moved = move(ref.reshape(-1, side, side)).reshape(len(bad), -1) / scale
            if np.allclose(got, moved, atol=GREY_TOLERANCE / scale, rtol=0):
                return f"the images are {name}: keep them as load_data() gives them"
    found = _find_elsewhere(got, scale, flat_ref)
    if found is not None and found != first:
        return (f"the images are the original {split} images in another order ({_ordinal(first)} is the original"
                f" {_ordinal(found)}): keep them in the order load_data() gives them, so they match their labels")
    if found is None:
        other = "test" if split == "train" else "train"
        try:
            other_images, _ = datasets.load(params["dataset"], other)
        except (DatasetUnavailableError, KeyError):
            other_images = None
        pad = int(params.get("pad", 0))
        if other_images is not None and pad:  # prepared as the task prepares these (LeNet-5's 32 x 32)
            other_images = np.pad(other_images, ((0, 0), (pad, pad), (pad, pad)))
        if other_images is not None and other_images[0].size != got.shape[1]:
            other_images = None
        if other_images is not None and _find_elsewhere(got, scale, other_images.reshape(len(other_images), -1)) \
                is not None:
            return f"these are {other} images, not the {split} images"
    if _same_grey_levels(flat, flat_ref, scale):
        return ("the pixel values are the original ones but arranged differently: reshape without moving the axes,"
                f" for example .reshape({len(flat_ref)}, {side}, {side}, 1)")
    if value.dtype.kind in "iu" and scale != 1:
        return (f"the values are whole numbers ({value.dtype}): divide with / {scale:g} to get fractions"
                " (// rounds them down)")
    differing = np.abs(got[0] * scale - ref[0]) > GREY_TOLERANCE
    largest = float(np.abs(got[0] - ref[0] / scale).max())
    return (f"{_ordinal(first)} differs from the original {split} image at {int(differing.sum())} of"
            f" {differing.size} pixels (by up to {largest:.3g}): were the images changed?")


def _same_grey_levels(flat: np.ndarray, flat_ref: np.ndarray, scale: float) -> bool:
    """Whether the array holds the same grey levels as the originals, as many times each (in any order)."""
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, len(flat), CHUNK):
        levels = flat[start:start + CHUNK].astype(np.float64) * scale
        rounded = np.rint(levels)
        if np.abs(levels - rounded).max() > GREY_TOLERANCE or rounded.min() < 0 or rounded.max() > 255:
            return False
        counts += np.bincount(rounded.astype(np.int64).ravel(), minlength=256)
    return bool((counts == np.bincount(flat_ref.ravel().astype(np.int64), minlength=256)).all())


def _constant_factor(got: np.ndarray, expected: np.ndarray) -> float | None:
    """The factor k with got == k * expected for every image compared, if there is one."""
    total = expected.sum()
    if total <= 0:
        return None
    factor = got.sum() / total
    if factor > 0 and np.allclose(got, factor * expected, rtol=1e-3, atol=1e-3 * max(factor, 1e-12)):
        return float(factor)
    return None


def _factor_message(factor: float, scale: float) -> str:
    if scale != 1 and np.isclose(factor, 1 / scale, rtol=1e-3):
        return (f"every value is {scale:g} times too small: the images were divided by {scale:g} twice"
                " (run the cells that prepare them once, from the top)")
    if scale != 1 and np.isclose(factor, scale, rtol=1e-3):
        return f"these are the raw pixel values (0 to {scale:g}): divide them by {scale:g}"
    divisor = scale / factor
    if np.isclose(divisor, round(divisor), rtol=1e-3):
        return f"the images were divided by {round(divisor):g}, not by {scale:g}"
    return f"every value is {factor:.4g} times the expected one: divide the pixel values by {scale:g}, once"


def _find_elsewhere(got: np.ndarray, scale: float, flat_ref: np.ndarray) -> int | None:
    """Where in ``flat_ref`` the first compared image is (its grey levels equal), if anywhere."""
    levels = np.rint(got[0] * scale)
    if np.abs(got[0] * scale - levels).max() > GREY_TOLERANCE or levels.min() < 0 or levels.max() > 255:
        return None
    target = levels.astype(flat_ref.dtype).tobytes()
    for start in range(0, len(flat_ref), CHUNK):
        chunk = flat_ref[start:start + CHUNK]
        candidates = np.flatnonzero((chunk == levels.astype(flat_ref.dtype)).all(axis=1))
        for index in candidates:
            if chunk[index].tobytes() == target:
                return start + int(index)
    return None


def _ordinal(index: int) -> str:
    return f"image {index}"


@check("images_of_one_class", "value")
def images_of_one_class(value: Any, params: Mapping[str, Any]) -> Outcome:
    """``count`` different indices of the split's images, all of one class."""
    _, labels = datasets.load(params["dataset"], params["split"])
    count = int(params.get("count", 3))
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return Outcome(False, f"expected a list of {count} image numbers (indices), for example [0, 23, 28]")
    if len(set(value)) != count:
        return Outcome(False, f"expected {count} different image numbers, found {len(set(value))}")
    outside = [v for v in value if not 0 <= v < len(labels)]
    if outside:
        return Outcome(False, f"{outside[0]} is not the number of a {params['split']} image (0 to {len(labels) - 1})")
    classes = sorted({int(labels[v]) for v in value})
    wanted = params.get("class")
    if wanted is not None:
        wrong = [v for v in value if int(labels[v]) != int(wanted)]
        if wrong:
            found = ", ".join(f"image {v} is {class_name(params['dataset'], int(labels[v]))}" for v in wrong[:5])
            return Outcome(False, f"expected {count} images of {class_name(params['dataset'], int(wanted))}: {found}")
    if len(classes) != 1:
        found = ", ".join(f"image {v} is class {int(labels[v])}" for v in value)
        return Outcome(False, f"the images are of different classes ({found})")
    return Outcome(True, f"{count} {params['split']} images of {class_name(params['dataset'], classes[0])}")


FASHION_CLASSES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                   "ankle boot")


def class_name(dataset: str, label: int) -> str:
    """A class as a person names it: 'class 5 (sandal)' for Fashion-MNIST, 'class 5' (the digit) for MNIST."""
    if dataset == "fashion_mnist" and 0 <= label < len(FASHION_CLASSES):
        return f"class {label} ({FASHION_CLASSES[label]})"
    return f"class {label}"
