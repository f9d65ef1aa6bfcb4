"""Checks on plain answers exported as JSON: multiple choice, numbers and shapes, in the forms students write.

One rule reads an answer, for the student's format check and the grader's check alike:

* a choice is the option's letter in any case, alone (``"b"``, ``"B"``, ``"(b)"``, ``"b)"``, ``"option b"``)
  or followed by ``)``, ``.``, ``:`` or ``-`` and that option's own text (``"b) A technique to isolate features
  in images"``, with small typos or cut short) or words of the student's own (``"b) the colour channels"``), but
  not another option's text; or the text of one option alone;
* a number is an int, a float with an integral value where an integer is asked, or a string of digits
  (``"1,600"`` and ``"1 600"`` too); NumPy's numbers (``np.prod((13, 13, 32))``) are numbers like any other;
* a shape is a tuple or list of integers, or a string such as ``"26x26"``, ``"26 × 26"`` or ``"(26, 26)"``;
  where a height and width are asked, one number is a square size (``26`` or ``"26"`` reads as ``(26, 26)``,
  as the notes say "a 28 x 28 image is compressed to a 13 x 13 image").

What the rule cannot read gets a message about the form of the answer, never "wrong answer".  A choice far longer
than every option's text (``LONGER``) is one of them, said before anything is compared: comparing text costs time
that grows with the product of the lengths (seconds per option for a megabyte), and a text many times an
option's length is no way of writing that option.
"""
from __future__ import annotations

import difflib
import math
import numbers
import re
from typing import Any, Mapping

from grader.checks.base import Outcome, a_type, check
from grader.student_text import cut_at_word

SIMILAR = 0.75  # how close quoted text must be to an option's own text (typos, a missing word)
LONGER = 10  # a choice longer than this many times the longest option's text (and than MIN_LONG) is not read
MIN_LONG = 1000  # characters: the bound where options are short or letters only
LONGEST_NUMBER = 100  # characters of a number or a shape written as text (Python refuses integers of 4,300 digits)
MOST_SIZES = 32  # sizes in a shape (an array's have at most 32 dimensions in NumPy, 4 or 5 in a course)
LETTER_ALONE = re.compile(r"^(?:option|answer|choice)?\s*:?\s*\(?([a-z])\)?[.:]?$")
LETTER_AND_TEXT = re.compile(r"^\(?([a-z])\s*[).:\-]\s*(.+)$", re.IGNORECASE)
SHAPE_TEXT = re.compile(r"^[(\[]?\s*(\d+(?:\s*(?:,|x|×|\*|by)\s*\d+)*)\s*,?\s*[)\]]?$")


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _options(params: Mapping[str, Any]) -> dict[str, str]:
    options = params["options"]
    if isinstance(options, Mapping):
        return {str(k).lower(): str(v) for k, v in options.items()}
    return {str(o).lower(): "" for o in options}


def _format_help(options: Mapping[str, str]) -> str:
    letters = sorted(options)
    return f'answer with the letter of your choice, for example "{letters[-1]}"'


def _closest(text: str, options: Mapping[str, str]) -> list[tuple[float, str]]:
    said = _words(text)
    scores = []
    for letter, own in options.items():
        own_words = _words(own)
        if not own_words:
            continue
        ratio = difflib.SequenceMatcher(a=said, b=own_words).ratio()
        if len(said) >= 12 and own_words.startswith(said):  # cut short
            ratio = max(ratio, 0.9)
        scores.append((ratio, letter))
    return sorted(scores, reverse=True)


OTHER_LETTER = re.compile(r"^\(?([a-z])\)?[.]?$|\(([a-z])\)|(?:^|\s)([a-z])\)"
                          r"|\b(?:or|and|maybe)\s+\(?([a-z])\)?[.?!]?$", re.IGNORECASE)


def _letters_named(text: str, options: Mapping[str, str]) -> list[str]:
    """The option letters that words after a letter name as choices too (``"a) b) c)"``, ``"a-d"``, ``"b) or
    c)"``); a letter used as a word (``"a poorly designed layer"``) is none."""
    found = []
    for match in OTHER_LETTER.finditer(text.strip()):
        letter = next(g for g in match.groups() if g).lower()
        if letter in options:
            found.append(letter)
    return found


def quotes_instead(other: float, named: float) -> bool:
    """Whether text written after a letter is another option's own (as close as ``SIMILAR`` to it, and clearly
    closer to it than to the named option's): only then do the letter and the text disagree. Words of the
    student's own, near no option, leave the letter the answer."""
    return other >= SIMILAR and other >= named + 0.1


def read_choice(value: Any, options: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(the letter chosen, None) or (None, what is wrong with the form of the answer)."""
    if value is None or value is Ellipsis or (isinstance(value, str) and not value.strip()):
        return None, f"no answer yet: {_format_help(options)}"
    if not isinstance(value, str):
        return None, f"the answer is {a_type(value)}, not text: {_format_help(options)}"
    text = " ".join(value.strip().split())
    longest = max((len(own) for own in options.values()), default=0)
    if len(text) > max(MIN_LONG, LONGER * longest):
        return None, (f"the answer is {len(text):,} characters long, far longer than any option (the longest is"
                      f" {longest:,}), so it cannot be one of them: {_format_help(options)}")
    alone = LETTER_ALONE.match(text.lower())
    if alone:
        return _known_letter(alone.group(1), options)
    with_text = LETTER_AND_TEXT.match(text)
    if with_text and with_text.group(1).lower() in options:
        letter, quoted = with_text.group(1).lower(), with_text.group(2)
        others = sorted(set(_letters_named(quoted, options)) - {letter})
        if others:
            return None, (f"the answer names more than one option ({', '.join([letter, *others])}):"
                          f" {_format_help(options)}")
        scores = _closest(quoted, options)
        named = dict((l, r) for r, l in scores).get(letter, 0.0)
        other = next(((r, l) for r, l in scores if l != letter), None)
        if other is None or not quotes_instead(other[0], named):
            return letter, None  # its own text, or words of the student's own ("b) the colour channels")
        return None, (f"the answer names option {letter} but quotes the text of option {other[1]}:"
                      f" {_format_help(options)}")
    scores = _closest(text, options)
    if scores and scores[0][0] >= 0.9 and (len(scores) == 1 or scores[1][0] < scores[0][0] - 0.1):
        return scores[0][1], None
    return None, f"{cut_at_word(value, 80)!r} is not one of the options: {_format_help(options)}"


def _known_letter(letter: str, options: Mapping[str, str]) -> tuple[str | None, str | None]:
    if letter in options:
        return letter, None
    choices = ", ".join(sorted(options)[:-1]) + " or " + sorted(options)[-1]
    return None, f"there is no option {letter}: choose {choices}"


@check("choice_format", "value")
def choice_format(value: Any, params: Mapping[str, Any]) -> Outcome:
    letter, problem = read_choice(value, _options(params))
    if problem:
        return Outcome(False, problem)
    return Outcome(True, f"option {letter} is one of the options")


@check("choice", "value")
def choice(value: Any, params: Mapping[str, Any]) -> Outcome:
    letter, problem = read_choice(value, _options(params))
    if problem:
        return Outcome(False, problem)
    if letter == str(params["expected"]).lower():
        return Outcome(True, "correct")
    return Outcome(False, f"option {letter} is not the right answer")


def plain(value: Any) -> Any:
    """A NumPy number or array, or a TensorFlow shape or tensor, as the Python number or list it holds (what the
    grader's export saves); else ``value``."""
    from grader.inside.inkernel import tensorflow_plain

    value = tensorflow_plain(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def read_number(value: Any) -> tuple[float | None, str | None]:
    """(the number, None) or (None, what is wrong with its form)."""
    value = plain(value)
    if value is None or value is Ellipsis:
        return None, "no answer yet: answer with a number, for example 42"
    if isinstance(value, bool):
        return None, "the answer is True or False, not a number"
    if _real(value):
        if not math.isfinite(value):
            return None, "the answer is not a finite number"
        return float(value), None
    if isinstance(value, str) and len(value.strip()) <= LONGEST_NUMBER:
        text = value.strip().replace(",", "").replace("_", "").replace(" ", "")
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            return (number, None) if math.isfinite(number) else (None, "the answer is not a finite number")
    return None, f"{_shown(value)} is not a number: answer with a number, for example 42"


@check("number_format", "value")
def number_format(value: Any, params: Mapping[str, Any]) -> Outcome:
    number, problem = read_number(value)
    if problem:
        return Outcome(False, problem)
    assert number is not None  # read_number gives the number wherever it finds no problem
    if params.get("integer") and number != int(number):
        return Outcome(False, f"{number:g} is not a whole number: the answer is a whole number")
    return Outcome(True, f"{number:g} is a number")


@check("number", "value")
def number(value: Any, params: Mapping[str, Any]) -> Outcome:
    got, problem = read_number(value)
    if problem:
        return Outcome(False, problem)
    assert got is not None  # read_number gives the number wherever it finds no problem
    expected = float(params["expected"])
    tolerance = float(params.get("tolerance", 0))
    if abs(got - expected) <= tolerance:
        return Outcome(True, "correct")
    return Outcome(False, f"{got:g} is not the right answer")


def read_shape(value: Any, length: int | None = None) -> tuple[tuple[int, ...] | None, str | None]:
    """(the shape, None) or (None, what is wrong with its form).  Where ``length`` is 2 (a height and a width are
    asked), one number is a square size: ``26`` reads as ``(26, 26)``."""
    example = "answer with the sizes, for example (26, 26)"
    value = plain(value)
    if value is None or value is Ellipsis:
        return None, f"no answer yet: {example}"
    if isinstance(value, (list, tuple)) and len(value) > MOST_SIZES:
        return None, f"{_shown(value)} has {len(value):,} items, more than a shape has: {example}"
    if isinstance(value, (list, tuple)) and value and all(_integral(plain(v)) for v in value):
        return _square(tuple(int(plain(v)) for v in value), length), None
    if _integral(value):
        return _square((int(value),), length), None
    if isinstance(value, (list, tuple)) and len(value) > 1 and value[0] is None \
            and all(_integral(plain(v)) for v in value[1:]):
        asked = "the height and width only" if length == 2 else "the sizes without it"
        return None, f"{_shown(value)} is a layer's output shape, with the batch's size (None) first: give {asked}"
    if isinstance(value, str) and len(value.strip()) <= LONGEST_NUMBER:
        match = SHAPE_TEXT.match(value.strip().lower())
        if match:
            return _square(tuple(int(n) for n in re.findall(r"\d+", match.group(1))), length), None
    return None, f"{_shown(value)} is not a shape: {example}"


def _square(sizes: tuple[int, ...], length: int | None) -> tuple[int, ...]:
    return sizes * 2 if len(sizes) == 1 and length == 2 else sizes


def _integral(value: Any) -> bool:
    return _real(value) and math.isfinite(value) and value == int(value)


def _shown(value: Any) -> str:
    """A student's answer in a message, at most 60 characters of it (an answer can be a list of a million numbers)."""
    if isinstance(value, str):  # cut before it is quoted, so that the quotes show where it was cut
        return cut_at_word(repr(cut_at_word(value[:100], 58)), 60)
    if isinstance(value, (list, tuple)):
        value = value[:61]  # enough for 60 characters, without writing out the rest
    text = str(value) if isinstance(value, tuple) else repr(value)
    return cut_at_word(text, 60)


def _form_problem(got: tuple[int, ...], length: int) -> str | None:
    """What is wrong with the form of a shape of the wrong length, in a student's words; None if its length is right."""
    if len(got) == length:
        return None
    if length == 2 and len(got) == 3:
        return f"give the height and width only: {_shown(got)} has the channels too"
    return f"{_shown(got)} has {len(got):,} number{'s' if len(got) != 1 else ''}, the answer has {length}"


@check("shape_format", "value")
def shape_format(value: Any, params: Mapping[str, Any]) -> Outcome:
    length = int(params["length"]) if "length" in params else None
    shape, problem = read_shape(value, length)
    if problem:
        return Outcome(False, problem)
    assert shape is not None  # read_shape gives the shape wherever it finds no problem
    form = _form_problem(shape, length) if length is not None else None
    if form:
        return Outcome(False, form)
    if shape != read_shape(value)[0]:
        return Outcome(True, f"{_shown(plain(value))} reads as {_shown(shape)}, a square size")
    return Outcome(True, f"{_shown(shape)} is a shape")


@check("shape", "value")
def shape(value: Any, params: Mapping[str, Any]) -> Outcome:
    expected = tuple(int(v) for v in params["expected"])
    got, problem = read_shape(value, len(expected))
    if problem:
        return Outcome(False, problem)
    assert got is not None  # read_shape gives the shape wherever it finds no problem
    if got == expected or (params.get("ignore_channels") and got == expected[:-1]):
        return Outcome(True, "correct")
    said = _shown(got) if got == read_shape(value)[0] else f"{_shown(plain(value))} (a square size, {_shown(got)})"
    return Outcome(False, _form_problem(got, len(expected)) or f"{said} is not the right answer")
