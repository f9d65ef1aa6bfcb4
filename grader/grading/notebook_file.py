"""Reading a notebook file with bounded memory: each cell's outputs and attachments are skipped as they stream past.

A notebook can be hundreds of megabytes because of one enormous output (a printed array, a huge plot); the
grader clears outputs anyway.  This scanner reads the file in chunks, follows the JSON structure (strings,
escapes, brackets) without building it, and copies everything but the values of the ``outputs`` and
``attachments`` keys of the cells (replaced by ``[]`` and ``{}``) into a buffer.  Memory stays at one chunk
plus what is kept, whatever the size of the skipped values, even a single string of gigabytes.  What is kept
is then parsed as ordinary JSON.

What is kept is bounded before it is parsed: its bytes (``limit``), how deep its lists and objects nest
(``MAX_DEPTH``: Python's parser recurses, and a notebook nested 100,000 levels would end it with a
``RecursionError``), how many entries it has (``MAX_ENTRIES``: a few bytes each, they would still cost the
host memory by the gigabyte) and how many steps the scanner takes on it (``MAX_TOKENS``: 50 MB of colons or
closing brackets, which no valid notebook has, took a minute).  Past ``MAX_DEPTH`` nothing more is kept: the
rest of the file is only counted, to say how deep it went.

The skipped values are never stacked, however deep they nest: their brackets and strings are counted over a
whole chunk at once (NumPy), so that a gigabyte of brackets in an output costs seconds, not the minutes of a
step per bracket.
"""
from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

CHUNK = 1 << 20
SKIPPED = {b"outputs": b"[]", b"attachments": b"{}"}
STRUCTURE = re.compile(rb'["{}\[\]:,]')
STRING_END = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)  # possessive: a failed match never backtracks
MAX_KEY = 16
FIRST_WINDOW = 256  # bytes counted at once at first: most skipped values are short ("outputs": [])
MAX_DEPTH = 100  # lists and objects inside each other; a notebook Jupyter writes nests about 10 deep
MAX_ENTRIES = 1_000_000  # lists' items and objects' members, outputs aside; a long notebook has a few thousand
MAX_TOKENS = 5 * MAX_ENTRIES  # brackets, commas, colons and strings kept: about 4 an entry in valid JSON, each a step


class Unreadable(Exception):
    """What is kept passed a bound: the file is not read further."""


class TooLarge(Unreadable):
    """What is kept passed the limit on bytes."""


class TooDeep(Unreadable):
    """Lists and objects nest deeper than ``MAX_DEPTH`` in ``where`` (the notebook's metadata, a cell's ...),
    ``depth`` levels below it."""

    def __init__(self, where: str, depth: int) -> None:
        super().__init__(f"{where} is nested {depth:,} levels deep")
        self.where = where
        self.depth = depth


class TooManyEntries(Unreadable):
    """More than ``limit`` (``MAX_ENTRIES``) items and members are kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} entries")
        self.limit = limit


class _Scanner:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        # per open container kept: [bracket, key it is the value of, last key read, index of the item (a list's)]
        self.stack: list[list] = []
        self.extra = 0  # open containers inside the skipped value (never stacked)
        self.entries = 0
        self.tokens = 0
        self.too_deep: tuple[str, int] | None = None  # (where, how deep that part starts) once past MAX_DEPTH
        self.level = 0  # past MAX_DEPTH: how deep the file is here (only counted)
        self.deepest = 0
        self.in_string = False
        self.string_bytes = bytearray()  # a string at cell level, while it may still be a key we skip
        self.capturing = False
        self.skip_depth: int | None = None  # while skipping: the depth at which the skipped value ends
        self.skipped = 0
        self.window = FIRST_WINDOW  # how much _count_through takes at once: grows while a skipped value goes on

    # -- where we are
    def _at_cell_level(self) -> bool:
        stack = self.stack
        return (len(stack) == 3 and stack[0][0] == b"{" and stack[1][0] == b"[" and stack[1][1] == b"cells"
                and stack[2][0] == b"{")

    def _where(self) -> tuple[str, int]:
        """What the open containers are in words, and how deep that part of the notebook starts."""
        stack = self.stack
        if not stack or stack[0][0] != b"{":
            return "the file", 0
        top_key = _text(stack[1][1]) if len(stack) > 1 else ""
        if top_key == "metadata":
            return "the notebook's metadata", 2
        if top_key != "cells" or len(stack) < 3 or stack[1][0] != b"[":
            return f"the notebook's {top_key!r} entry", 1
        cell = f"cell {stack[1][3] + 1} of the notebook (counting from the top, text cells too)"
        if len(stack) < 4 or stack[2][0] != b"{":
            return cell, 2
        key = _text(stack[3][1])
        return (f"the metadata of {cell}", 4) if key == "metadata" else (f"the {key!r} entry of {cell}", 3)

    def keep(self, data: bytes) -> None:
        if self.too_deep is not None:
            return
        if self.skip_depth is None:
            self.kept += data
            if len(self.kept) > self.limit:
                raise TooLarge
        else:
            self.skipped += len(data)

    def feed(self, buf: bytes) -> int:
        """Consume ``buf`` from the start; return how many bytes were consumed (the rest waits for more)."""
        pos, end = 0, len(buf)
        while pos < end:
            if self.in_string:
                match = STRING_END.match(buf, pos)
                if match is None:  # the string goes on past this chunk: keep all but a trailing backslash run
                    stop = end
                    while stop > pos and buf[stop - 1:stop] == b"\\":
                        stop -= 1
                    if (end - stop) % 2:  # an odd run: its last backslash escapes the next chunk's first byte
                        stop = end - 1
                    else:
                        stop = end
                    self._string_part(buf[pos:stop])
                    return stop
                self._string_part(buf[pos:match.end()])
                self.in_string = False
                self._string_done()
                pos = match.end()
                continue
            if self.skip_depth is not None or self.too_deep is not None:
                counted = self._count_through(buf, pos, end)
                if counted != pos:
                    pos = counted
                    continue
            match = STRUCTURE.search(buf, pos)
            if match is None:
                self.keep(buf[pos:end])
                return end
            start = match.start()
            self.keep(buf[pos:start])
            if buf[start] == 0x22 and self.too_deep is None:  # a string: whole in this buffer, kept in one step
                whole = STRING_END.match(buf, start + 1)
                if whole is not None:
                    self._whole_string(buf, start, whole.end())
                    pos = whole.end()
                    continue
            self._structure(buf[start:start + 1])
            pos = start + 1
        return pos

    def _whole_string(self, buf: bytes, start: int, end: int) -> None:
        """What ``_structure``, ``_string_part`` and ``_string_done`` do with a string, at once."""
        stack = self.stack
        if self.skip_depth is None:
            self.tokens += 2  # a string takes a few steps more than a bracket
            if self.tokens > MAX_TOKENS:
                raise TooManyEntries(MAX_ENTRIES)
            if stack and stack[-1][0] == b"{":
                stack[-1][2] = buf[start + 1:end - 1] if end - start - 2 <= MAX_KEY else None
        self.keep(buf[start:end])

    def _count_through(self, buf: bytes, pos: int, end: int) -> int:
        """Skip (or, past MAX_DEPTH, count) ``buf[pos:end]`` a window at a time: up to where the skipped value
        ends, or the window's end, or the opening quote of a string the window does not close (the string is left
        to ``feed``).  Returns where it stopped.  The window starts small and grows fourfold while the value goes
        on, so that a short value costs little and a long one few steps."""
        data = np.frombuffer(buf, dtype=np.uint8, count=min(end - pos, self.window), offset=pos)
        quotes = _unescaped_quotes(data)
        opened = np.cumsum(quotes)
        limit = len(data)
        if opened[-1] % 2:  # a string runs past the chunk
            limit = int(np.flatnonzero(quotes)[-1])
        outside = ~((opened[:limit] % 2 == 1) | quotes[:limit])
        data = data[:limit]
        step = np.zeros(limit, dtype=np.int64)
        step[outside & ((data == ord("[")) | (data == ord("{")))] = 1
        step[outside & ((data == ord("]")) | (data == ord("}")))] = -1
        depth = np.cumsum(step)
        self.window = min(4 * self.window, 1 << 24)
        if self.too_deep is not None:
            if limit:
                self.deepest = max(self.deepest, self.level + int(depth.max()))
                self.level += int(depth[-1])
            return pos + limit
        depth += self.extra  # after each byte
        before = depth - step
        own_end = np.flatnonzero((step == -1) & (depth == 0))  # the skipped list or object closes
        ended = np.flatnonzero(((step == -1) | (outside & (data == ord(",")))) & (before == 0))  # a scalar's end
        first_own = int(own_end[0]) + 1 if len(own_end) else limit + 1
        first_ended = int(ended[0]) if len(ended) else limit + 1
        stop = min(first_own, first_ended)
        if stop > limit:
            self.skipped += limit
            if limit:
                self.extra = int(depth[-1])
            return pos + limit
        self.skipped += stop
        self.extra = 0
        self._end_skip()
        return pos + stop

    def _string_part(self, data: bytes) -> None:
        self.keep(data)
        if self.capturing:
            self.string_bytes += data
            if len(self.string_bytes) > MAX_KEY + 1:
                self.capturing = False

    def _string_done(self) -> None:
        if self.capturing and self.stack:
            self.stack[-1][2] = bytes(self.string_bytes[:-1])
        self.capturing = False

    def _structure(self, char: bytes) -> None:
        stack = self.stack
        if char == b'"':
            if self.skip_depth is None and self.too_deep is None:
                self.tokens += 2
            self.keep(char)
            self.in_string = True
            self.capturing = self.skip_depth is None and self.too_deep is None and bool(stack) \
                and stack[-1][0] == b"{"
            self.string_bytes = bytearray()
            if stack and self.capturing:
                stack[-1][2] = None
            return
        if self.too_deep is not None:  # nothing more is kept: only how deep it goes
            if char in (b"{", b"["):
                self.level += 1
                self.deepest = max(self.deepest, self.level)
            elif char in (b"}", b"]"):
                self.level -= 1
            return
        if self.skip_depth is not None:
            self._skipped_structure(char)
            return
        self.tokens += 1
        if self.tokens > MAX_TOKENS:
            raise TooManyEntries(MAX_ENTRIES)
        if char == b":" and self._at_cell_level() and stack[-1][2] in SKIPPED:
            self.keep(b":" + SKIPPED[stack[-1][2]])
            self.skip_depth = len(stack)
            stack[-1][2] = b"\0skipping"
            return
        if char in (b"{", b"["):
            self._open(char)
            return
        if char in (b"}", b"]"):
            self.keep(char)
            if stack:
                stack.pop()
            return
        if char == b",":
            self._count_entry()
            if stack and stack[-1][0] == b"[":
                stack[-1][3] += 1
        self.keep(char)

    def _skipped_structure(self, char: bytes) -> None:
        """A bracket or comma of a skipped value (``_count_through`` does the same a chunk at a time)."""
        if char in (b"{", b"["):
            self.extra += 1
        elif char in (b"}", b"]") and self.extra:
            self.extra -= 1
            if not self.extra:  # the skipped list or object closes: so does the skipping
                self.keep(char)
                self._end_skip()
                return
        elif char in (b"}", b"]", b","):  # a skipped scalar ends with its cell or at the next key
            self._end_skip()
            self._structure(char)
            return
        self.keep(char)

    def _open(self, char: bytes) -> None:
        stack = self.stack
        if len(stack) >= MAX_DEPTH:
            self.too_deep = self._where()
            self.level = self.deepest = len(stack) + 1
            return
        self.keep(char)
        self._count_entry()
        key = stack[-1][2] if stack and stack[-1][0] == b"{" else None
        stack.append([char, key, None, 0])

    def _count_entry(self) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise TooManyEntries(MAX_ENTRIES)

    def finish(self) -> None:
        """Raise ``TooDeep`` when the notebook nested deeper than the bound (known once the whole file is read)."""
        if self.too_deep is not None:
            where, base = self.too_deep
            raise TooDeep(where, self.deepest - base)

    def _end_skip(self) -> None:
        self.skip_depth = None
        self.window = FIRST_WINDOW
        if self.stack:
            self.stack[-1][2] = None


def _unescaped_quotes(data: np.ndarray) -> np.ndarray:
    """Where ``data`` has a quote not escaped by an odd run of backslashes before it (``data`` starts outside any
    string; a backslash outside a string, which JSON does not allow, counts the same)."""
    quotes = data == ord('"')
    backslashes = data == ord("\\")
    if not quotes.any() or not backslashes.any():
        return quotes
    index = np.arange(len(data))
    last_other = np.maximum.accumulate(np.where(backslashes, -1, index))  # the last byte that is not a backslash
    at = np.flatnonzero(quotes)
    previous = at - 1
    run = np.where(previous >= 0, previous - last_other[np.maximum(previous, 0)], 0)
    quotes[at[run % 2 == 1]] = False
    return quotes


def read_without_outputs(handle: BinaryIO, limit: int) -> tuple[bytes, int]:
    """(the notebook's JSON without cell outputs and attachments, how many bytes were skipped).

    Raises ``TooLarge`` when what is kept passes ``limit`` bytes, ``TooDeep`` when its lists and objects nest
    deeper than ``MAX_DEPTH`` and ``TooManyEntries`` when it has more than ``MAX_ENTRIES`` items and members.
    """
    scanner = _Scanner(limit)
    pending = b""
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            break
        buf = pending + chunk
        used = scanner.feed(buf)
        pending = buf[used:]
    if pending:
        scanner.keep(pending)
    scanner.finish()
    return bytes(scanner.kept), scanner.skipped


def _text(key: bytes | None) -> str:
    return (key or b"").decode("utf-8", "replace")
