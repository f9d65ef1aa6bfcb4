"""When a stored result may be reused: only while the submission, the assignment and the grader are unchanged.

A result carries its provenance (digests of the three, and the limits it was graded under); a batch reuses it
only when a fresh provenance is equal, so an edited submission, an edited assignment or a new grader version is
graded again.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .assignment import Assignment
from .spec import Limits

PACKAGE_ROOT = Path(__file__).resolve().parent


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def folder_digest(folders: list[Path], suffixes: tuple[str, ...] = (), leave_out: tuple[str, ...] = ()) -> str:
    """One digest of every regular file under ``folders`` (names and contents), in a fixed order."""
    digest = hashlib.sha256()
    for folder in folders:
        if not folder.exists():
            continue
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file()
                                                         and "__pycache__" not in p.parts
                                                         and not set(leave_out).intersection(p.parts))
        for path in files:
            if suffixes and path.suffix not in suffixes:
                continue
            digest.update(str(path.relative_to(folder.parent)).encode() + b"\0" + file_digest(path).encode())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def grader_version() -> str:
    """The package's version and a digest of its code: any change of the grader makes a new version (its
    ``reports`` package left out: reports are made from results, never change them)."""
    try:
        version = metadata.version("notebook-grader")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{version}+{folder_digest([PACKAGE_ROOT], ('.py',), leave_out=('reports',))[:16]}"


def assignment_digest(assignment: Assignment) -> str:
    """The solution's folder (notebook, thresholds, data) and the students' files."""
    return folder_digest([assignment.solution_path.parent, assignment.student_dir])


@dataclass(frozen=True)
class Provenance:
    submission_sha256: str
    assignment_sha256: str
    grader_version: str
    limits: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def provenance_of(notebook: Path, assignment_sha256: str, limits: Limits) -> Provenance:
    return Provenance(submission_sha256=file_digest(notebook), assignment_sha256=assignment_sha256,
                      grader_version=grader_version(), limits=json.dumps(asdict(limits), sort_keys=True))


def reusable(stored: dict, wanted: Provenance) -> bool:
    """Whether a stored result (its JSON) was graded from exactly this submission, assignment and grader."""
    return stored.get("provenance") == wanted.to_dict()
