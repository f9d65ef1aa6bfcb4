"""Reading a notebook file with bounded memory: each cell's outputs and attachments are skipped as they stream past.

A notebook can be hundreds of megabytes because of one enormous output (a printed array, a huge plot); the
grader clears outputs anyway.  This scanner reads the file in chunks, follows the JSON structure (strings,
escapes, brackets) without building it, and copies everything but the values of the ``outputs`` and
``attachments`` keys of the cells (replaced by ``[]`` and ``{}``) into a buffer.  Memory stays at one chunk
plus what is kept, whatever the size of the skipped values, even a single string of gigabytes.  What is kept
is then parsed as ordinary JSON.
"""
from __future__ import annotations

import re
from typing import BinaryIO

CHUNK = 1 << 20
SKIPPED = {b"outputs": b"[]", b"attachments": b"{}"}
STRUCTURE = re.compile(rb'["{}\[\]:,]')
STRING_END = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
MAX_KEY = 16


class TooLarge(Exception):
    """What is kept passed the limit."""


class _Scanner:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.stack: list[list] = []  # per open container: [bracket, key it is the value of, last key read]
        self.in_string = False
        self.string_bytes = bytearray()  # a string at cell level, while it may still be a key we skip
        self.capturing = False
        self.skip_depth: int | None = None  # while skipping: the depth at which the skipped value ends
        self.skipped = 0

    # -- where we are
    def _at_cell_level(self) -> bool:
        stack = self.stack
        return (len(stack) == 3 and stack[0][0] == b"{" and stack[1][0] == b"[" and stack[1][1] == b"cells"
                and stack[2][0] == b"{")

    def keep(self, data: bytes) -> None:
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
            match = STRUCTURE.search(buf, pos)
            if match is None:
                self.keep(buf[pos:end])
                return end
            start = match.start()
            self.keep(buf[pos:start])
            self._structure(buf[start:start + 1])
            pos = start + 1
        return pos

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
            self.keep(char)
            self.in_string = True
            self.capturing = self.skip_depth is None and bool(stack) and stack[-1][0] == b"{"
            self.string_bytes = bytearray()
            if stack:
                stack[-1][2] = None
            return
        if char == b":" and self.skip_depth is None and self._at_cell_level() and stack[-1][2] in SKIPPED:
            self.keep(b":" + SKIPPED[stack[-1][2]])
            self.skip_depth = len(stack)
            stack[-1][2] = b"\0skipping"
            return
        if char in (b"{", b"["):
            self.keep(char)
            key = stack[-1][2] if stack and stack[-1][0] == b"{" else None
            stack.append([char, key, None])
            return
        if char in (b"}", b"]"):
            if self.skip_depth is not None and len(stack) == self.skip_depth:
                self._end_skip()  # a skipped scalar value, ended by the end of its cell
            self.keep(char)
            if stack:
                stack.pop()
            if self.skip_depth is not None and len(stack) == self.skip_depth:
                self._end_skip()
            return
        if char == b"," and self.skip_depth is not None and len(stack) == self.skip_depth:
            self._end_skip()  # a skipped scalar value (not an array or object) ends here
        self.keep(char)

    def _end_skip(self) -> None:
        self.skip_depth = None
        if self.stack:
            self.stack[-1][2] = None


def read_without_outputs(handle: BinaryIO, limit: int) -> tuple[bytes, int]:
    """(the notebook's JSON without cell outputs and attachments, how many bytes were skipped).

    Raises ``TooLarge`` when what is kept passes ``limit`` bytes.
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
    return bytes(scanner.kept), scanner.skipped
