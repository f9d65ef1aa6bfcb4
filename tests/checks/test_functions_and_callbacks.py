"""Functions written by hand and callbacks, checked on the grader's cases: right ones pass, each typical wrong one
is named.  The probe's findings are simulated here by calling the function in this process; tests/inside/test_runner.py
and the course's end-to-end tests go through the real runner."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.checks.base import Missing
from grader.checks.callbacks import callback_form, callback_stops, stop_cases
from grader.checks.functions import function_example, function_matches, hidden_cases
from grader.checks.training import figure_shown, training_stopped
from grader.course.source import read_source
from grader.grading.probes import ProbedCallback, ProbedFunction, case_id

REPO = Path(__file__).resolve().parents[2]
BY_HAND = REPO / "solutions" / "by_hand" / "by_hand.ipynb"

CONV = {"reference": "correlate_3x3", "seed": 11, "shapes": [[28, 28], [31, 17], [40, 56]]}
POOL = {"reference": "max_pool_2x2", "seed": 12, "shapes": [[26, 26], [31, 17], [11, 11]]}
EXAMPLE = {"reference": "correlate_3x3", "args": [np.arange(25).reshape(5, 5).tolist(), [[0, 1, 0], [1, -4, 1], [0, 1, 0]]],
           "expected": np.zeros((3, 3)).tolist()}


@pytest.fixture(autouse=True, scope="module")
def references():
    """The references of by_hand's solution (its reference cells), registered as the grader's host has them."""
    return read_source(BY_HAND)


def probed(function, params):
    outputs, seconds = {}, {}
    for args in hidden_cases(params):
        try:
            outputs[case_id(args)] = np.asarray(function(*[a.copy() for a in args]))
        except Exception as exc:  # noqa: BLE001
            outputs[case_id(args)] = Missing(f"raised {type(exc).__name__}")
        seconds[case_id(args)] = 0.01
    return ProbedFunction("f", outputs, seconds)


def vectorised(image, kernel):
    windows = np.lib.stride_tricks.sliding_window_view(image, (3, 3))
    return (windows * kernel).sum(axis=(2, 3))


def notes_style_loops(image, kernel):
    """Loops over every pixel, as the course's sidebar notebook does (slow but right)."""
    size_x, size_y = image.shape
    out = np.zeros((size_x - 2, size_y - 2))
    for x in range(1, size_x - 1):
        for y in range(1, size_y - 1):
            convolution = 0.0
            for i in range(3):
                for j in range(3):
                    convolution += image[x - 1 + i, y - 1 + j] * kernel[i][j]
            out[x - 1, y - 1] = convolution
    return out


def pool_loops(image):
    h, w = image.shape[0] // 2, image.shape[1] // 2
    out = np.zeros((h, w), dtype=int)
    for i in range(h):
        for j in range(w):
            out[i, j] = max(image[2 * i, 2 * j], image[2 * i + 1, 2 * j], image[2 * i, 2 * j + 1], image[2 * i + 1, 2 * j + 1])
    return out


@pytest.mark.parametrize("function", [vectorised, notes_style_loops, lambda im, k: vectorised(im, k).tolist(),
                                      lambda im, k: vectorised(im.astype(np.float32), k.astype(np.float32))])
def test_right_convolutions_pass(function):
    outcome = function_matches(probed(function, CONV), CONV)
    assert outcome.passed, outcome.message
    assert function_example(function, EXAMPLE).passed


@pytest.mark.parametrize("function, words", [
    (lambda im, k: vectorised(im, k[::-1, ::-1]), "the filter is flipped"),
    (lambda im, k: vectorised(im, k.T), "the filter is transposed"),
    (lambda im, k: np.clip(vectorised(im, k), 0, 255), "clipped to 0..255"),
    (lambda im, k: vectorised(np.pad(im, 1), k), "the image's own size, with zeros around it"),
    (lambda im, k: vectorised(im, k).T, "transposed (rows and columns swapped)"),
    (lambda im, k: np.zeros((3, 3)), "returns the same result whatever the input"),
    (lambda im, k: 1 / 0, "raised ZeroDivisionError"),
])
def test_wrong_convolutions_are_named(function, words):
    outcome = function_matches(probed(function, CONV), CONV)
    assert not outcome.passed
    assert words in outcome.message, outcome.message


def int_result_loops(image, kernel):
    """The notes' loops storing into an array of whole numbers: each fractional sum rounded towards zero."""
    out = np.zeros((image.shape[0] - 2, image.shape[1] - 2), dtype=int)
    for x in range(out.shape[0]):
        for y in range(out.shape[1]):
            out[x, y] = (image[x:x + 3, y:y + 3] * kernel).sum()
    return out


BY_HAND_CONV = {"reference": "correlate_3x3", "seed": 2024, "shapes": [[28, 28], [31, 17], [12, 45], [64, 64]]}


@pytest.mark.parametrize("params", [CONV, BY_HAND_CONV], ids=["seed 11", "by_hand's seed"])
@pytest.mark.parametrize("function", [int_result_loops, lambda im, k: np.rint(vectorised(im, k)),
                                      lambda im, k: np.floor(vectorised(im, k)).astype(np.int64)])
def test_a_convolution_that_rounds_its_sums_is_named(params, function):
    outcome = function_matches(probed(function, params), params)
    assert not outcome.passed
    assert "your results are whole numbers: the sums of a filter with fractions were rounded; keep the result as" \
           " floats" in outcome.message, outcome.message


def test_held_out_filters_include_fractions_whatever_the_seed():
    for seed in (2024, 11, 0, 1):
        filters = [args[1] for args in hidden_cases({**BY_HAND_CONV, "seed": seed})]
        fractional = [f for f in filters if not np.array_equal(f, np.round(f))]
        assert len(fractional) == 2 and len(filters) - len(fractional) == 2, filters


def test_hard_coding_the_public_example_fails_on_held_out_cases():
    answer = np.asarray(EXAMPLE["expected"])
    cheat = lambda image, kernel: answer  # noqa: E731
    assert function_example(cheat, EXAMPLE).passed
    outcome = function_matches(probed(cheat, CONV), CONV)
    assert not outcome.passed and "the same result whatever the input" in outcome.message


@pytest.mark.parametrize("function", [pool_loops, lambda im: np.asarray(im)[: im.shape[0] // 2 * 2, : im.shape[1] // 2 * 2]
                                      .reshape(im.shape[0] // 2, 2, im.shape[1] // 2, 2).max(axis=(1, 3))])
def test_right_poolings_pass(function):
    outcome = function_matches(probed(function, POOL), POOL)
    assert outcome.passed, outcome.message


@pytest.mark.parametrize("function, words", [
    (lambda im: im[: im.shape[0] // 2 * 2, : im.shape[1] // 2 * 2].reshape(im.shape[0] // 2, 2, im.shape[1] // 2, 2)
     .mean(axis=(1, 3)), "each block is averaged"),
    (lambda im: np.maximum.reduce([im[:-1, :-1], im[1:, :-1], im[:-1, 1:], im[1:, 1:]]), "moved one pixel at a time"),
    (lambda im: np.pad(im, ((0, im.shape[0] % 2), (0, im.shape[1] % 2)))
     .reshape(-(-im.shape[0] // 2), 2, -(-im.shape[1] // 2), 2).max(axis=(1, 3)), "does not fill a 2 x 2 block is kept"),
])
def test_wrong_poolings_are_named(function, words):
    outcome = function_matches(probed(function, POOL), POOL)
    assert not outcome.passed and words in outcome.message, outcome.message


def pool_from_zero(image):
    """The loop students write with ``biggest = 0``: right on images of pixels (0 to 255), wrong on a filtered one."""
    image = np.asarray(image, dtype=float)
    out = np.zeros((image.shape[0] // 2, image.shape[1] // 2))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            biggest = 0
            for value in image[2 * i:2 * i + 2, 2 * j:2 * j + 2].ravel():
                biggest = max(biggest, value)
            out[i, j] = biggest
    return out


@pytest.mark.parametrize("function, words", [
    (pool_from_zero, "a block whose four values are all below zero gives 0"),
    (lambda im: pool_loops(np.abs(im)), "each block keeps its largest absolute value")])
def test_a_pooling_right_only_on_positive_images_fails_on_held_out_filtered_ones(function, words):
    """Fairness audit: every held-out image was of pixels (0 to 255), so a maximum that starts from 0 took the
    pooling's points, and the pooled image of the notebook's own filtered one failed instead, its message
    blaming the wrong step. The held-out images are filtered pieces of real images now, with negative blocks."""
    for params in (POOL, {"reference": "max_pool_2x2", "seed": 7, "shapes": [[26, 26], [31, 17], [11, 11], [64, 40]]}):
        outcome = function_matches(probed(function, params), params)
        assert not outcome.passed and words in outcome.message, outcome.message
        assert function_matches(probed(pool_loops, params), params).passed


THRESHOLD = {"threshold": 0.995, "metric": "accuracy"}


def make_callback(test):
    import keras

    class MyCallback(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if test(logs or {}):
                self.model.stop_training = True

    return MyCallback()


def probed_callback(callback):
    from grader.checks.callbacks import _run_live

    return ProbedCallback("callbacks", {case_id(c): _run_live(callback, c) for c in stop_cases(THRESHOLD)}, True,
                          "MyCallback", ("on_epoch_end",))


@pytest.mark.parametrize("test", [lambda logs: logs.get("accuracy") >= 0.995, lambda logs: logs.get("accuracy") > 0.995,
                                  lambda logs: logs["accuracy"] > 0.99499999])
def test_a_right_callback_passes_with_ge_or_gt(test):
    callback = make_callback(test)
    assert callback_stops(callback, THRESHOLD).passed  # live, as in the student's check
    outcome = callback_stops(probed_callback(callback), THRESHOLD)
    assert outcome.passed, outcome.message
    assert callback_form(callback, {}).passed


@pytest.mark.parametrize("test, words", [
    (lambda logs: logs.get("accuracy") >= 0.99, "it stops training at accuracy 0.99, before it reaches 0.995"),
    (lambda logs: logs.get("accuracy") >= 0.9949, "it stops training at accuracy 0.9949, before"),
    (lambda logs: False, "it never stops training"),
    (lambda logs: (logs.get("acc") or 0) > 0.995, "Keras names it 'accuracy', not 'acc'"),
    (lambda logs: logs.get("accuracy") > 0.9951, "it does not stop at accuracy"),
])
def test_wrong_callbacks_are_named(test, words):
    from grader.checks.training import STOPS_WRONG

    outcome = callback_stops(probed_callback(make_callback(test)), THRESHOLD)
    assert not outcome.passed and words in outcome.message, outcome.message
    assert outcome.causes == (STOPS_WRONG,)  # the training it stopped wrong follows from it, not charged again


def test_the_form_of_a_callback():
    import keras

    class NotACallback:
        def on_epoch_end(self, epoch, logs=None):
            pass

    class OnBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    assert "not a tf.keras.callbacks.Callback" in callback_form(NotACallback(), {}).message
    assert "does not define on_epoch_end (it defines on_train_batch_end)" in callback_form(OnBatch(), {}).message
    assert "is a class: create the callback with OnBatch()" in callback_form(OnBatch, {}).message
    lambda_callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    assert callback_form(lambda_callback, {}).message.startswith("it is a LambdaCallback: the task asks for a class")


def probed_in_kernel(value, tmp_path):
    """The callback variable probed by the code the runner sends to the kernel, read back as the grader reads it."""
    import json

    from grader.grading.evidence import ExportFolder
    from grader.grading.probes import load_probe
    from grader.inside.inkernel import probe_callback
    from grader.spec import CheckSpec, TaskSpec

    folder = tmp_path / "exports" / "callback" / "probes" / "callbacks"
    folder.mkdir(parents=True)
    cases = [{**case, "id": case_id(case)} for case in stop_cases(THRESHOLD)]
    probe_callback({"callbacks": value}, {"name": "callbacks", "folder": str(folder), "cases": cases})
    assert json.loads((folder / "report.json").read_text())["cases"]
    task = TaskSpec("callback", "callback", {"callbacks": "callback"},
                    (CheckSpec(kind="callback_stops", evidence="callbacks", points=1, params=THRESHOLD),))
    return load_probe(ExportFolder(tmp_path), task, "callbacks", "callback", {})


def test_a_list_of_one_callback_loses_the_form_point_only(tmp_path):
    right = make_callback(lambda logs: logs.get("accuracy") >= 0.995)
    probed = probed_in_kernel([right], tmp_path)
    form = callback_form(probed, {})
    assert not form.passed
    assert form.message == "callbacks is a list: assign the callback object itself, callbacks = MyCallback()"
    assert callback_form([right], {}).message == \
        "it is a list: assign the callback object itself (MyCallback()), not a list of it"  # live
    stops = callback_stops(probed, THRESHOLD)
    assert stops.passed, stops.message  # fit(callbacks=[callbacks]) flattens the list: it stops as it should
    assert callback_stops([right], THRESHOLD).passed


@pytest.mark.parametrize("test", [lambda logs: logs["acc"] >= 0.995, lambda logs: logs.get("acc") > 0.995,
                                  lambda logs: (logs.get("acc") or 0) > 0.995])
def test_a_callback_that_reads_acc_is_told_the_key_keras_logs(test, tmp_path):
    callback = make_callback(test)
    expected = ("your callback reads logs['acc']; the task's metric is 'accuracy', which Keras logs as 'accuracy' when"
                " the model is compiled with metrics=['accuracy']: read logs['accuracy']")
    assert callback_stops(probed_in_kernel(callback, tmp_path), THRESHOLD).message == expected
    assert callback_stops(callback, THRESHOLD).message == expected  # live, as in the student's check


def test_a_callback_that_looks_for_acc_first_and_works_passes():
    callback = make_callback(lambda logs: logs.get("acc", logs.get("accuracy")) >= 0.995)
    assert callback_stops(callback, THRESHOLD).passed


def history(values):
    return {"metrics": {"accuracy": values, "loss": [0.1] * len(values)}, "epochs": list(range(len(values)))}


@pytest.mark.parametrize("values, passed, words", [
    ([0.9, 0.98, 0.996], True, "stopped after epoch 3"),
    ([0.9] * 9 + [0.996], True, "stopped after epoch 10"),  # reached at the last epoch: the callback did its job
    ([0.9, 0.996, 0.997, 0.998], False, "reached 0.9960 at epoch 2, but training went on to epoch 4"),
    ([0.9] * 10, True, "stayed below 0.995 for the 10 epochs allowed (best 0.9000), so there was nothing to stop"),
    ([0.9] * 11, False, "ran 11 epochs, more than the 10 allowed"),
])
def test_the_training_history(values, passed, words):
    outcome = training_stopped(history(values), {"threshold": 0.995, "max_epochs": 10})
    assert outcome.passed is passed and words in outcome.message, outcome.message


@pytest.mark.parametrize("values, planned, words", [
    # a callback comparing with 0.95: it stopped training after epoch 3, well before 0.995 (issue 19)
    ([0.90, 0.94, 0.9595], 10, "training stopped after epoch 3 of the 10 asked for, at accuracy 0.9595, before"
                               " accuracy reached 0.995: something stopped it too early"),
    ([0.90, 0.94, 0.96], 3, "fit ran the 3 epochs it was asked for and ended at accuracy 0.9600, below 0.995: train"
                            " for up to 10 epochs"),
    ([0.9] * 8, 8, "fit ran the 8 epochs it was asked for and ended at accuracy 0.9000, below 0.995"),
])
def test_a_training_that_ended_below_the_threshold_is_told_why(values, planned, words):
    outcome = training_stopped({**history(values), "planned_epochs": planned}, {"threshold": 0.995, "max_epochs": 10})
    assert not outcome.passed and words in outcome.message, outcome.message


@pytest.mark.parametrize("key, words", [
    ("val_accuracy", "the accuracy on the validation data (logged only when fit is given validation data); the task"
                     " stops at the training accuracy: read logs['accuracy']"),
    ("val_acc", "Keras logs the validation metric as 'val_accuracy', and the task watches the training accuracy"),
    ("acc", "the task's metric is 'accuracy', which Keras logs as 'accuracy'"),
])
def test_a_callback_reading_another_key_is_told_which(key, words):
    outcome = callback_stops(make_callback(lambda logs: logs[key] >= 0.995), THRESHOLD)
    assert not outcome.passed and words in outcome.message, outcome.message


def test_figures():
    assert figure_shown({"pictures": 2}, {"min_pictures": 1}).passed
    assert "plt.show()" in figure_shown({"pictures": 0}, {}).message


def test_an_array_made_with_a_wrong_function_is_not_charged_again():
    """One mistake costs once: a wrong convolution loses its own checks; the image filtered then pooled with it
    follows from that mistake (any of the functions of its steps counted wrong is enough), and an image made
    wrong with right functions costs its points."""
    from grader.grading.scoring import score_task
    from grader.spec import CheckSpec, TaskSpec

    steps = [{"reference": "correlate_3x3", "args": [[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]}, {"reference": "max_pool_2x2"}]
    made = TaskSpec("pictures", "Pictures", {"pooled": "array"}, (
        CheckSpec("array_from_reference", "pooled", 1.0, params={
            "image": {"dataset": "fashion_mnist", "split": "train", "index": 0}, "steps": steps}),))
    wrong = {"pooled": np.zeros((13, 13))}
    for counted, charged in (({"@reference:correlate_3x3": "convolve (Task 1)"}, False),
                             ({"@reference:max_pool_2x2": "max_pool (Task 2)"}, False), ({}, True)):
        for evidence in (wrong, {"pooled": Missing("pooled could not be saved as an array: it is None")}):
            # missing too: a convolve that printed its result instead of returning it made filtered None
            scored = score_task(made, evidence, counted=dict(counted))
            assert scored.points == (0.0 if charged else 1.0), scored.feedback
            assert ("not counted again" in scored.feedback) is not charged


def test_a_callback_whose_logs_have_another_name_is_called_as_keras_calls_it(tmp_path):
    """Fairness audit: Keras calls ``on_epoch_end(epoch, logs)`` by position, so ``def on_epoch_end(self, epoch,
    log={})`` and ``(self, epoch, *args)`` stop training in a real fit; the probe called it with ``logs=`` and the
    callback lost its 3 points to a TypeError."""
    import keras

    class NamedLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, log={}):  # noqa: B006 - as students write it
            if log.get("accuracy") >= 0.995:
                self.model.stop_training = True

    class Starred(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, *args):
            if args[0].get("accuracy") >= 0.995:
                self.model.stop_training = True

    for callback in (NamedLog(), Starred()):
        assert callback_stops(callback, THRESHOLD).passed  # live
        outcome = callback_stops(probed_in_kernel(callback, tmp_path / type(callback).__name__), THRESHOLD)
        assert outcome.passed, outcome.message


def test_a_callback_variable_holding_the_class_loses_the_form_point_only(tmp_path):
    """Fairness audit: ``callbacks = myCallback`` (no parentheses) was told "it is a type ... define your class as
    class type(...)" and lost callback_stops too; now the form names it, and the logic is probed on an object."""
    import keras

    class MyCallback(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs.get("accuracy") >= 0.995:
                self.model.stop_training = True

    probed = probed_in_kernel(MyCallback, tmp_path)
    assert callback_form(probed, {}).message == \
        "callbacks is the class MyCallback itself: create the callback object, callbacks = MyCallback()"
    assert callback_stops(probed, THRESHOLD).passed
    assert callback_stops(MyCallback, THRESHOLD).passed  # the student's own check says the same (review)


def test_a_function_that_gave_nothing_counts_its_mistake_once():
    """A convolve that printed its result instead of returning it: its checks see no answer (missing evidence),
    and count the mistake all the same, so the images the notebook made with it are not charged again."""
    from grader.grading.scoring import score_task
    from grader.spec import CheckSpec, TaskSpec

    task = TaskSpec("convolve", "Convolution", {"convolve": "function"},
                    (CheckSpec("function_matches", "convolve", 3.0, params=CONV),))
    counted: dict[str, str] = {}
    scored = score_task(task, {"convolve": Missing("convolve is a function that returned None")}, counted=counted)
    assert scored.points == 0 and "@reference:correlate_3x3" in counted


def test_a_function_not_written_yet_counts_nothing_that_could_be_forgiven():
    """An untouched notebook scores nothing: a convolve still the template's made nothing that follows from it."""
    from grader.grading.scoring import score_task
    from grader.spec import CheckSpec, TaskSpec

    task = TaskSpec("convolve", "Convolution", {"convolve": "function"},
                    (CheckSpec("function_matches", "convolve", 3.0, params=CONV),))
    counted: dict[str, str] = {}
    score_task(task, {"convolve": Missing("convolve is not done yet: its code still holds the placeholder")},
               counted=counted)
    assert counted == {}


def pool_in_place(image):
    """Right answers, written into the image it is given (``np.asarray`` does not copy a float array)."""
    image = np.asarray(image)
    h, w = image.shape[0] // 2, image.shape[1] // 2
    for i in range(h):
        for j in range(w):
            image[i, j] = image[2 * i:2 * i + 2, 2 * j:2 * j + 2].max()
    return image[:h, :w].copy()


def test_a_function_that_writes_into_its_image_is_told_so(tmp_path):
    """Fairness audit: a max_pool that pools in place passed its checks, and the notebook's filtered image, which it
    changed, failed instead, blamed on the convolution. The probe sees the argument change; the check names it,
    and the filtered image follows from it (counted once)."""
    import json

    from grader.checks.functions import CHANGES_ITS_INPUT
    from grader.inside.inkernel import probe_function

    cases = []
    for number, args in enumerate(hidden_cases(POOL)):
        path = tmp_path / f"case{number}.npy"
        np.save(path, args[0])
        cases.append({"id": case_id(args), "args": [str(path)]})
    probe_function({"max_pool": pool_in_place}, {"name": "max_pool", "folder": str(tmp_path), "cases": cases})
    report = json.loads((tmp_path / "report.json").read_text())
    assert all(outcome.get("changed_input") is True for outcome in report["cases"].values())
    right = probed(pool_in_place, POOL)  # its answers are right
    outcome = function_matches(ProbedFunction("max_pool", right.outputs, right.seconds,
                                              frozenset(c["id"] for c in cases)), POOL)
    assert not outcome.passed and "it writes into the image it is given (on 3 of 3 held-out cases)" in outcome.message
    assert CHANGES_ITS_INPUT in outcome.causes
    assert function_matches(right, POOL).passed
    probe_function({"max_pool": pool_loops}, {"name": "max_pool", "folder": str(tmp_path), "cases": cases})
    assert not any("changed_input" in o for o in json.loads((tmp_path / "report.json").read_text())["cases"].values())


def test_review_edges_of_the_links():
    """Review: a pooling's draw ends on shapes too small for two blocks; a function check without a reference
    (optional for function_example) links nothing and never crashes the scoring."""
    from grader.grading.scoring import score_task
    from grader.spec import CheckSpec, TaskSpec

    assert len(hidden_cases({"reference": "max_pool_2x2", "seed": 1, "shapes": [[2, 2], [3, 3], [1, 5]]})) == 3
    example = {k: v for k, v in EXAMPLE.items() if k != "reference"}
    task = TaskSpec("convolve", "Convolution", {"convolve": "function"},
                    (CheckSpec("function_example", "convolve", 1.0, params=example),))
    counted: dict[str, str] = {}
    for value in (Missing("convolve is a function that returned None"), lambda image, kernel: np.ones((3, 3))):
        assert score_task(task, {"convolve": value}, counted=counted).points == 0
    assert counted == {}
