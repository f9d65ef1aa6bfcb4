"""Array and answer checks, on the real Fashion-MNIST data."""
from __future__ import annotations

import numpy as np
import pytest

from grader import datasets
from grader.checks.answers import choice, choice_format
from grader.checks.arrays import array_matches_dataset, array_range, array_shape

MATCH = {"dataset": "fashion_mnist", "split": "test", "scale": 255}


@pytest.fixture(scope="module")
def test_images():
    return datasets.load("fashion_mnist", "test")[0]


def test_shape_with_a_reshape_hint(test_images):
    outcome = array_shape(test_images, {"shape": [10000, 28, 28, 1]})
    assert not outcome.passed
    assert outcome.message == "shape is (10000, 28, 28), expected (10000, 28, 28, 1) (the same number of values: reshape it)"
    assert array_shape(test_images.reshape(10000, 28, 28, 1), {"shape": [10000, 28, 28, 1]}).passed


def test_range_and_dtype(test_images):
    params = {"dtype": "float", "min": 0, "max": 1}
    assert "expected floating point" in array_range(test_images, params).message
    unscaled = array_range(test_images.astype(float), params)
    assert not unscaled.passed and "values range from 0 to 255" in unscaled.message
    assert array_range(test_images / 255.0, params).passed
    assert "NaN" in array_range(np.full((3, 3), np.nan), params).message


def test_the_same_images_as_the_original(test_images):
    normalised = test_images.reshape(10000, 28, 28, 1) / 255.0
    assert array_matches_dataset(normalised, MATCH).passed
    assert array_matches_dataset(normalised.astype(np.float32), MATCH).passed
    raw = array_matches_dataset(test_images.astype(float), MATCH)
    assert not raw.passed and "raw pixel values, divide them by 255" in raw.message
    shuffled = normalised[::-1]
    assert array_matches_dataset(shuffled, MATCH).message.startswith("image 0 differs")
    noisy = normalised.copy()
    noisy[4321, 3, 3, 0] += 0.5
    assert array_matches_dataset(noisy, MATCH).message.startswith("image 4321 differs")
    assert "holds 784 values" in array_matches_dataset(normalised[:1], MATCH).message


@pytest.mark.parametrize("value", ["x", None, [1, 2], np.array(["a"])])
def test_arrays_of_the_wrong_kind(value):
    assert not array_shape(value, {"shape": [1]}).passed


def test_choices():
    params = {"options": ["a", "b"], "expected": "b"}
    assert choice(" B ", params).passed
    assert choice("a", params).message == "'a' is not the right answer"
    assert choice(None, params).message == "no answer given"
    assert choice_format("c", params).message.startswith("'c' is not one of the options")
    assert choice_format(None, params).message.startswith("no answer yet")
    assert choice_format("a", params).passed
