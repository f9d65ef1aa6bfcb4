"""Reading data that untrusted code wrote: total readers, with limits checked before anything is loaded.

Whatever a sandbox leaves (a file, a name, a count) was written by code the grader does not trust.  Each reader
here either returns a value within its limits or raises ``EvidenceError`` with a reason a student can read:
never another exception, never a value larger than its limit, never a path built from the data.

* files: regular files only, under a root, by a path the caller chose; links and special files refused on the
  way; sizes by apparent size (``st_size``), so a sparse file counts for what it claims;
* JSON: bytes bounded before parsing, nesting and entries bounded after, NaN and infinities refused, integers of
  more digits than any count the grader reads refused;
* ``.npy``: the header read first, its dtype (numbers only, never objects) and its shape checked against the
  limit and against the file's own size, before a byte of data is loaded.
"""
from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from grader.errors import EvidenceError

MAX_INT_DIGITS = 40  # far beyond any count, size or seed the grader reads


@dataclass(frozen=True)
class JsonLimits:
    """How much JSON a reader takes: its bytes, how deep it nests, how many values it holds in all."""

    max_bytes: int = 2**20
    max_depth: int = 32
    max_entries: int = 100_000


def regular_file(root: Path, relative: Path, max_bytes: int) -> Path:
    """The path of a regular file under ``root`` (a path the caller chose), refusing links and special files on the
    way, and a file larger than ``max_bytes`` by its apparent size."""
    path = root
    info = None
    for part in relative.parts:
        if part in ("", ".", "..") or "/" in part:
            raise EvidenceError("has a name the grader does not read")
        path = path / part
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            raise EvidenceError("not exported") from None
        except OSError as exc:
            raise EvidenceError(f"cannot be read ({exc.strerror})") from None
        if stat.S_ISLNK(info.st_mode):
            raise EvidenceError("is a symbolic link, not data")
    if info is None or not stat.S_ISREG(info.st_mode):
        raise EvidenceError("is not a regular file")
    if info.st_size > max_bytes:
        raise EvidenceError(f"is {_size(info.st_size)}, more than the {_size(max_bytes)} the grader reads")
    return path


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a regular file, opened without following a link (it may have changed since)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise EvidenceError(f"cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise EvidenceError("is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise EvidenceError(f"is more than the {_size(max_bytes)} the grader reads")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text):,} digits")
    return int(text)


# A JSON string, from its opening quote to its closing one, or to the end of a text that never closes it: every
# quote outside a string starts a match, so the matches never overlap and one pass over the text finds them all.
JSON_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+\\?(?:"|\Z)', re.DOTALL)


def _more_values_than(text: str, most: int) -> bool:
    """Whether ``text`` may hold more than ``most`` values, told before anything is built: its commas and opening
    brackets, outside strings when there are too many in all (a string is one value however many commas and braces
    it quotes: a printed list in an executed notebook)."""
    def count(part: str) -> int:
        return part.count(",") + part.count("[") + part.count("{")

    return count(text) > most and count(JSON_STRING.sub('""', text)) > most


def parse_json(data: bytes | str, limits: JsonLimits = JsonLimits()) -> Any:
    """JSON within ``limits``, or ``EvidenceError`` saying why not (any input: never another exception)."""
    if len(data) > limits.max_bytes:
        raise EvidenceError(f"is {_size(len(data))}, more than the {_size(limits.max_bytes)} the grader reads")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise EvidenceError("is not UTF-8 text") from None
    if _more_values_than(data, limits.max_entries):  # before the parser builds them
        raise EvidenceError(f"holds more than {limits.max_entries:,} values")
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except RecursionError:
        raise EvidenceError(f"nests more than {limits.max_depth} levels deep") from None
    except (ValueError, TypeError, MemoryError) as exc:
        raise EvidenceError(f"is not valid JSON ({str(exc)[:120]})") from None
    _check_shape(value, limits)
    return value


def read_json(path: Path, limits: JsonLimits = JsonLimits()) -> Any:
    """A regular file (not followed through a link) parsed as JSON within ``limits``."""
    return parse_json(read_bytes(regular_file(path.parent, Path(path.name), limits.max_bytes), limits.max_bytes),
                      limits)


def _check_shape(value: Any, limits: JsonLimits) -> None:
    """Refuse a value nested deeper than ``limits.max_depth`` or holding more than ``limits.max_entries`` values
    (walked without recursion: the parser's own recursion limit already stopped anything absurd)."""
    count, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > limits.max_entries:
            raise EvidenceError(f"holds more than {limits.max_entries:,} values")
        if depth > limits.max_depth:
            raise EvidenceError(f"nests more than {limits.max_depth} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def npy_header(path: Path) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """The dtype, shape, Fortran order and data offset an ``.npy`` file declares (nothing else is read)."""
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=10_000)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=10_000)
            else:
                raise EvidenceError(f"is a .npy file of an unknown version {version}")
            offset = handle.tell()
    except EvidenceError:
        raise
    except (ValueError, OSError, SyntaxError, TypeError, MemoryError) as exc:
        raise EvidenceError(f"is not a valid .npy file ({str(exc)[:120]})") from None
    return dtype, tuple(shape), bool(fortran), offset


def read_npy(path: Path, max_bytes: int, mmap: bool = True) -> np.ndarray:
    """A plain array of numbers from a regular ``.npy`` file: object arrays (pickles) refused, its declared size
    checked against ``max_bytes`` and against the file before any data is loaded; mapped read-only by default."""
    path = regular_file(path.parent, Path(path.name), max_bytes)
    dtype, shape, _, offset = npy_header(path)
    if dtype.hasobject:
        raise EvidenceError("is not a plain array (it holds Python objects, which the grader never loads)")
    if any(not isinstance(n, int) or n < 0 for n in shape) or len(shape) > 32:
        raise EvidenceError(f"declares an impossible shape {shape}")
    declared = math.prod(shape) * dtype.itemsize
    if declared > max_bytes:
        raise EvidenceError(f"declares {_size(declared)} of data, more than the {_size(max_bytes)} the grader reads")
    if os.stat(path).st_size != offset + declared:
        raise EvidenceError("is not a valid .npy file (its size does not match the array it declares)")
    try:
        if mmap and declared:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, MemoryError) as exc:
        raise EvidenceError(f"is not a plain array ({str(exc)[:120]})") from None


def _size(count: int) -> str:
    if count >= 2**20:
        return f"{count / 2**20:,.0f} MB"
    if count >= 2**10:
        return f"{count / 2**10:,.0f} KB"
    return f"{count:,} bytes"


SPARSE_SLACK = 2**20  # a file may hold this much less than its size says (its last block) before it is sparse


def copy_wanted_files(source: Path, target: Path, wanted: Mapping[str, int],
                      budget: int | None = None) -> dict[str, str]:
    """Copy out of ``source`` (a folder untrusted code wrote) only the files the host will read: each relative path
    of ``wanted`` that is a regular file (no link on the way) within its most bytes, by apparent size, holding the
    data its size claims (a sparse file, which costs the sandbox nothing and the host its whole size, is refused),
    all of them within ``budget`` bytes, and never more bytes than that.  Returns what was there but left out, and
    why (the host tells the student)."""
    left_out: dict[str, str] = {}
    budget = sum(wanted.values()) if budget is None else budget
    for relative, most in wanted.items():
        try:
            path = regular_file(source, Path(relative), most)
            info = os.lstat(path)
            if info.st_blocks * 512 + SPARSE_SLACK < info.st_size:
                raise EvidenceError(f"is a sparse file ({info.st_size / 2**20:,.0f} MB that hold"
                                    f" {info.st_blocks * 512 / 2**20:,.0f} MB), not data the notebook wrote")
            if info.st_size > budget:
                raise EvidenceError("is more than what is left of the disk the notebook may use")
            budget -= info.st_size
            data_fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        except EvidenceError as exc:
            if str(exc) != "not exported":
                left_out[relative] = str(exc)
            continue
        except OSError as exc:
            left_out[relative] = f"cannot be read ({exc.strerror})"
            continue
        destination = target / relative
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the host's alone (a checks' child is
        # let read its own submission's: grader/grading/apart.py)
        copy_fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(data_fd, "rb") as src, os.fdopen(copy_fd, "wb") as dst:
            copied = 0
            for chunk in iter(lambda: src.read(2**20), b""):
                copied += len(chunk)
                if copied > most:
                    break
                dst.write(chunk)
    return left_out
