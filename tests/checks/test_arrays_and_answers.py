"""Array and answer checks, on the real Fashion-MNIST data."""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks.answers import choice, choice_format, number, number_format, shape, shape_format
from grader.checks.arrays import array_matches_dataset, array_range, array_shape
from grader.inside import datasets

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


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_images_divided_by_255_twice_are_warned_of_by_the_public_range_check(test_images, dtype):
    """Their values lie between 0 and 1, as the range asks, but they reach 1/255 at most: a sign anyone can see,
    said where the student sees it; the point is kept (the check of the images themselves costs the mistake once)."""
    outcome = array_range((test_images / 255.0 / 255.0).astype(dtype), {"dtype": "float", "min": 0, "max": 1})
    assert outcome.passed
    assert outcome.message == ("values lie between 0 and 1, but the largest is 0.00392, 1/255 or less, where normalised"
                               " images reach 1: were the images divided by 255 twice? (run the cells that prepare"
                               " them once, from the top)")
    dark = (test_images / 255.0 * 0.5).astype(dtype)  # a darker copy is no such sign
    assert array_range(dark, {"dtype": "float", "min": 0, "max": 1}).passed
    assert array_range(test_images / 255.0 / 255.0, {"min": 0, "max": 18}).passed  # not a 0-to-1 range: no sign


def test_a_long_answer_is_quoted_to_a_whole_word():
    message = number_format("the number of parameters is about six hundred and forty in all", {}).message
    assert message.startswith("'the number of parameters is about six hundred and forty...' is not a number")


@pytest.fixture(scope="module")
def normalised(test_images):
    return test_images.reshape(10000, 28, 28, 1) / 255.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_the_same_images_in_any_float_precision(normalised, dtype):
    outcome = array_matches_dataset(normalised.astype(dtype), MATCH)
    assert outcome.passed, outcome.message


def test_the_notes_style_of_preparing_the_images(test_images):
    images = test_images.reshape(10000, 28, 28, 1)
    images = images / 255.0  # the notes divide in place of the reshaped array
    assert array_matches_dataset(images, MATCH).passed


@pytest.mark.parametrize("mistake, expected", [
    (lambda x: x / 255.0, "every value is 255 times too small: the images were divided by 255 twice"),
    (lambda x: x * 255.0, "these are the raw pixel values (0 to 255): divide them by 255"),
    (lambda x: x * 255.0 / 256.0, "the images were divided by 256, not by 255"),
    (lambda x: x[::-1], "the images are the original test images in another order (image 0 is the original"
                        " image 9999)"),
    (lambda x: x.transpose(0, 2, 1, 3), "the images are transposed (rows and columns swapped)"),
    (lambda x: x[:, :, ::-1], "the images are flipped left to right"),
    (lambda x: x[..., 0].T.reshape(10000, 28, 28, 1), "the pixel values are the original ones but arranged differently"),
    (lambda x: (x * 255).astype(np.uint8) // 255, "the values are whole numbers (uint8): divide with / 255"),
    (lambda x: (x - x.mean()) / x.std(), None),
])
def test_mistakes_in_preparing_the_images_are_named(normalised, mistake, expected):
    outcome = array_matches_dataset(mistake(normalised), MATCH)
    assert not outcome.passed
    if expected:
        assert expected in outcome.message, outcome.message
    assert "differs from the original" not in outcome.message or expected is None


def test_the_training_images_where_the_test_images_are_expected():
    train = datasets.load("fashion_mnist", "train")[0][:10000].reshape(10000, 28, 28, 1) / 255.0
    assert array_matches_dataset(train, MATCH).message == "these are train images, not the test images"


def test_one_changed_pixel_and_a_subset(normalised):
    noisy = normalised.copy()
    noisy[4321, 3, 3, 0] += 0.5
    assert array_matches_dataset(noisy, MATCH).message == \
        "image 4321 differs from the original test image at 1 of 784 pixels (by up to 0.5): were the images changed?"
    assert array_matches_dataset(normalised[:3000], MATCH).message == \
        "holds 3,000 images, but the test set has 10,000: keep every image"
    assert "holds 700 values" in array_matches_dataset(normalised[0, :25], MATCH).message


@pytest.mark.parametrize("value", ["x", None, [1, 2], np.array(["a"])])
def test_arrays_of_the_wrong_kind(value):
    assert not array_shape(value, {"shape": [1]}).passed


QUIZ = {"options": {"a": "A technique to filter out unwanted images", "b": "A technique to isolate features in images"},
        "expected": "b"}


@pytest.mark.parametrize("answer", ["b", " B ", "(b)", "b)", "b.", "option b", "b) A technique to isolate features in images",
                                    "B. a technique to isolate features im images", "b: A technique to isolate",
                                    "A technique to isolate features in images", "b - isolate features in images",
                                    "B) A technique to isolate features", "(B) A technique to isolate",
                                    "B) a technique to isolate features in images", "B: isolate features in images"])
def test_a_choice_in_the_forms_students_write_it(answer):
    assert choice(answer, QUIZ).passed, choice(answer, QUIZ).message
    assert choice_format(answer, QUIZ).passed


CHANNEL = {"options": {"a": "the number of images in a batch",
                       "b": "the number of colour channels: one, because the images are grayscale",
                       "c": "the number of filters"}, "expected": "b"}
SPEED = {"options": {"a": "Faster", "b": "It depends on many factors: it might make training faster or slower, and a"
                     " poorly designed convolutional layer may even be less efficient than a plain dense network"},
         "expected": "b"}


@pytest.mark.parametrize("answer, params", [
    ("b) the number of color channels", CHANNEL), ("B) color channels", CHANNEL), ("b: grayscale, one channel", CHANNEL),
    ("b) It depends.", SPEED), ("b - depends on the design", SPEED), ("b) isolating features", QUIZ)])
def test_a_letter_with_words_of_the_student_s_own_is_that_letter(answer, params):
    """Fairness audit: a right letter followed by a paraphrase near no option's text (US spelling, a short
    summary) was read as quoting "the closest" option and scored 0; only another option's own text disagrees."""
    assert choice(answer, params).passed, choice(answer, params).message


@pytest.mark.parametrize("answer, params, message", [
    ("c) the number of color channels", CHANNEL, "option c is not the right answer"),
    ("b) the number of filters", CHANNEL, "the answer names option b but quotes the text of option c"),
    ("b) Faster", SPEED, "the answer names option b but quotes the text of option a")])
def test_a_letter_with_another_option_s_words(answer, params, message):
    assert message in choice(answer, params).message


@pytest.mark.parametrize("answer, message", [
    ("a", "option a is not the right answer"),
    ("a) A technique to filter out unwanted images", "option a is not the right answer"),
    ("A) A technique to filter out unwanted images", "option a is not the right answer"),
])
def test_a_wrong_choice(answer, message):
    assert choice(answer, QUIZ).message == message
    assert choice_format(answer, QUIZ).passed  # the format check never tells the answer


@pytest.mark.parametrize("answer, message", [
    (None, 'no answer yet: answer with the letter of your choice, for example "b"'),
    ("", 'no answer yet: answer with the letter of your choice, for example "b"'),
    (2, 'the answer is an int, not text: answer with the letter of your choice, for example "b"'),
    (np.int64(2), 'the answer is an int64, not text'),
    (["b"], 'the answer is a list, not text: answer with the letter of your choice, for example "b"'),
    ("c", "there is no option c: choose a or b"),
    ("b) A technique to filter out unwanted images",
     'the answer names option b but quotes the text of option a: answer with the letter of your choice'),
    ("convolutions", "'convolutions' is not one of the options: answer with the letter of your choice"),
    ("B) A technique to filter out unwanted images",
     'the answer names option b but quotes the text of option a: answer with the letter of your choice'),
    ("a or b", "is not one of the options"),
])
def test_answers_the_rule_cannot_read_get_a_format_message(answer, message):
    for outcome in (choice(answer, QUIZ), choice_format(answer, QUIZ)):
        assert not outcome.passed
        assert message in outcome.message
        assert "not the right answer" not in outcome.message


def test_options_given_as_letters_only():
    params = {"options": ["a", "b"], "expected": "b"}
    assert choice("B)", params).passed and not choice("a", params).passed


@pytest.mark.parametrize("answer", [640, 640.0, "640", " 640 ", "6,40".replace(",", ""), "1,600".replace("1,600", "640")])
def test_numbers_in_the_forms_students_write_them(answer):
    assert number(answer, {"expected": 640}).passed
    assert number_format(answer, {"integer": True}).passed


@pytest.mark.parametrize("answer", [np.prod((13, 13, 32)), np.int32(5408), np.float64(5408.0), np.array(5408)])
def test_numpy_numbers_are_numbers(answer):
    assert number(answer, {"expected": 5408}).passed, number(answer, {"expected": 5408}).message
    assert number_format(answer, {"integer": True}).passed
    assert "True or False" in number_format(np.bool_(True), {}).message


def test_wrong_numbers_and_forms():
    assert number(1600, {"expected": 640}).message == "1600 is not the right answer"
    assert number("1,600", {"expected": 1600}).passed
    assert "not a number" in number("six hundred", {"expected": 640}).message
    assert "True or False" in number_format(True, {}).message
    assert "not a whole number" in number_format(2.5, {"integer": True}).message
    assert number_format(None, {}).message.startswith("no answer yet")


@pytest.mark.parametrize("answer", [(26, 26), [26, 26], "26x26", "26 x 26", "(26, 26)", "26×26", "26 by 26",
                                    np.array([26, 26]).tolist(), (26.0, 26.0)])
def test_shapes_in_the_forms_students_write_them(answer):
    assert shape(answer, {"expected": [26, 26]}).passed, shape(answer, {"expected": [26, 26]}).message
    assert shape_format(answer, {"length": 2}).passed


def test_wrong_shapes_and_forms():
    assert shape((28, 28), {"expected": [26, 26]}).message == "(28, 28) is not the right answer"
    assert shape(28, {"expected": [26, 26]}).message == "28 (a square size, (28, 28)) is not the right answer"
    assert shape((26, 26), {"expected": [26, 26, 64], "ignore_channels": True}).passed
    assert "is not a shape" in shape("twenty-six", {"expected": [26, 26]}).message
    assert "has 4 numbers, the answer has 2" in shape_format((26, 26, 1, 1), {"length": 2}).message


@pytest.mark.parametrize("answer", [26, "26", 26.0, np.int64(26), " 26 "])
def test_one_number_is_a_square_size_where_height_and_width_are_asked(answer):
    assert shape(answer, {"expected": [26, 26]}).passed, shape(answer, {"expected": [26, 26]}).message
    outcome = shape_format(answer, {"length": 2})
    assert outcome.passed and "reads as (26, 26)" in outcome.message, outcome.message
    assert not shape(26, {"expected": [26, 24]}).passed
    assert shape(1600, {"expected": [1600]}).passed  # one size asked: one number is that size


@pytest.mark.parametrize("check, params", [(shape, {"expected": [26, 26]}), (shape_format, {"length": 2})])
def test_a_size_with_the_channels_gets_a_message_about_the_form(check, params):
    outcome = check((26, 26, 64), params)
    assert not outcome.passed
    assert outcome.message == "give the height and width only: (26, 26, 64) has the channels too"


def test_the_students_form_check_knows_a_size_has_height_and_width():
    from grader.spec import TaskSpec

    task = TaskSpec.from_dict({"name": "quiz", "title": "quiz", "exports": {"q1_conv_size": "value"}, "checks": [
        {"kind": "shape", "evidence": "q1_conv_size", "points": 1, "expected": [26, 26]}]})
    twin = task.public_view().checks[0]
    assert twin.kind == "shape_format" and dict(twin.params) == {"length": 2}
    assert "reads as (26, 26)" in shape_format(26, twin.params).message


def test_a_shape_with_any_number_of_images(normalised):
    assert array_shape(normalised, {"shape": [None, 28, 28, 1]}).passed
    outcome = array_shape(normalised[..., 0], {"shape": [None, 28, 28, 1]})
    assert outcome.message == "shape is (10000, 28, 28), expected (N, 28, 28, 1) (reshape it)"


PADDED = {**MATCH, "pad": 2}


def test_padded_images_must_be_centred(test_images):
    right = np.pad(test_images, ((0, 0), (2, 2), (2, 2)))[..., None] / 255.0
    assert array_matches_dataset(right, PADDED).passed
    assert array_matches_dataset(right.astype(np.float32), PADDED).passed
    one_side = np.pad(test_images, ((0, 0), (0, 4), (0, 4)))[..., None] / 255.0
    message = array_matches_dataset(one_side, PADDED).message
    assert "not centred (0 rows of zeros above, 4 below, 0 columns on the left, 4 on the right)" in message
    assert "still 28 x 28: pad them with 2 pixels" in array_matches_dataset(test_images[..., None] / 255.0, PADDED).message
    raw = np.pad(test_images, ((0, 0), (2, 2), (2, 2)))[..., None].astype(float)
    assert "raw pixel values" in array_matches_dataset(raw, PADDED).message
    every_axis = np.pad(test_images, 2)[..., None] / 255.0  # np.pad(x, 2): the image axis too
    message = array_matches_dataset(every_axis, PADDED).message
    assert f"holds {len(test_images) + 4:,} images, 4 more" in message and "the image axis was padded too" in message


@pytest.mark.parametrize("answer", ["x" * 2**20, "b) " + "A technique to isolate features in images " * 25_000,
                                    "A " * 2**19, "(b" + ")" * 2**20])
def test_a_megabyte_answer_is_named_at_once(answer):
    """Text is compared in time that grows with the product of the lengths (8 s per option for a megabyte): an
    answer far longer than every option cannot be one of them, and is said to be so before anything is compared."""
    import time

    started = time.perf_counter()
    for outcome in (choice(answer, QUIZ), choice_format(answer, QUIZ)):
        assert not outcome.passed
        assert "characters long, far longer than any option (the longest is 41), so it cannot be one of them" \
            in outcome.message and "not the right answer" not in outcome.message
    assert time.perf_counter() - started < 0.5


def test_answers_up_to_the_bound_are_still_read():
    """Whitespace does not count, and a letter with its option's text repeated stays within the bound."""
    assert choice("b" + " " * 2**20, QUIZ).passed
    assert choice("b) " + "A technique to isolate features in images " * 2, QUIZ).passed
    assert choice("b) A technique to isolate features in images", {**QUIZ, "options": {
        "a": "x" * 5000, "b": "A technique to isolate features in images"}}).passed


@pytest.mark.parametrize("answer, message", [
    ("1" * 10**6, "'" + "1" * 55 + "...' is not a number"),
    ("9" * 5000, "is not a number"), ("nan", "the answer is not a finite number"),
    ("1e999", "the answer is not a finite number"), ([1] * 10**6, "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,"
                                                                  " 1... is not a number")])
def test_huge_numbers_are_named_without_a_crash(answer, message):
    """A number as text is read up to 100 characters (Python refuses 4,300 digits), is finite, and is quoted in
    at most 60 characters."""
    for outcome in (number(answer, {"expected": 640}), number_format(answer, {"integer": True})):
        assert not outcome.passed and message in outcome.message and len(outcome.message) < 150


@pytest.mark.parametrize("answer, message", [
    ("1" * 10**6, "is not a shape"), ("(" + "26, " * 300_000 + ")", "is not a shape"),
    ([26] * 10**6, "[26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26... has 1,000,000 items, more than a"
                   " shape has"),
    ([26] * 10, "(26, 26, 26, 26, 26, 26, 26, 26, 26, 26) has 10 numbers, the answer has 2")])
def test_huge_shapes_are_named_without_a_crash(answer, message):
    import time

    started = time.perf_counter()
    for outcome in (shape(answer, {"expected": [26, 26]}), shape_format(answer, {"length": 2})):
        assert not outcome.passed and message in outcome.message and len(outcome.message) < 150
    assert time.perf_counter() - started < 0.5


def test_a_shape_message_says_what_the_student_wrote():
    """Fairness audit: ``q1_conv_size = 48`` was told "(48, 48) is not the right answer"; a layer's output shape
    with its batch size was "not a shape"."""
    assert shape(48, {"expected": [48, 38]}).message == "48 (a square size, (48, 48)) is not the right answer"
    assert shape((48, 48), {"expected": [48, 38]}).message == "(48, 48) is not the right answer"
    said = shape((None, 30, 46, 64), {"expected": [30, 46]}).message
    assert said == "(None, 30, 46, 64) is a layer's output shape, with the batch's size (None) first: give the height" \
                   " and width only"


@pytest.mark.parametrize("prepare", [lambda x: (np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None] / 255.0).astype("uint8"),
                                     lambda x: np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None] // 255])
def test_padded_images_made_whole_numbers_are_told_so(prepare):
    """Fairness audit: LeNet-5's padded digits (32 x 32) were compared with the other split's unpadded ones (28 x 28),
    and the student read "could not be checked (ValueError: operands could not be broadcast...)"."""
    images, _ = datasets.load("mnist", "test")
    outcome = array_matches_dataset(prepare(images), {"dataset": "mnist", "split": "test", "scale": 255, "pad": 2})
    assert not outcome.passed and "the values are whole numbers" in outcome.message, outcome.message


@pytest.mark.parametrize("answer", ["a) b)", "a-b", "(b) and (a)", "b) or a)", "b) not sure, maybe a"])
def test_an_answer_that_names_two_options_is_none_of_them(answer):
    """Review: a letter with words of the student's own is that letter, but not when the words name another option
    as well (a hedge is no answer)."""
    for outcome in (choice(answer, QUIZ), choice_format(answer, QUIZ)):
        assert not outcome.passed and "the answer names more than one option" in outcome.message, outcome.message
    assert choice("b) It depends, and a poorly designed layer may be slower", QUIZ).passed  # "a" as a word
