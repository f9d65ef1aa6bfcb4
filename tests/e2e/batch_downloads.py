"""Downloads of the tiny assignment as an instructor gets them from Canvas: real notebooks, real zips."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import nbformat

from . import notebooks as nbs

SLEEP_SECONDS = 8  # long enough to be caught mid-grading, well under the tiny assignment's cell limit


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def canvas_members(assignment) -> dict[str, bytes]:
    """Six students: full marks, a wrong number, a slow one, an empty file, a resubmission (the latest is right),
    and one who handed in a zip of their notebook."""
    right = _bytes(nbs.reference(assignment))
    wrong = _bytes(nbs.replace(nbs.reference(assignment), "answer = 6 * 7", "answer = 41"))
    slow = _bytes(nbs.insert_cell(nbs.reference(assignment), "array", f"import time\ntime.sleep({SLEEP_SECONDS})"))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as bundle:
        bundle.writestr("homework/tiny.ipynb", right)
    return {
        "adamsana_101_9001_tiny.ipynb": right,
        "bakerben_102_9002_tiny.ipynb": wrong,
        "chencleo_103_9003_tiny.ipynb": slow,
        "dunndan_104_9004_tiny.ipynb": b"",
        "evanseve_105_9005_tiny.ipynb": wrong,
        "evanseve_105_9105_tiny-1.ipynb": right,
        "fordfay_LATE_106_9006_tiny.zip": zipped.getvalue(),
    }


EXPECTED_POINTS = {"adamsana_101": 4, "bakerben_102": 3, "chencleo_103": 4, "dunndan_104": 0, "evanseve_105": 4,
                   "fordfay_106": 4}


def write_canvas_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def gradebook_text(out: Path) -> str:
    return (out / "gradebook.csv").read_text()


def result_json(out: Path, key: str) -> dict:
    return json.loads((out / "results" / f"{key}.json").read_text())


def gradescope_export(assignment, submissions: dict[str, tuple[list[dict], str, dict[str, bytes]]]) -> dict[str, bytes]:
    """The members of Gradescope's "Export Submissions" zip: ``assignment_<id>_export/submission_metadata.yml`` and
    one ``submission_<id>/`` folder per submission, with its files. ``submissions``: folder name -> (submitters as
    name/sid/email, the time it was handed in as Gradescope writes it, its files)."""
    lines = []
    for folder, (submitters, created_at, _) in submissions.items():
        lines += [f"{folder}:", "  :submitters:"]
        for person in submitters:
            lines += [f"  - :name: {person['name']}", f"    :sid: '{person.get('sid', '')}'",
                      f"    :email: {person.get('email', '')}"]
        lines += [f"  :created_at: {created_at}", "  :score: 0.0", "  :status: processed"]
    root = "assignment_4242_export"
    members = {f"{root}/submission_metadata.yml": ("\n".join(lines) + "\n").encode()}
    for folder, (_, _, files) in submissions.items():
        members.update({f"{root}/{folder}/{name}": data for name, data in files.items()})
    return members


def right(assignment) -> bytes:
    return _bytes(nbs.reference(assignment))


def with_answers(assignment, answer: str = "6 * 7", word: str = '"b"') -> bytes:
    """The reference with a student's own answer to task 1 and choice in task 3 (``word = "c"``: no such option)."""
    nb = nbs.replace(nbs.reference(assignment), "answer = 6 * 7", f"answer = {answer}")
    return _bytes(nbs.replace(nb, 'word = "b"', f"word = {word}"))
