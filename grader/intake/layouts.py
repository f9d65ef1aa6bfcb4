"""Who handed in what: the layouts instructors download, recognised from the files' names.

- Gradescope's export: ``submission_metadata.yml`` and one ``submission_<id>/`` folder per submission;
- Canvas's download: ``<name>[_LATE]_<userid>_<submissionid>_<original name>``, a resubmitted file's name ending in
  ``-1``, ``-2``...;
- one folder per student (the folder's name is the student);
- a flat folder of notebooks (the file's name is the student).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from grader.intake.archives import IGNORED_PARTS
from grader.intake.names import listed_name

GRADESCOPE_METADATA = "submission_metadata.yml"
CANVAS_LAYOUT = "Canvas download"
CANVAS_NAME = re.compile(r"^(?P<student>[^_]+?)(?P<late>_late)?_(?P<user_id>\d+)_(?P<submission_id>\d+)_(?P<rest>.+)$",
                         re.IGNORECASE)
RESUBMISSION = re.compile(r"-(?P<attempt>\d+)$")


@dataclass(frozen=True)
class Candidate:
    """A file or folder that one student handed in; ``order`` sorts a student's submissions, latest last."""

    student: str
    shown: str
    path: Path
    layout: str
    user_id: str | None = None
    submission_id: str | None = None
    attempt: int = 0
    order: tuple = ()
    members: tuple[dict, ...] = ()
    late: bool = False  # Canvas's _LATE mark
    submitted_at: str | None = None  # when it was handed in (ISO 8601), where the download says (Gradescope)

    @property
    def identity(self) -> str:
        return f"id:{self.user_id}" if self.user_id else f"name:{self.student.lower()}"


@dataclass
class Found:
    """The candidates, the files left out with why, and of those the ones whose student is known (a Canvas upload
    that is not a notebook: still that student's, listed as a wrong file), by their shown name."""

    layout: str
    candidates: list[Candidate] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    owners: dict[str, Candidate] = field(default_factory=dict)


@dataclass(frozen=True)
class Listing:
    """A folder's regular files and sub-folders, links and special files refused, odd names noted."""

    files: tuple[Path, ...]
    folders: tuple[Path, ...]
    refused: tuple[tuple[str, str], ...]


def list_folder(folder: Path, shown_root: Path, leave_out: Path | None = None) -> Listing:
    files, folders, refused = [], [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        shown = str(path.relative_to(shown_root))
        if entry.name in IGNORED_PARTS or entry.name.startswith("._"):
            continue
        if leave_out is not None and path.resolve() == leave_out:  # the batch's own output folder
            continue
        if entry.is_symlink():
            refused.append((shown, "a symbolic link: links are not followed; submit the file itself"))
        elif entry.is_dir(follow_symlinks=False):
            folders.append(path)
        elif entry.is_file(follow_symlinks=False):
            files.append(path)
        else:
            refused.append((shown, "not a regular file"))
    return Listing(tuple(files), tuple(folders), tuple(refused))


def find(root: Path, leave_out: Path | None = None) -> Found:
    """The candidates in ``root`` (a downloaded folder, or an extracted archive), ``leave_out`` (the batch's output
    folder, when it lies inside) not looked at."""
    listing = list_folder(root, root, leave_out)
    while not listing.files and len(listing.folders) == 1 and _is_wrapper(listing.folders[0]):
        root = listing.folders[0]  # an archive of one folder that holds the download: look inside it
        listing = list_folder(root, root, leave_out)
    metadata = next((p for p in listing.files if p.name == GRADESCOPE_METADATA), None)
    if metadata is not None:
        found = _gradescope(root, metadata, listing)
    elif listing.files and sum(bool(CANVAS_NAME.match(p.name)) for p in listing.files) * 2 >= len(listing.files):
        found = _canvas(root, listing)
    elif listing.folders and not any(p.suffix.lower() == ".ipynb" for p in listing.files):
        found = _folders(root, listing)
    else:
        found = _flat(root, listing)
    found.unmatched[:0] = listing.refused
    return found


def _is_wrapper(folder: Path) -> bool:
    """A folder that wraps a whole download (Gradescope's metadata, sub-folders, several files), not one
    student's folder with their notebook."""
    inside = list_folder(folder, folder)
    return (folder / GRADESCOPE_METADATA).is_file() or bool(inside.folders) or len(inside.files) > 1


def _shown(path: Path, root: Path) -> str:
    return listed_name(str(path.relative_to(root)))[0]


def _handed_in(path: Path) -> bool:
    return path.suffix.lower() in (".ipynb", ".zip")


def _not_a_notebook(path: Path) -> str:
    return f"not a notebook ({path.suffix or 'no extension'}): only .ipynb files (or a zip of one) are graded"


def _flat(root: Path, listing: Listing) -> Found:
    found = Found("folder of notebooks")
    for path in listing.files:
        if _handed_in(path):
            found.candidates.append(Candidate(student=listed_name(path.stem)[0], shown=_shown(path, root), path=path,
                                              layout=found.layout, order=(path.stat().st_mtime_ns,)))
        else:
            shown = _shown(path, root)
            found.unmatched.append((shown, _not_a_notebook(path)))
            if path.stem and not path.name.startswith("."):  # jane.pdf among the notebooks: Jane's wrong file
                found.owners[shown] = Candidate(student=listed_name(path.stem)[0], shown=shown, path=path,
                                                layout=found.layout)
    for path in listing.folders:
        found.unmatched.append((_shown(path, root), "a folder beside the notebooks: not looked into"))
    return found


def _folders(root: Path, listing: Listing) -> Found:
    found = Found("one folder per student")
    for path in listing.folders:
        found.candidates.append(Candidate(student=listed_name(path.name)[0], shown=_shown(path, root), path=path,
                                          layout=found.layout))
    for path in listing.files:
        found.unmatched.append((_shown(path, root), "a file beside the students' folders: whose is it?"))
    return found


def _canvas(root: Path, listing: Listing) -> Found:
    found = Found(CANVAS_LAYOUT)
    for path in listing.files:
        match = CANVAS_NAME.match(listed_name(path.name)[0])
        if match is None:
            found.unmatched.append((_shown(path, root), "the name does not follow Canvas's pattern"
                                                        " name_userid_submissionid_file: whose is it?"))
            continue
        original = Path(match["rest"])
        attempt = RESUBMISSION.search(original.stem)
        number = int(attempt["attempt"]) if attempt else 0
        candidate = Candidate(
            student=match["student"], shown=_shown(path, root), path=path, layout=found.layout,
            user_id=match["user_id"], submission_id=match["submission_id"], attempt=number,
            order=(int(match["submission_id"]), number), late=bool(match["late"]))
        if not _handed_in(path):
            found.unmatched.append((candidate.shown, _not_a_notebook(path)))
            found.owners[candidate.shown] = candidate
            continue
        found.candidates.append(candidate)
    return found


GRADESCOPE_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?$")


def moment(value: object) -> str | None:
    """A time from Gradescope's metadata (YAML reads ``2026-11-20 10:00:00.000000000 -08:00`` as a datetime; a
    text that is not one stays a text that is read here) as ISO 8601 with its offset; None when it is neither."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    match = GRADESCOPE_TIME.match(str(value or "").strip())
    if not match:
        return None
    day, clock, fraction, offset = match.groups()
    offset = "+00:00" if offset in (None, "Z") else offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
    try:
        return datetime.fromisoformat(f"{day}T{clock}.{(fraction or '0')[:6]:0<6}{offset}").isoformat()
    except ValueError:
        return None


COPY_MARK = re.compile(r"(\s*\(\d+\)|-copy\d*|\s+copy(\s*\d+)?)$", re.IGNORECASE)


def canvas_original_stem(candidate: Candidate, marks: bool = True) -> str:
    """The name the student's file had, without Canvas's prefix and (``marks``) its ``-1`` resubmission mark and a
    copy's `` (1)`` or ``-Copy1``: ``By_Hand`` for ``ana_12_34_By_Hand-Copy1-2.ipynb``."""
    match = CANVAS_NAME.match(candidate.path.name)
    stem = Path(match["rest"]).stem if match else candidate.path.stem
    return COPY_MARK.sub("", RESUBMISSION.sub("", stem)) if marks else stem


def _gradescope(root: Path, metadata: Path, listing: Listing) -> Found:
    found = Found("Gradescope export")
    try:
        described = yaml.safe_load(metadata.read_text(errors="replace")) or {}
    except yaml.YAMLError as exc:
        described = {}
        found.unmatched.append((_shown(metadata, root), f"could not be read ({exc.__class__.__name__}):"
                                                        " students are named by their folders"))
    if not isinstance(described, dict):
        described = {}
    for path in listing.folders:
        about = described.get(path.name)
        about = about if isinstance(about, dict) else {}
        submitters = [s for s in about.get(":submitters", []) or [] if isinstance(s, dict)]
        members = tuple({"name": str(s.get(":name", "")), "sid": str(s.get(":sid", "") or ""),
                         "email": str(s.get(":email", "") or "")} for s in submitters)
        if not members:
            found.unmatched.append((_shown(path, root), f"not described in {GRADESCOPE_METADATA}: whose is it?"))
            continue
        number = path.name.removeprefix("submission_")
        found.candidates.append(Candidate(
            student=" & ".join(m["name"] for m in members), shown=_shown(path, root), path=path, layout=found.layout,
            user_id=members[0]["sid"] or members[0]["email"] or None, submission_id=number,
            order=(str(about.get(":created_at", "")), number), members=members,
            submitted_at=moment(about.get(":created_at"))))
    for path in listing.files:
        if path != metadata:
            found.unmatched.append((_shown(path, root), "a file beside the submission folders: whose is it?"))
    return found
