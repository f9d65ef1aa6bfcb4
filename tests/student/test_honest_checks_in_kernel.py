"""check() and check_all() in a real kernel say only what they checked: a training cell that raised, a history
deleted, a model made again after training are "not ready for the grader", never "all passed" alone; and the
live check reads what docs/students.md promises (a subclassed model, a capital letter with an option's text, images
divided by 255 twice, a task name mistyped)."""
from __future__ import annotations

import shutil

import pytest

from .conftest import REPO
from .kernel import StudentKernel

MODEL = """import numpy as np
import tensorflow as tf
from grader.student import check, grader
L = tf.keras.layers
def make_model():
    model = tf.keras.Sequential([tf.keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"),
                                 L.MaxPooling2D(2, 2), L.Flatten(), L.Dense(128, activation="relu"),
                                 L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
model = make_model()
images, labels = np.zeros((8, 28, 28, 1), np.float32), np.zeros(8)"""
TITLE = "Task 2: one convolution, trained with the callback"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    for name in ("mnist_callback", "fashion_cnn", "lenet5"):
        shutil.copytree(REPO / "assignments" / name, folder / name)
    with StudentKernel(folder / "mnist_callback") as running:
        assert not running.run(MODEL).error
        yield running


def test_a_training_cell_that_raised_leaves_the_task_not_ready(kernel):
    failed = kernel.run("history = model.fit(images[..., 0, 0], labels, epochs=1, verbose=0)")
    assert failed.error.startswith("ValueError")  # the training cell raised: no history, no step taken
    shown = kernel.run('check("model")')
    assert f"{TITLE}: all public checks passed, but history is not defined yet and model is not trained yet (5 of" \
           " the task's 9 points depend on them)" in shown.text
    assert "Not ready for the grader" in shown.html
    overview = kernel.run("grader.check_all()").text
    assert "0 of 3 tasks pass their public checks, 1 not ready for the grader, 2 not done" in overview
    assert f"NOT READY {TITLE}" in overview


def test_trained_deleted_and_made_again(kernel):
    assert not kernel.run("model = make_model()\nhistory = model.fit(images, labels, epochs=1, verbose=0)").error
    trained = kernel.run('check("model")').text
    assert f"{TITLE}: all public checks passed (4 of the task's 9 points); the other 5 are not checked here" in trained
    kernel.run("del history")
    assert "all public checks passed, but history is not defined yet (2 of the task's 9 points depend on it)" \
        in kernel.run('check("model")').text
    kernel.run("history = model.fit(images, labels, epochs=1, verbose=0)\nmodel = make_model()")
    again = kernel.run('check("model")').text
    assert "all public checks passed, but model is not trained yet (3 of the task's 9 points depend on it)" in again
    assert "its optimizer has taken no step since it was built or compiled" in again


def test_a_mistyped_task_name_gets_the_task_names(kernel):
    shown = kernel.run('check("quizz")')
    assert not shown.error, shown.error
    assert 'There is no task "quizz" in this assignment: did you mean check("quiz")? Its tasks are "callback",' \
           ' "model", "quiz".' in shown.text


def test_answers_as_the_readme_promises(kernel):
    kernel.run('q1_conv_params = 320\nq2_flatten_size = "5,408"\nq3_dense_params = 7\n'
               'q4_reshape = "B) it normalises the pixel values"\nq5_callback = 2')
    shown = kernel.run('check("quiz")').text
    assert "PASS form of the answer q4_reshape: option b is one of the options" in shown
    assert "FAIL form of the answer q5_callback: the answer is an int, not text" in shown


def test_a_subclassed_model_gets_the_graders_marks(kernel):
    kernel.run('''class FashionCNN(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.conv1, self.pool1 = L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2)
        self.conv2, self.pool2 = L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2)
        self.flatten, self.hidden = L.Flatten(), L.Dense(128, activation="relu")
        self.out = L.Dense(10, activation="softmax")

    def call(self, x):
        x = self.pool2(self.conv2(self.pool1(self.conv1(x))))
        return self.out(self.hidden(self.flatten(x)))

cnn_model = FashionCNN()
cnn_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])''')
    before = kernel.run('check("cnn", folder="../fashion_cnn")').text
    assert "Task 3: a convolutional network: all public checks passed, but cnn_model is not trained yet" in before
    kernel.run("cnn_model.build((None, 28, 28, 1))")
    built = kernel.run('check("cnn", folder="../fashion_cnn")')
    assert not built.error and "all public checks passed" in built.text and "FAIL" not in built.text
    kernel.run("cnn_model.fit(images, labels, epochs=1, verbose=0)")
    trained = kernel.run('check("cnn", folder="../fashion_cnn")').text
    assert "all public checks passed (6 of the task's 9 points); the other 3 are not checked here" in trained


def test_images_divided_by_255_twice_do_not_pass_silently(kernel):
    kernel.run("train_images = np.random.default_rng(0).integers(0, 256, (50, 32, 32, 1)) / 255.0\n"
               "test_images = train_images.copy()\ntrain_images = train_images / 255.0  # a second time")
    shown = kernel.run('check("data", folder="../lenet5")').text
    assert "train_images normalised: values lie between 0 and 1, but the largest is 0.00392, 1/255 or less, where" \
           " normalised images reach 1: were the images divided by 255 twice?" in shown
