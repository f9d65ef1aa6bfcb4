"""Shared fixtures: the real assignment, and tiny Keras models built in fixtures."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from grader.course.assignment import load_assignment


@pytest.fixture(scope="session")
def assignment():
    return load_assignment("fashion_cnn")


@pytest.fixture(scope="session")
def keras():
    import keras

    return keras


def build(keras, *layers, input_shape=(28, 28, 1), compile_with=("adam", "sparse_categorical_crossentropy")):
    model = keras.Sequential([keras.Input(shape=input_shape), *layers])
    if compile_with:
        model.compile(optimizer=compile_with[0], loss=compile_with[1], metrics=["accuracy"])
    return model


@pytest.fixture
def seed_cnn(keras):
    """The course's CNN, exactly as the notes build it."""
    L = keras.layers
    return build(keras, L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2),
                 L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(2, 2), L.Flatten(),
                 L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"))


@pytest.fixture
def make_model(keras):
    def make(*layers, **kwargs):
        return build(keras, *layers, **kwargs)

    return make


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (``executable_path``: no browser is downloaded); one for the
    session (the review page's tests, the report's table)."""
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI must drive the pages in a real browser, but Debian's chromium is not installed")
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()
