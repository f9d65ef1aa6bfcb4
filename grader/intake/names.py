"""File names as they arrive: decoded whatever their encoding, turned into safe keys for result files."""
from __future__ import annotations

import os
import re
import unicodedata

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_KEY_LENGTH = 80


def decode_name(raw: bytes) -> tuple[str, bool]:
    """A file name's text, and whether it was valid UTF-8 (else it is read as Windows' Latin-1, cp1252, and the
    five bytes cp1252 leaves undefined as Latin-1: two different names never read as the same text)."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in raw), False


def listed_name(name: str) -> tuple[str, bool]:
    """A name listed from a folder (``os.listdir`` keeps undecodable bytes as surrogates): its text, valid or not."""
    return decode_name(os.fsencode(name))


def safe_key(text: str) -> str:
    """A key usable as a file name everywhere: ASCII letters, digits, ``.``, ``_`` and ``-``, accents folded."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    key = _UNSAFE.sub("_", folded).strip("._-")[:MAX_KEY_LENGTH]
    return key or "submission"


def unique_key(wanted: str, taken: set[str]) -> str:
    key, n = wanted, 2
    while key.lower() in taken:
        key, n = f"{wanted}-{n}", n + 1
    taken.add(key.lower())
    return key
