"""What every check shares: its outcome, the problem evidence can have, and the registry."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from grader.errors import SpecError
from grader.results import LayerRow


@dataclass(frozen=True)
class Outcome:
    """What one check found: passed or not, a message a student understands, and its rows where it compares layers."""

    passed: bool
    message: str
    details: tuple[LayerRow, ...] = ()
    # One mistake costs once (``grader/grading/scoring.py``): what this failure changes further on (``causes``), and,
    # when
    # every difference it found is such a change, what it follows from (``follows_from``).  A name that starts
    # with "@" is the submission's (the images' shape); any other is the evidence's own (a model's layer 3).
    causes: tuple[str, ...] = ()
    follows_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Missing:
    """Evidence that could not be obtained, and why, in a student's words."""

    reason: str


CheckFunction = Callable[[Any, Mapping[str, Any]], Outcome]
Guard = Callable[[Any], "Outcome | None"]
REGISTRY: dict[str, tuple[str, CheckFunction]] = {}
GUARDS: dict[str, Guard] = {}


def guard(evidence_kind: str) -> Callable[[Guard], Guard]:
    """Register the test every piece of evidence of a kind passes before its checks see it."""

    def register(function: Guard) -> Guard:
        GUARDS[evidence_kind] = function
        return function

    return register


# What a check's failure on missing evidence counts and follows from, by kind (``grader/checks/functions.py``): a
# function that returned None on every case is a mistake in the way it computes its reference, and an image the
# notebook made with it that could not be saved (None) follows from that mistake (counted once).
WHEN_MISSING: dict[str, Callable[[Mapping[str, Any], str], Outcome]] = {}  # (params, why it is missing)


def check(kind: str, evidence_kind: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under ``kind``; it runs only on evidence that passes the kind's guard."""

    def register(function: CheckFunction) -> CheckFunction:
        @functools.wraps(function)
        def guarded(value: Any, params: Mapping[str, Any], **others: Any) -> Outcome:
            problem = GUARDS[evidence_kind](value) if evidence_kind in GUARDS else None
            return problem or function(value, params, **others)

        REGISTRY[kind] = (evidence_kind, guarded)
        return guarded

    return register


def _register_all() -> None:
    from grader.checks import accuracy, answers, arrays, callbacks, functions, models, otter_cases, training  # noqa: F401


def lookup(kind: str) -> tuple[str, CheckFunction]:
    _register_all()
    try:
        return REGISTRY[kind]
    except KeyError:
        raise SpecError(f"unknown check kind {kind!r}; known: {sorted(REGISTRY)}") from None


AN_SOUNDS = ("a", "e", "i", "o", "nd")  # type names said with a vowel first: an int, an object, an ndarray


def with_article(name: str) -> str:
    """A type's name with its article: ``an int``, ``a str``, ``an ndarray``."""
    return f"{'an' if name.lower().startswith(AN_SOUNDS) else 'a'} {name}"


def a_type(value: Any) -> str:
    """The name of ``value``'s type with its article."""
    return with_article(type(value).__name__)


def guard_of(evidence_kind: str) -> Guard | None:
    """The test every piece of evidence of a kind passes before its checks see it (None where there is none)."""
    _register_all()
    return GUARDS.get(evidence_kind)


def fmt_shape(shape: Any) -> str:
    """(11, 11, 64) for a tuple, 1600 for a one-element shape, as Keras's summary shows them."""
    shape = tuple(shape)
    if len(shape) == 1:
        return str(shape[0])
    return "(" + ", ".join(str(s) for s in shape) + ")"
