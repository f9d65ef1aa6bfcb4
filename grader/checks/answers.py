"""Checks on plain answers exported as JSON (quiz choices)."""
from __future__ import annotations

from typing import Any, Mapping

from .base import Outcome, check


def _normalise(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    return None


@check("choice_format", "value")
def choice_format(value: Any, params: Mapping[str, Any]) -> Outcome:
    options = [str(o).lower() for o in params["options"]]
    answer = _normalise(value)
    if answer is None:
        return Outcome(False, f"no answer yet: set it to one of {', '.join(repr(o) for o in options)}")
    if answer not in options:
        return Outcome(False, f"{value!r} is not one of the options {', '.join(repr(o) for o in options)}")
    return Outcome(True, f"{answer!r} is one of the options")


@check("choice", "value")
def choice(value: Any, params: Mapping[str, Any]) -> Outcome:
    answer = _normalise(value)
    if answer is None:
        return Outcome(False, "no answer given")
    if answer == str(params["expected"]).lower():
        return Outcome(True, "correct")
    return Outcome(False, f"{answer!r} is not the right answer")
