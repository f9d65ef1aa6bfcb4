"""When a stored result may be reused: only while the submission, the assignment and the grader are unchanged.

A result carries its provenance (digests of the three, the limits it was graded under, and what else makes its
score: the MNIST this machine grades with, the CPU or the GPU, the versions of TensorFlow, Keras and NumPy); a batch
reuses it only when a fresh provenance is
equal, so an edited submission, an edited assignment, a new grader version, other limits, another MNIST or another
device is graded again. A result the grader failed on (not the student) is never reused: running the batch again
retries it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from grader.course.assignment import Course
from grader.errors import DatasetUnavailableError
from grader.inside import datasets
from grader.results import GRADER_FAILED
from grader.spec import Limits

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


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


def assignment_digest(assignment: Course) -> str:
    """The solution's folder (notebook, thresholds, data) and the students' files."""
    return folder_digest([assignment.solution_path.parent, assignment.student_dir])


def grading_environment(gpu: bool = False) -> str:
    """What of this machine changes a score: the MNIST it grades with (the full set or the subset, each with its
    thresholds) and whether the students' code trains on the GPU (other numerics)."""
    try:
        mnist = datasets.mnist_source()
    except DatasetUnavailableError:
        mnist = "none"
    return json.dumps({"device": "gpu" if gpu else "cpu", "mnist": mnist, "packages": package_versions()},
                      sort_keys=True)


@lru_cache(maxsize=1)
def package_versions() -> str:
    """The versions of what trains and checks the models (another TensorFlow, Keras or NumPy: other numbers)."""
    found = []
    for name in ("tensorflow", "tensorflow-cpu", "keras", "numpy"):
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return " ".join(found)


@dataclass(frozen=True)
class Provenance:
    submission_sha256: str
    assignment_sha256: str
    grader_version: str
    limits: str
    environment: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def limits_text(limits: Limits) -> str:
    """The limits as the key compares them: numbers as numbers (300 from the assignment equals 300.0 given)."""
    return json.dumps({name: float(value) for name, value in asdict(limits).items()}, sort_keys=True)


def provenance_of(notebook: Path, assignment_sha256: str, limits: Limits, environment: str) -> Provenance:
    return Provenance(submission_sha256=file_digest(notebook), assignment_sha256=assignment_sha256,
                      grader_version=grader_version(), limits=limits_text(limits),
                      environment=environment)


def reusable(stored: dict, wanted: Provenance) -> bool:
    """Whether a stored result (its JSON) was graded from exactly this submission, assignment, grader and
    environment, and graded at all (a grader failure is tried again)."""
    return stored.get("provenance") == wanted.to_dict() and not str(stored.get("error") or "").startswith(
        GRADER_FAILED)
