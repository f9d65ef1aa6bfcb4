"""Checks on functions students write by hand (a convolution, a pooling), tried on cases.

In the student's notebook the function is called right there, on the notebook's own example.  For the
grader, the runner called it after the notebook's last cell on the grader's cases, held out until then
(see ``grader.probes``); the answers are compared here with the grader's own (``references``), and a wrong
answer is explained when the way it is wrong can be told (a flipped filter, padding, clipping, averaging...).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from ..probes import ProbedFunction, case_builder, case_id
from ..student_text import one_line
from .base import Missing, Outcome, check, guard
from .references import REFERENCES, correlate_valid, held_out_cases, max_pool

TOLERANCE = 1e-6


@guard("function")
def is_function(value: Any) -> Outcome | None:
    if isinstance(value, ProbedFunction) or callable(value):
        return None
    return Outcome(False, f"expected a function, found {type(value).__name__}")


def _example(params: Mapping[str, Any]) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(a, dtype=np.float64) for a in params["args"])


def _answer(value: Any, args: tuple[np.ndarray, ...]) -> Any:
    """What the function gave for ``args``: called here (a live function) or read from the probe."""
    if isinstance(value, ProbedFunction):
        return value.outputs.get(case_id(args), Missing("this case was not tried"))
    try:
        return np.asarray(value(*[a.copy() for a in args]))
    except Exception as exc:  # noqa: BLE001 - the student's function failing is a finding
        return Missing(f"it raised {type(exc).__name__}: {one_line(exc, 200)}")


def _size(shape: tuple) -> str:
    return " x ".join(str(s) for s in shape)


def _matches(got: np.ndarray, expected: np.ndarray, tolerance: float) -> bool:
    return got.shape == expected.shape and np.issubdtype(got.dtype, np.number) and \
        bool(np.allclose(got.astype(np.float64), expected, rtol=tolerance, atol=tolerance * max(1.0, np.abs(expected).max())))


@case_builder("function_example")
def example_cases(params: Mapping[str, Any]) -> list[tuple[np.ndarray, ...]]:
    return [_example(params)]


@check("function_example", "function")
def function_example(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The function gives the notebook's example answer (its expected result is in the notebook)."""
    args = _example(params)
    got = _answer(value, args)
    if isinstance(got, Missing):
        return Outcome(False, f"on the example: {got.reason}")
    expected = np.asarray(params["expected"], dtype=np.float64)
    if _matches(got, expected, float(params.get("tolerance", TOLERANCE))):
        return Outcome(True, "gives the expected result on the example")
    return Outcome(False, f"on the example: {explain(params.get('reference', ''), args, got, expected)}")


@case_builder("function_matches")
def hidden_cases(params: Mapping[str, Any]) -> list[tuple[np.ndarray, ...]]:
    return held_out_cases(params)


@check("function_matches", "function")
def function_matches(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The function gives the grader's answers on held-out cases (only the grader has them)."""
    if not isinstance(value, ProbedFunction):
        return Outcome(False, "this check needs the grader's held-out cases")
    reference = REFERENCES[params["reference"]]
    tolerance = float(params.get("tolerance", TOLERANCE))
    cases = hidden_cases(params)
    answers = [_answer(value, args) for args in cases]
    wrong = []
    for number, (args, got) in enumerate(zip(cases, answers), start=1):
        expected = reference.compute(*args)
        if isinstance(got, Missing):
            wrong.append(f"case {number} ({_size(args[0].shape)} image): {got.reason}")
        elif not _matches(got, expected, tolerance):
            wrong.append(f"case {number} ({_size(args[0].shape)} image): "
                         + explain(params["reference"], args, got, expected))
    if _all_the_same(answers) and len(cases) > 1:
        return Outcome(False, "it returns the same result whatever the input (is the example's answer written"
                              " into it?)")
    slowest = max(value.seconds.values(), default=0.0)
    if wrong:
        return Outcome(False, f"wrong on {len(wrong)} of {len(cases)} held-out cases; " + "; ".join(wrong[:3]))
    return Outcome(True, f"right on all {len(cases)} held-out cases (slowest call {slowest:.2f} s)")


def _all_the_same(answers: list[Any]) -> bool:
    arrays = [a for a in answers if isinstance(a, np.ndarray)]
    return len(arrays) == len(answers) and all(a.shape == arrays[0].shape and np.array_equal(a, arrays[0])
                                               for a in arrays[1:])


def explain(reference: str, args: tuple[np.ndarray, ...], got: np.ndarray, expected: np.ndarray) -> str:
    """How a wrong answer is wrong, when it can be told."""
    if not np.issubdtype(got.dtype, np.number):
        return f"the result is an array of {got.dtype}, not of numbers"
    if _rounded_to_whole_numbers(got, expected):
        return ("your results are whole numbers: the sums of a filter with fractions were rounded; keep the result"
                " as floats (an array made with np.zeros(...) without dtype=int)")
    close: Callable[[np.ndarray], bool] = lambda other: _matches(got, other, 1e-6)  # noqa: E731
    known = CONVOLUTION_MISTAKES if reference == "correlate_3x3" else POOLING_MISTAKES if reference == "max_pool_2x2" \
        else ()
    for describe, variant in known:
        try:
            candidate = variant(*args)
        except (ValueError, IndexError):
            continue
        if candidate is not None and close(candidate):
            return describe(args, got, expected)
    if got.shape != expected.shape:
        return f"the result is {_size(got.shape)}, expected {_size(expected.shape)}"
    differing = ~np.isclose(got.astype(np.float64), expected, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(expected).max()))
    return (f"the result differs at {int(differing.sum())} of {differing.size} pixels (by up to"
            f" {float(np.abs(got - expected).max()):.4g})")


def _rounded_to_whole_numbers(got: np.ndarray, expected: np.ndarray) -> bool:
    """The expected values rounded some way (down, to the nearest, towards zero): whole numbers, each less than 1
    from the expected value (give or take float rounding: a sum of 5 computed as 4.9999999 truncates to 4), where
    the expected values are not all whole."""
    if got.shape != expected.shape or not np.issubdtype(got.dtype, np.number) or got.size == 0:
        return False
    values = got.astype(np.float64)
    slack = TOLERANCE * max(1.0, float(np.abs(expected).max()))
    return bool(np.array_equal(values, np.round(values)) and not np.array_equal(expected, np.round(expected))
                and np.abs(values - expected).max() < 1 + slack)


def _same_size(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    padded = np.pad(np.asarray(image, dtype=np.float64), 1)
    return correlate_valid(padded, kernel)


def _same_size_copy_border(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    out = np.asarray(image, dtype=np.float64).copy()
    out[1:-1, 1:-1] = correlate_valid(image, kernel)
    return out


CONVOLUTION_MISTAKES = (
    (lambda a, g, e: "the filter is flipped (a mathematical convolution, as scipy.signal.convolve2d computes): the"
                     " notes and Conv2D multiply each neighbour by the weight at the same position",
     lambda image, kernel: correlate_valid(image, kernel[::-1, ::-1])),
    (lambda a, g, e: "the filter is transposed: weight [i][j] multiplies the neighbour i rows down and j columns"
                     " to the right",
     lambda image, kernel: correlate_valid(image, kernel.T)),
    (lambda a, g, e: "the values are clipped to 0..255: return the plain sums (the task asks for no clipping)",
     lambda image, kernel: np.clip(correlate_valid(image, kernel), 0, 255)),
    (lambda a, g, e: f"the result is {_size(g.shape)}, the image's own size, with zeros around it: the 3 x 3 filter"
                     f" fits {_size(e.shape)} times without padding (as Conv2D makes 26 x 26 of 28 x 28)",
     _same_size),
    (lambda a, g, e: f"the result is {_size(g.shape)}, the image's own size, with its border copied: return only the"
                     f" {_size(e.shape)} pixels where the filter fits (as Conv2D makes 26 x 26 of 28 x 28)",
     _same_size_copy_border),
    (lambda a, g, e: "the result is transposed (rows and columns swapped)",
     lambda image, kernel: correlate_valid(image, kernel).T),
)


def _ceil_pool(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    padded = np.pad(image, ((0, image.shape[0] % 2), (0, image.shape[1] % 2)), constant_values=-np.inf)
    return max_pool(padded)


def _average_pool(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    return image[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _sliding_max(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return np.maximum.reduce([image[:-1, :-1], image[1:, :-1], image[:-1, 1:], image[1:, 1:]])


POOLING_MISTAKES = (
    (lambda a, g, e: "each block is averaged: max pooling keeps the largest of the four values", _average_pool),
    (lambda a, g, e: f"the result is {_size(g.shape)}: the 2 x 2 window moved one pixel at a time; pooling moves it"
                     " two pixels, so that the image halves", _sliding_max),
    (lambda a, g, e: f"the result is {_size(g.shape)}: a last row or column that does not fill a 2 x 2 block is"
                     f" kept; MaxPooling2D drops it (giving {_size(e.shape)})",
     lambda image: _ceil_pool(image) if any(s % 2 for s in image.shape) else None),
    (lambda a, g, e: "each block keeps its smallest value: max pooling keeps the largest",
     lambda image: -max_pool(-np.asarray(image, dtype=np.float64))),
    (lambda a, g, e: "the result is transposed (rows and columns swapped)", lambda image: max_pool(image).T),
)


@check("array_from_reference", "array")
def array_from_reference(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The array is what the grader's own functions give on a data set's image: ``steps`` applied in order,
    each a reference name and its extra arguments (a filter, say)."""
    from .. import datasets

    image_spec = params["image"]
    images, _ = datasets.load(image_spec["dataset"], image_spec["split"])
    result = images[int(image_spec["index"])].astype(np.float64)
    for step in params["steps"]:
        extra = tuple(np.asarray(a, dtype=np.float64) for a in step.get("args", ()))
        args = (result, *extra)
        result = REFERENCES[step["reference"]].compute(*args)
    got = np.asarray(value)
    if _matches(got, result, float(params.get("tolerance", TOLERANCE))):
        return Outcome(True, f"the expected {_size(result.shape)} result")
    last = params["steps"][-1]["reference"]
    if len(params["steps"]) == 1:
        return Outcome(False, explain(last, args, got, result))
    if got.shape != result.shape:
        return Outcome(False, f"the result is {_size(got.shape)}, expected {_size(result.shape)}")
    return Outcome(False, f"the result differs from the expected one by up to {float(np.abs(got - result).max()):.4g}"
                          " (is it computed from the filtered image, with your own functions?)")
