"""images_of_one_class names the class it asks for: five T-shirts are not five sandals."""
from __future__ import annotations

import numpy as np

from grader.checks.arrays import images_of_one_class
from grader.inside import datasets

PARAMS = {"dataset": "fashion_mnist", "split": "train", "count": 5}


def _of_class(label: int, count: int = 5) -> list[int]:
    _, labels = datasets.load("fashion_mnist", "train")
    return [int(i) for i in np.flatnonzero(labels == label)[:count]]


def test_the_class_named_is_the_class_checked():
    sandals, shirts = _of_class(5), _of_class(0)
    assert images_of_one_class(sandals, {**PARAMS, "class": 5}).passed
    assert images_of_one_class(sandals, {**PARAMS, "class": 5}).message == "5 train images of class 5 (sandal)"
    wrong = images_of_one_class(shirts, {**PARAMS, "class": 5})
    assert not wrong.passed
    assert wrong.message == (f"expected 5 images of class 5 (sandal): image {shirts[0]} is class 0 (T-shirt/top), "
                             + ", ".join(f"image {i} is class 0 (T-shirt/top)" for i in shirts[1:]))


def test_without_a_class_any_one_class_passes():
    assert images_of_one_class(_of_class(0), PARAMS).passed
