"""Files written so that a reader (or a batch killed half-way) sees the old content or the new, never a part."""
from __future__ import annotations

import os
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_partial_files(folder: Path) -> int:
    """Remove what an interrupted atomic write left behind; how many."""
    count = 0
    if folder.is_dir():
        for leftover in folder.rglob(".*.part"):
            leftover.unlink(missing_ok=True)
            count += 1
    return count
