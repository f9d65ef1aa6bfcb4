"""Text a student wrote, made safe to show on an instructor's terminal and in the feedback files.

A student writes much of what the grader shows: an exception's name and message (``raise ValueError("...")``), the
first line of a cell, a file's or a student's name in a download, an answer quoted in a check's message. Shown raw,
such text drives the terminal that prints it or the editor that opens the file: ``\\x1b[2J`` clears the screen,
``\\x1b]0;...\\x07`` sets the window's title, ``\\x1b]52;c;...\\x07`` writes the clipboard, ``\\r`` and ``\\b`` move
the cursor back over what the grader wrote, a bidi override (U+202E) reverses what follows it, and a newline
starts a line that can imitate the grader's own (``[PASS] hidden check (10/10)``).

So every control character is shown as its escape, the characters ``\\x1b`` for ESC, ``\\n`` for a newline, and
nothing a student wrote can start a line or move the cursor. Controls are Unicode's: C0, DEL and C1 (category Cc),
the format characters (Cf: the bidi embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, the marks
U+200E, U+200F and U+061C, zero-width spaces, the tag characters), lone surrogates (Cs: a file name that is not
UTF-8, which could not even be written out) and the line and paragraph separators U+2028 and U+2029. Only the
joiners U+200C and U+200D stay as they are: they shape Persian and Indic names and emoji, and move nothing.

A backslash a student wrote is kept, so ``one_line`` can be applied at every step the text passes (where a message
is made and again where it is written) without escaping twice; ``quoted`` also escapes backslashes and quotes, so
that the reader sees exactly where the student's text begins and ends. Each shows at most ``max_chars``
characters of the text (then says how many more there were): a student's text never floods a terminal or a file.
"""
from __future__ import annotations

import re
import unicodedata

MAX_LINE_CHARS = 10_000  # a line; what a student wrote is cut shorter where it is read (an exception's message at 500)
MAX_TEXT_CHARS = 100_000  # text of many lines (a task's feedback, a log's tail)
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
JOINERS = frozenset({"\u200c", "\u200d"})  # zero-width non-joiner and joiner: they shape scripts and emoji
NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")  # where a control can be: checked one by one


def is_control(char: str) -> bool:
    """Whether ``char`` moves the cursor, changes the terminal or the direction of text, or starts a line."""
    return char not in JOINERS and unicodedata.category(char) in CONTROL_CATEGORIES


def escape(char: str) -> str:
    """A character as the escape Python writes for it: ``\\n``, ``\\x1b``, ``\\u202e``, ``\\U000e0041``."""
    if char in NAMED_ESCAPES:
        return NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _shorter(text: str, max_chars: int | None) -> tuple[str, str]:
    if max_chars is None or len(text) <= max_chars:
        return text, ""
    return text[:max_chars], f"... ({len(text) - max_chars:,} more characters)"


ELLIPSIS = "..."
WORD_SLACK = 0.25  # of the width: how far back a cut may go to end at a word (a longer word is cut inside)


def cut_at_word(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: whole when it fits, else cut after its last whole word that fits
    and followed by ``...`` (inside a word only when one word is longer than a quarter of the width)."""
    if len(text) <= width:
        return text
    room = max(width - len(ELLIPSIS), 1)
    head = text[:room + 1]
    space = head.rfind(" ")
    if space >= room * (1 - WORD_SLACK):
        return head[:space].rstrip(" ,;:") + ELLIPSIS
    return text[:room] + ELLIPSIS


CODE_SLACK = 0.5  # of the width: how far back a cut of code may go to end at a token
CODE_BREAKS = re.compile(r"[\s,;:()\[\]{}]")  # where a line of code may be cut without cutting a token


def cut_code(text: str, width: int) -> str:
    """A line of code in at most ``width`` characters: whole when it fits, else cut after its last whole token
    that fits (at a space, a comma, a bracket) and followed by ``...``: ``epochs=10`` is never shown as
    ``epochs=1``."""
    if len(text) <= width:
        return text
    room = max(width - len(ELLIPSIS), 1)
    breaks = [m.end() if m.group() in ",;:([{" else m.start() for m in CODE_BREAKS.finditer(text[:room + 1])]
    fits = [b for b in breaks if 0 < b <= room]
    cut = max(fits) if fits and max(fits) >= room * CODE_SLACK else room
    return text[:cut].rstrip() + ELLIPSIS


def visible(text: object, keep: str = "", max_chars: int | None = MAX_LINE_CHARS) -> str:
    """``text`` with every control but those in ``keep`` shown as its escape, at most ``max_chars`` of it."""
    text, more = _shorter(str(text), max_chars)

    def shown(match: re.Match) -> str:
        char = match.group()
        return escape(char) if char not in keep and is_control(char) else char

    return _NOT_PRINTABLE_ASCII.sub(shown, text) + more


def one_line(text: object, max_chars: int | None = MAX_LINE_CHARS) -> str:
    """Text a student wrote (or a message with such text in it) as one line: newlines too shown as ``\\n``."""
    return visible(text, "", max_chars)


def visible_lines(text: object, max_chars: int | None = MAX_TEXT_CHARS) -> str:
    """Text of several lines (the grader's own newlines, ``\\n``) with every other control shown as its escape:
    for a writer's last pass over what it writes, once each field in it was made ``one_line``."""
    return visible(text, "\n", max_chars)


def quoted(text: object, max_chars: int | None = MAX_LINE_CHARS) -> str:
    """Text a student wrote in double quotes, as one line, its backslashes and quotes escaped too (as ``repr``
    does), so that the reader sees where it begins and ends: ``"x\\n[PASS] y"``."""
    text, more = _shorter(str(text), max_chars)
    return '"' + one_line(text.replace("\\", "\\\\").replace('"', '\\"'), None) + '"' + more
