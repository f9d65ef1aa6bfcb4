"""The grader's own answers for the functions students write by hand, and the held-out cases it tries them on.

The cases are real images (Fashion-MNIST test images and pieces of them, several sizes, odd ones too) and
filters drawn from a seed kept in the hidden checks, so the same submission always meets the same cases, and
a student's code never sees them before its cells have run.  Filters alternate between whole weights (as the
notes' filters) and fractions, so that a convolution that rounds its sums (a result array made with
``dtype=int``) is found whatever the seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .. import datasets


def correlate_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Each output pixel is the sum of its neighbourhood times the filter's weights (no flip, no padding), as
    the course notes describe it and as Conv2D computes it: an H x W image gives (H - 2) x (W - 2) with 3 x 3."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for dy in range(kh):
        for dx in range(kw):
            out += kernel[dy, dx] * image[dy:dy + out.shape[0], dx:dx + out.shape[1]]
    return out


def max_pool(image: np.ndarray, size: int = 2) -> np.ndarray:
    """The largest value of each size x size block; a last row or column that does not fill a block is dropped,
    as MaxPooling2D does (26 x 26 gives 13 x 13, 11 x 11 gives 5 x 5)."""
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape[0] // size * size, image.shape[1] // size * size
    return image[:h, :w].reshape(h // size, size, w // size, size).max(axis=(1, 3))


@dataclass(frozen=True)
class Reference:
    """A function students write, the grader's version of it, and how to draw held-out cases for it."""

    compute: Callable[..., np.ndarray]
    draw: Callable[[np.random.Generator, tuple[int, int], int], tuple[np.ndarray, ...]]  # rng, shape, case number


def _real_image(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A piece of real Fashion-MNIST test images of the given shape, pixel values 0 to 255 (as floats)."""
    images, _ = datasets.load("fashion_mnist", "test")
    rows, cols = -(-shape[0] // 28), -(-shape[1] // 28)
    picks = rng.choice(len(images), size=rows * cols, replace=False)
    mosaic = np.block([[images[picks[r * cols + c]] for c in range(cols)] for r in range(rows)])
    return mosaic[:shape[0], :shape[1]].astype(np.float64)


def _filter(rng: np.random.Generator, fractions: bool) -> np.ndarray:
    """A 3 x 3 filter, never symmetric: whole weights from -2 to 2 (as the notes' filters), or fractions (weights
    with two decimals, such as 0.5 or -0.25, whose sums on an image are not whole numbers)."""
    while True:
        kernel = np.round(rng.normal(size=(3, 3)), 2) if fractions \
            else rng.integers(-2, 3, size=(3, 3)).astype(np.float64)
        whole = np.array_equal(kernel, np.round(kernel))
        if not np.allclose(kernel, kernel[::-1, ::-1]) and not np.allclose(kernel, kernel.T) and kernel.any() \
                and whole != fractions:
            return kernel


def _image_and_filter(rng: np.random.Generator, shape: tuple[int, int], number: int) -> tuple[np.ndarray, ...]:
    """Case ``number`` (from 0): a real image, and a filter with whole weights for even numbers, fractions for odd."""
    return _real_image(rng, shape), _filter(rng, fractions=number % 2 == 1)


REFERENCES: dict[str, Reference] = {
    "correlate_3x3": Reference(correlate_valid, _image_and_filter),
    "max_pool_2x2": Reference(max_pool, lambda rng, shape, number: (_real_image(rng, shape),)),
}


def held_out_cases(params: Mapping[str, Any]) -> list[tuple[np.ndarray, ...]]:
    reference = REFERENCES[params["reference"]]
    rng = np.random.default_rng(int(params["seed"]))
    return [reference.draw(rng, tuple(int(s) for s in shape), number) for number, shape in enumerate(params["shapes"])]
