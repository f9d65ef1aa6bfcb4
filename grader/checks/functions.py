"""Checks on functions students write by hand (a convolution, a pooling), tried on cases.

In the student's notebook the function is called right there, on the notebook's own example.  For the
grader, the runner called it after the notebook's last cell on the grader's cases, held out until then
(see ``grader.grading.probes``); the answers are compared here with the instructor's reference (``references``: the
solution's reference cells, which this package does not hold), and a wrong answer is explained when the way it is
wrong can be told: rounded sums here, the reference's own typical mistakes (a flipped filter, padding, averaging...)
where the reference names them.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

import numpy as np

from grader.checks.base import WHEN_MISSING, Missing, Outcome, check, guard
from grader.checks.references import Arrays, Reference, held_out_cases, reference
from grader.grading.probes import ProbedFunction, case_builder, case_id
from grader.student_text import one_line

TOLERANCE = 1e-6
NOT_DONE = "not done yet"


@guard("function")
def is_function(value: Any) -> Outcome | None:
    if isinstance(value, ProbedFunction) or callable(value):
        return None
    return Outcome(False, f"expected a function, found {type(value).__name__}")


def _example(params: Mapping[str, Any]) -> Arrays:
    return tuple(np.asarray(a, dtype=np.float64) for a in params["args"])


def returned_nothing(function: Any) -> str:
    """Why a function that returned None gave no answer: the template's body still there, or no ``return``."""
    from grader.inside.inkernel import still_placeholder

    if still_placeholder(function):
        return f"{NOT_DONE}: its code still holds the placeholder ... (# YOUR CODE HERE)"
    return "it returned None and raised nothing: is its return statement missing?"


def _answer(value: Any, args: Arrays) -> Any:
    """What the function gave for ``args``: called here (a live function) or read from the probe."""
    if isinstance(value, ProbedFunction):
        return value.outputs.get(case_id(args), Missing("this case was not tried"))
    try:
        returned = value(*[a.copy() for a in args])
    except Exception as exc:  # noqa: BLE001 - the student's function failing is a finding
        return Missing(f"it raised {type(exc).__name__}: {one_line(exc, 200)}")
    if returned is None:
        return Missing(returned_nothing(value))
    return np.asarray(returned)


def _size(shape: tuple) -> str:
    return " x ".join(str(s) for s in shape)


def _matches(got: np.ndarray, expected: np.ndarray, tolerance: float) -> bool:
    return got.shape == expected.shape and np.issubdtype(got.dtype, np.number) and \
        bool(np.allclose(got.astype(np.float64), expected, rtol=tolerance,
                         atol=tolerance * max(1.0, np.abs(expected).max())))


@case_builder("function_example")
def example_cases(params: Mapping[str, Any]) -> list[Arrays]:
    return [_example(params)]


def mistake_in(name: str) -> str:
    """What a wrong function counts (``Outcome.causes``): the submission's own way of computing reference
    ``name``, which an array made with it then follows from (``array_from_reference``)."""
    return f"@reference:{name}"


SAME_WHATEVER = "it returns the same result whatever the input"


def _counted(outcome: Outcome, params: Mapping[str, Any]) -> Outcome:
    """A wrong answer counts its mistake in the way it computes its reference; not a function not written yet
    (an untouched notebook scores nothing), nor one that returns a written-in answer (what it made is no
    consequence of a mistake in computing), nor a check without a reference."""
    if outcome.passed or NOT_DONE in outcome.message or SAME_WHATEVER in outcome.message \
            or not params.get("reference"):
        return outcome
    return replace(outcome, causes=(*outcome.causes, mistake_in(str(params["reference"]))))


@check("function_example", "function")
def function_example(value: Any, params: Mapping[str, Any]) -> Outcome:
    return _counted(_function_example(value, params), params)


def _function_example(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The function gives the notebook's example answer (its expected result is in the notebook); a wrong one is
    named from the example's typical mistakes, which the solution's reference wrote into the check (``mistakes``)."""
    args = _example(params)
    got = _answer(value, args)
    if isinstance(got, Missing):
        return Outcome(False, got.reason if got.reason.startswith(NOT_DONE) else f"on the example: {got.reason}")
    expected = np.asarray(params["expected"], dtype=np.float64)
    if _matches(got, expected, float(params.get("tolerance", TOLERANCE))):
        return Outcome(True, "gives the expected result on the example")
    known = ((m["says"], np.asarray(m["gives"], dtype=np.float64)) for m in params.get("mistakes", ()))
    return Outcome(False, f"on the example: {explain(got, expected, known)}")


@case_builder("function_matches")
def hidden_cases(params: Mapping[str, Any]) -> list[Arrays]:
    return held_out_cases(params)


@check("function_matches", "function")
def function_matches(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The function gives the grader's answers on held-out cases (only the grader has them)."""
    return _counted(_function_matches(value, params), params)


def _function_matches(value: Any, params: Mapping[str, Any]) -> Outcome:
    if not isinstance(value, ProbedFunction):
        return Outcome(False, "this check needs the grader's held-out cases")
    found = reference(params["reference"])
    tolerance = float(params.get("tolerance", TOLERANCE))
    cases = hidden_cases(params)
    answers = [_answer(value, args) for args in cases]
    wrong = []
    for number, (args, got) in enumerate(zip(cases, answers), start=1):
        expected = found.compute(*args)
        if isinstance(got, Missing):
            wrong.append(f"case {number} ({_size(args[0].shape)} image): {got.reason}")
        elif not _matches(got, expected, tolerance):
            wrong.append(f"case {number} ({_size(args[0].shape)} image): "
                         + explain(got, expected, reference_mistakes(found, args, expected)))
    if _all_the_same(answers) and len(cases) > 1:
        return Outcome(False, f"{SAME_WHATEVER} (is the example's answer written into it?)")
    slowest = max(value.seconds.values(), default=0.0)
    changed = sum(1 for args in cases if case_id(args) in value.changed_input)
    writes = (f"it writes into the image it is given (on {changed} of {len(cases)} held-out cases), so the image"
              " it was called on is changed too: compute the result in an array of its own (np.array(image,"
              " dtype=float) makes a copy)") if changed else ""
    if wrong:
        return Outcome(False, f"wrong on {len(wrong)} of {len(cases)} held-out cases; " + "; ".join(wrong[:3])
                       + (f"; {writes}" if writes else ""), causes=(CHANGES_ITS_INPUT,) if writes else ())
    if writes:
        return Outcome(False, writes, causes=(CHANGES_ITS_INPUT,))
    return Outcome(True, f"right on all {len(cases)} held-out cases (slowest call {slowest:.2f} s)")


def _all_the_same(answers: list[Any]) -> bool:
    arrays = [a for a in answers if isinstance(a, np.ndarray)]
    return len(arrays) == len(answers) and all(a.shape == arrays[0].shape and np.array_equal(a, arrays[0])
                                               for a in arrays[1:])


def reference_mistakes(found: Reference, args: Arrays, expected: np.ndarray) -> Iterable[tuple[str, np.ndarray]]:
    """The reference's typical mistakes on ``args``, each (what to tell, what it gives), computed one at a time."""
    for mistake in found.mistakes:
        try:
            wrong = mistake.gives(*args)
        except (ValueError, IndexError):
            continue
        if wrong is not None:
            wrong = np.asarray(wrong, dtype=np.float64)
            yield mistake.says(args, wrong, expected), wrong


def explain(got: np.ndarray, expected: np.ndarray, mistakes: Iterable[tuple[str, np.ndarray]] = ()) -> str:
    """How a wrong answer is wrong, when it can be told: not numbers, rounded sums, one of ``mistakes`` (what to
    tell, what that mistake gives), another size, or where it differs."""
    if not np.issubdtype(got.dtype, np.number):
        return f"the result is an array of {got.dtype}, not of numbers"
    if _rounded_to_whole_numbers(got, expected):
        return ("your results are whole numbers: the sums of a filter with fractions were rounded; keep the result"
                " as floats (an array made with np.zeros(...) without dtype=int)")
    for says, wrong in mistakes:
        if _matches(got, wrong, 1e-6):
            return says
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


def reference_result(params: Mapping[str, Any]) -> np.ndarray:
    """What the reference functions of ``steps`` give, in order, on the data set's image of ``image``."""
    return _reference_steps(params)[0]


def _reference_steps(params: Mapping[str, Any]) -> tuple[np.ndarray, Reference, Arrays]:
    """The result, the last step's reference and its arguments."""
    from grader.inside import datasets

    image_spec = params["image"]
    images, _ = datasets.load(image_spec["dataset"], image_spec["split"])
    result = images[int(image_spec["index"])].astype(np.float64)
    for step in params["steps"]:
        extra = tuple(np.asarray(a, dtype=np.float64) for a in step.get("args", ()))
        args = (result, *extra)
        found = reference(step["reference"])
        result = np.asarray(found.compute(*args), dtype=np.float64)
    return result, found, args


CHANGES_ITS_INPUT = "@function-changes-its-input"  # a function that writes into its argument (counted there)


def made_with_own_functions(params: Mapping[str, Any]) -> tuple[str, ...]:
    """An array made with the student's own functions (the steps' references) is wrong, or missing, where one of
    them is: counted there, not again here; or where a function of the notebook writes into the images it is
    given (a pooling in place changes the filtered image it pooled)."""
    return ("|".join([*(mistake_in(str(step["reference"])) for step in params["steps"]), CHANGES_ITS_INPUT]),)


# Missing evidence links only where the notebook ran and gave something unusable: an array that could not be
# saved (filtered = None, from a convolve that printed instead of returning), a function that returned None on
# every case. Not an array left undefined (its cell never ran, raised, or still holds the placeholder), nor a
# function undefined or not tried: those made nothing that follows from a counted mistake.
WHEN_MISSING["array_from_reference"] = lambda params, why: Outcome(
    False, why, follows_from=made_with_own_functions(params) if "could not be saved as" in why else ())
WHEN_MISSING["function_example"] = WHEN_MISSING["function_matches"] = lambda params, why: _counted(
    Outcome(False, why), params) if "returned None" in why else Outcome(False, why)


@check("array_from_reference", "array")
def array_from_reference(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The array is what the instructor's reference functions give on a data set's image: ``steps`` applied in
    order, each a reference name and its extra arguments (a filter, say)."""
    result, found, args = _reference_steps(params)
    got = np.asarray(value)
    if _matches(got, result, float(params.get("tolerance", TOLERANCE))):
        return Outcome(True, f"the expected {_size(result.shape)} result")
    made_with = made_with_own_functions(params)
    if len(params["steps"]) == 1:
        return Outcome(False, explain(got, result, reference_mistakes(found, args, result)), follows_from=made_with)
    if got.shape != result.shape:
        return Outcome(False, f"the result is {_size(got.shape)}, expected {_size(result.shape)}",
                       follows_from=made_with)
    return Outcome(False, f"the result differs from the expected one by up to {float(np.abs(got - result).max()):.4g}"
                          " (is it computed from the filtered image, with your own functions?)", follows_from=made_with)
