"""One notebook per student, staged under ``<out>/submissions/<key>.ipynb``, and ``<out>/submissions.json`` saying
who each one is, which files were left out and why, and which earlier submissions a later one replaced."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import IntakeError
from grader.files import atomic_write_bytes, atomic_write_text
from grader.intake.archives import IGNORED_PARTS, MAX_STUDENT_ARCHIVE_BYTES, extract
from grader.intake.layouts import CANVAS_LAYOUT, Candidate, canvas_original_stem, find
from grader.intake.names import listed_name, safe_key, unique_key

log = logging.getLogger(__name__)
STAGED = "submissions"
MANIFEST = "submissions.json"
SCRATCH = ".intake"
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")  # what safe_key and unique_key make: one file name


@dataclass(frozen=True)
class StagedSubmission:
    key: str
    student: str
    file: str
    user_id: str | None = None
    submission_id: str | None = None
    attempt: int = 0
    members: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()
    late: bool = False  # the download marks it late (Canvas's LATE)
    submitted_at: str | None = None  # ISO 8601, where the download gives the time (Gradescope)


WRONG_FILE = "wrong file"  # an unmatched entry's status: a student's upload that holds no notebook
NOT_GRADABLE = "not gradable"  # a student's notebook that could not be taken (damaged, several, too big)


@dataclass
class Manifest:
    assignment: str
    layout: str
    submissions: list[StagedSubmission] = field(default_factory=list)
    unmatched: list[dict] = field(default_factory=list)
    superseded: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"assignment": self.assignment, "layout": self.layout,
                "submissions": [asdict(s) for s in self.submissions],
                "unmatched": self.unmatched, "superseded": self.superseded}

    @classmethod
    def from_dict(cls, data: dict) -> "Manifest":
        """Read back from JSON; a field of the wrong type, or a key that is not a safe file name (it names the
        student's files), is a ValueError that names the entry."""
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        if not isinstance(data.get("assignment"), str) or not isinstance(data.get("layout", ""), str):
            raise ValueError("its 'assignment' or 'layout' is not text")
        for name in ("submissions", "unmatched", "superseded"):
            if not isinstance(data.get(name, []), list):
                raise ValueError(f"its {name!r} are not a list")
        submissions = [_staged_from_dict(entry, number) for number, entry in enumerate(data.get("submissions", []),
                                                                                      start=1)]
        return cls(assignment=data["assignment"], layout=data.get("layout", ""), submissions=submissions,
                   unmatched=list(data.get("unmatched", [])), superseded=list(data.get("superseded", [])))

    def keys(self) -> list[str]:
        return [s.key for s in self.submissions]


def _staged_from_dict(entry: Any, number: int) -> StagedSubmission:
    def wrong(why: str) -> ValueError:
        return ValueError(f"submission {number} ({str(entry)[:120]}): {why}")

    if not isinstance(entry, dict):
        raise wrong("not a JSON object")
    for name in ("key", "student", "file"):
        if not isinstance(entry.get(name), str):
            raise wrong(f"its {name!r} is not text")
    for name in ("user_id", "submission_id", "submitted_at"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise wrong(f"its {name!r} is not text")
    if not isinstance(entry.get("late", False), bool):
        raise wrong("its 'late' is not true or false")
    if type(entry.get("attempt", 0)) is not int:
        raise wrong("its 'attempt' is not a whole number")
    members, notes = entry.get("members", []), entry.get("notes", [])
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise wrong("its 'members' are not a list of objects")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise wrong("its 'notes' are not a list of texts")
    if not KEY.fullmatch(entry["key"]):
        raise wrong("its 'key' is not a name the intake makes (letters, digits, '.', '_' and '-')")
    try:
        return StagedSubmission(**{**entry, "members": tuple(members), "notes": tuple(notes)})
    except TypeError as exc:  # a field the intake does not write
        raise wrong(str(exc)) from None


def staged_path(out_dir: Path, key: str) -> Path:
    return out_dir / STAGED / f"{key}.ipynb"


def read_manifest(out_dir: Path) -> Manifest | None:
    """The intake's ``submissions.json`` of ``out_dir``; None where there is none."""
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return Manifest.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise IntakeError(f"{path} cannot be read ({type(exc).__name__}: {exc})") from None


def intake(source: Path, out_dir: Path, assignment: str, notebook_name: str) -> Manifest:
    """Stage the submissions found in ``source`` (a folder or a zip) for grading into ``out_dir``."""
    check_apart(source, out_dir)  # before anything in out_dir is touched
    scratch = out_dir / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        return _intake(source, out_dir, scratch, assignment, notebook_name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_apart(source: Path, out_dir: Path) -> Path | None:
    """Refuse a source inside the output folder (its ``submissions/`` holds the grader's own copies, which each
    intake replaces: an instructor's download there would be deleted); the output folder when it lies inside the
    source, to be left out of it."""
    source, out = source.resolve(), out_dir.resolve()
    if source.is_file():  # a zip beside the results is safe, not one among the grader's own copies
        if source.is_relative_to(out / STAGED) or source.is_relative_to(out / SCRATCH):
            raise IntakeError(f"{source} is among the grader's own files in {out}: move it out of there first")
        return None
    if source == out or source.is_relative_to(out):
        raise IntakeError(f"the submissions ({source}) are inside the output folder {out}, where the grader keeps"
                          f" its own copies in {STAGED}/ and replaces them: give --out another folder")
    if not out.is_relative_to(source):
        return None
    if source.is_dir() and out.parent != source:  # deeper, it would lie in a student's folder
        raise IntakeError(f"the output folder {out} is inside a folder of the submissions ({source}): give --out a"
                          " folder outside them, or directly in it")
    return out


def _intake(source: Path, out_dir: Path, scratch: Path, assignment: str, notebook_name: str) -> Manifest:
    unmatched: list[tuple[str, str]] = []
    leave_out = check_apart(source, out_dir)
    download = None
    not_utf8: list[str] = []
    if source.is_dir():
        root = source
    elif source.is_file() and source.suffix.lower() == ".zip":
        opened = extract(source, scratch / "download")
        unmatched += opened.refused
        not_utf8 = [name for name, _ in opened.renamed]
        root = download = opened.folder
    else:
        raise IntakeError(f"{source} is neither a folder nor a .zip archive of submissions")
    found = find(root, leave_out)
    unmatched += found.unmatched
    owners = dict(found.owners)
    chosen: dict[str, tuple[Candidate, Path, list[str]]] = {}
    superseded = []
    nested = 0
    for candidate in found.candidates:
        nested += 1
        try:
            notebook, problem, notes = _notebook_of(candidate, scratch / f"nested-{nested}", notebook_name)
            if notebook is not None and (not listed_name(notebook.name)[1] or not listed_name(candidate.shown)[1]
                                         or (download and _among(candidate.path.relative_to(download), not_utf8))):
                notes.append("its file name is not UTF-8: read as the zip's own code page (cp437) or, in a folder,"
                             " as Windows' Latin-1 (cp1252)")
            if notebook is not None and notebook.is_relative_to(scratch / f"nested-{nested}"):
                notebook = Path(shutil.move(notebook, scratch / f"notebook-{nested}.ipynb"))  # its zip's room back
        except Exception as exc:  # noqa: BLE001 - one student's damaged file never stops the class's intake
            log.warning("intake of %s failed", candidate.shown, exc_info=True)
            notebook, problem, notes = None, f"could not be opened ({type(exc).__name__}: {str(exc)[:200]})", []
        finally:
            shutil.rmtree(scratch / f"nested-{nested}", ignore_errors=True)  # a student's zip: its disk back
        if notebook is None:
            unmatched.append((candidate.shown, "; ".join([problem, *notes])))
            owners[candidate.shown] = candidate
            continue
        earlier = chosen.get(candidate.identity)
        if earlier is not None:
            (older, newer), why = _latest(earlier[0], candidate, notebook_name)
            superseded.append({"file": older.shown, "by": newer.shown, "reason": why})
            if newer is earlier[0]:
                continue
        chosen[candidate.identity] = (candidate, notebook, notes + ["Canvas marks it LATE"] * candidate.late)
    manifest = Manifest(assignment=assignment, layout=found.layout,
                        unmatched=[_unmatched(f, r, owners.get(f)) for f, r in unmatched], superseded=superseded)
    taken: set[str] = set()
    for candidate, notebook, notes in sorted(chosen.values(), key=lambda c: (c[0].student.lower(), c[0].shown)):
        wanted = safe_key(f"{candidate.student}_{candidate.user_id}" if candidate.user_id else candidate.student)
        if notebook.stat().st_size == 0:
            notes.append("the file is empty (0 bytes)")
        manifest.submissions.append(StagedSubmission(
            key=unique_key(wanted, taken), student=candidate.student, file=candidate.shown,
            user_id=candidate.user_id, submission_id=candidate.submission_id, attempt=candidate.attempt,
            members=candidate.members, notes=tuple(notes), late=candidate.late, submitted_at=candidate.submitted_at))
        atomic_write_bytes(staged_path(out_dir, manifest.submissions[-1].key), notebook.read_bytes())
    keep = {f"{k}.ipynb" for k in manifest.keys()}
    for old in (out_dir / STAGED).glob("*.ipynb"):
        if old.name not in keep:
            old.unlink()  # from an earlier download: its result stays, out of the gradebook
    atomic_write_text(out_dir / MANIFEST, json.dumps(manifest.to_dict(), indent=1, ensure_ascii=False))
    return manifest


NO_NOTEBOOK = ("not a notebook", "no notebook", "an archive inside the archive")


def _unmatched(shown: str, reason: str, owner: Candidate | None) -> dict:
    """A file left out, and whose it is where the download says (then a student's row says what they handed in)."""
    entry: dict[str, Any] = {"file": shown, "reason": reason}
    if owner is not None:
        entry.update(student=owner.student, user_id=owner.user_id, submission_id=owner.submission_id,
                     members=list(owner.members), late=owner.late, submitted_at=owner.submitted_at,
                     status=WRONG_FILE if reason.startswith(NO_NOTEBOOK) else NOT_GRADABLE)
    return entry


def _among(path: Path, names: list[str]) -> bool:
    """Whether a candidate's path in its archive (a file, or a student's folder) is, or holds, one of ``names``."""
    parts = list(path.parts)
    return any(name.split("/")[:len(parts)] == parts for name in names)


def _latest(one: Candidate, other: Candidate, notebook_name: str) -> tuple[tuple[Candidate, Candidate], str]:
    """Of two notebooks of one student, the one that counts (last) and why. In a Canvas download all of a student's
    files are their latest submission's (several files may be attached to it): the one named as the assignment's
    notebook counts, else the last uploaded; elsewhere the latest submission counts."""
    if one.layout == CANVAS_LAYOUT:
        def named(c: Candidate) -> bool:  # a copy's or resubmission's mark aside (unless the name has it)
            wanted = Path(notebook_name).stem.lower()
            return wanted in (canvas_original_stem(c).lower(), canvas_original_stem(c, marks=False).lower())

        pair = sorted([one, other], key=lambda c: (named(c), c.order, c.shown))
        if named(pair[1]) and not named(pair[0]):
            return (pair[0], pair[1]), (f"{pair[1].student} has several notebooks in the download: the one named as"
                                        f" the assignment's ({notebook_name}) is graded")
        return (pair[0], pair[1]), f"{pair[1].student} has several notebooks in the download: the last uploaded counts"
    pair = sorted([one, other], key=lambda c: (c.order, c.shown))
    return (pair[0], pair[1]), f"{pair[0].student} handed in more than once: the latest counts"


def _notebook_of(candidate: Candidate, scratch: Path, notebook_name: str) -> tuple[Path | None, str, list[str]]:
    """The notebook a candidate stands for: the file itself, the one notebook in its folder or in its own zip."""
    path = candidate.path
    notes: list[str] = []
    if path.is_file() and path.suffix.lower() == ".ipynb":
        return path, "", notes
    if path.is_file():  # a zip a student handed in: opened once, never an archive inside it
        try:
            opened = extract(path, scratch, label=candidate.shown, suffixes=(".ipynb", ".zip"),
                             max_total=MAX_STUDENT_ARCHIVE_BYTES)
        except IntakeError as exc:
            return None, str(exc), notes
        notes += [f"{f}: {r}" for f, r in opened.refused]
        path = opened.folder
        archives_allowed = False
    else:
        archives_allowed = True
    notebooks, archives = _notebooks_in(path)
    if not notebooks and archives and archives_allowed and len(archives) == 1:
        return _notebook_of(Candidate(candidate.student, candidate.shown, archives[0], candidate.layout),
                            scratch, notebook_name)
    if not notebooks:
        what = "an archive inside the archive (not opened): hand in the notebook" if archives \
            else "no notebook (.ipynb) in it"
        return None, what, notes
    if len(notebooks) > 1:
        same_name = [p for p in notebooks if p.name.lower() == notebook_name.lower()]
        if len(same_name) != 1:
            names = ", ".join(sorted(str(p.relative_to(path)) for p in notebooks))
            return None, f"several notebooks ({names}): which one is the submission?", notes
        notes.append(f"several notebooks: {same_name[0].name} graded, as the assignment's notebook is named")
        notebooks = same_name
    return notebooks[0], "", notes


def _notebooks_in(folder: Path) -> tuple[list[Path], list[Path]]:
    notebooks, archives = [], []
    for directory, folders, files in os.walk(folder, followlinks=False):
        folders[:] = sorted(f for f in folders if f not in IGNORED_PARTS and not Path(directory, f).is_symlink())
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_symlink() or name.startswith("._") or not path.is_file():
                continue
            if path.suffix.lower() == ".ipynb":
                notebooks.append(path)
            elif path.suffix.lower() == ".zip":
                archives.append(path)
    return notebooks, archives
