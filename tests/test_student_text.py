"""Text a student wrote, shown so that it cannot drive a terminal or start a line of its own."""
from __future__ import annotations

import ast
import unicodedata

import pytest

from grader.student_text import CONTROL_CATEGORIES, JOINERS, one_line, quoted, visible, visible_lines

CLEAR_SCREEN = "\x1b[2J"
TITLE = "\x1b]0;owned\x07"
CLIPBOARD = "\x1b]52;c;aGVsbG8=\x07"
FAKE_LINE = "\n[PASS] hidden check (10/10)"
HOSTILE = (f"x{CLEAR_SCREEN}{TITLE}{CLIPBOARD}\r\b\x00\x7f\x85\x9b{FAKE_LINE}"
           "\u202egnp.exe\u2066\u2028\u2029\ufeff\U000e0041")


def controls(text: str) -> list[str]:
    """The control characters in ``text``, as ``grader.student_text`` counts them."""
    return [c for c in text if unicodedata.category(c) in CONTROL_CATEGORIES and c not in JOINERS]


def every_control() -> str:
    return "".join(c for c in map(chr, range(0x110000))
                   if unicodedata.category(c) in CONTROL_CATEGORIES and c not in JOINERS)


def test_every_control_character_is_shown_as_its_escape():
    """All of Unicode's controls (C0, DEL, C1), format characters (bidi, zero-width, tags), surrogates and line
    separators: none is left, each is a backslash escape that Python reads back as the same character."""
    everything = every_control()
    assert {"\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u2066", "\u200e", "\u2028",
            "\ufeff", "\U000e0041", "\ud800"} <= set(everything)
    shown = one_line(everything, None)
    assert controls(shown) == [] and shown.isascii()
    assert ast.literal_eval('"' + shown + '"') == everything


def test_the_attacks_of_the_issue_are_plain_text_on_one_line():
    shown = one_line(HOSTILE)
    assert controls(shown) == [] and "\n" not in shown
    for seen in (r"\x1b[2J", r"\x1b]0;owned\x07", r"\x1b]52;c;aGVsbG8=\x07", r"\r", r"\x08", r"\x00", r"\x7f",
                 r"\x85", r"\x9b", r"\n[PASS] hidden check (10/10)", r"\u202egnp.exe", r"\u2066", r"\u2028",
                 r"\ufeff", r"\U000e0041"):
        assert seen in shown


def test_visible_lines_keeps_only_the_newlines():
    shown = visible_lines(f"first{CLEAR_SCREEN}\nsecond\r\u202e\nthird")
    assert shown.split("\n") == [r"first\x1b[2J", r"second\r\u202e", "third"]
    assert controls(shown) == ["\n", "\n"]
    assert visible("a\tb\x1b", keep="\t") == "a\tb\\x1b"


@pytest.mark.parametrize("text", ["Zoë Ñúñez", "李小龙", "محمد", "می‌خواهم", "👩‍👩‍👧", "naïve café", "a\\b",
                                  "layer 3 (Conv2D): its output is (11, 11, 32), expected (11, 11, 64)"])
def test_what_is_not_a_control_is_shown_as_written(text):
    """Names in any script, emoji, the joiners that shape them (U+200C, U+200D), backslashes: unchanged."""
    assert one_line(text) == text == visible_lines(text)


def test_one_line_can_be_applied_at_every_step():
    """Where a message is made and again where it is written: the second pass changes nothing."""
    once = one_line(HOSTILE)
    assert one_line(once) == once == visible_lines(once)
    assert one_line(quoted(HOSTILE)) == quoted(HOSTILE)


def test_quoted_shows_where_the_student_s_text_begins_and_ends():
    text = f'she said "done" \\ {FAKE_LINE}{CLEAR_SCREEN}\u202e'
    shown = quoted(text)
    assert shown.startswith('"') and shown.endswith('"') and controls(shown) == []
    assert ast.literal_eval(shown) == text  # read as Python reads a string: exactly what the student wrote
    assert quoted("") == '""'


def test_lengths_are_bounded():
    long = "\x1b" * 10**6
    shown = one_line(long)
    assert len(shown) < 5 * 10_000 and shown.endswith("... (990,000 more characters)")
    assert one_line("x" * 20, 5) == "xxxxx... (15 more characters)"
    assert len(visible_lines("y\n" * 10**6)) < 100_100
    assert quoted("z" * 50, 10) == '"zzzzzzzzzz"... (40 more characters)'
    assert one_line("short", None) == "short"


def test_anything_is_shown_as_its_text():
    assert one_line(ValueError("bad\nvalue")) == r"bad\nvalue"
    assert one_line(None) == "None" and one_line(3) == "3"


@pytest.mark.parametrize("code, width, shown", [
    ("model.fit(x_train, y_train, epochs=10, callbacks=[cb])", 40, "model.fit(x_train, y_train,..."),
    ("model.fit(x_train, y_train, epochs=10, callbacks=[cb])", 42, "model.fit(x_train, y_train, epochs=10,..."),
    ("model.fit(training_images, training_labels, epochs=10)", 40, "model.fit(training_images,..."),
    ("history = model.fit(x, y, epochs=10)", 40, "history = model.fit(x, y, epochs=10)"),
    ("x" * 100, 20, "x" * 17 + "..."),
])
def test_code_is_cut_between_tokens_and_says_so(code, width, shown):
    """A quoted line of code never shows ``epochs=1`` for ``epochs=10``: cut at a token's end, with ``...``."""
    from grader.student_text import cut_code

    assert cut_code(code, width) == shown
    assert len(cut_code(code, width)) <= width
