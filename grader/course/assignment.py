"""An assignment on disk: its solution notebook (the single source) and the files students get."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from grader.course.generate import StudentFiles, generate, out_of_date, student_files, student_notebook
from grader.course.leaks import find_leaks
from grader.course.source import AssignmentSource, read_source
from grader.errors import SpecError

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE_ENV = "GRADER_COURSE"  # the course folder ``grader --course DIR`` chose, seen by every command and worker


def course_root(explicit: str | Path | None = None) -> Path:
    """The course folder (the one holding ``solutions/`` and ``assignments/``): the folder given; else
    ``$GRADER_COURSE`` (``grader --course DIR`` sets it); else the working folder when it holds ``solutions/``;
    else the package's own folder (this project's course)."""
    for chosen in (explicit, os.environ.get(COURSE_ENV)):
        if chosen:
            return Path(chosen).resolve()
    if (Path.cwd() / "solutions").is_dir():
        return Path.cwd().resolve()
    return REPO_ROOT


def assignment_names(root: str | Path | None = None) -> list[str]:
    """The assignments of the course: each ``solutions/<name>/<name>.ipynb`` under ``course_root(root)``."""
    solutions = course_root(root) / "solutions"
    return sorted(p.parent.name for p in solutions.glob("*/*.ipynb") if p.stem == p.parent.name)


@runtime_checkable
class Course(Protocol):
    """What the grader uses of an assignment, whichever its source (this project's solution notebook, or an
    instructor's otter-assign notebook): ``Assignment`` and ``otter.OtterAssignment`` both are one
    (``tests/test_assignment.py`` holds each to it, properties as properties and methods as methods)."""

    solution_path: Path
    student_dir: Path

    @property
    def spec(self) -> Any: ...

    @property
    def name(self) -> str: ...

    @property
    def notebook_name(self) -> str:
        """The file name of the notebook students get (and hand in)."""

    @property
    def student_notebook_path(self) -> Path: ...

    def template(self) -> Any: ...

    def reference_submission(self) -> Any: ...

    def clean_submission(self, nb: Any) -> Any: ...

    def handouts(self) -> dict[str, str]: ...

    def out_of_date(self) -> list[str]: ...

    def write_student_files(self) -> list[Path]: ...

    def leaks(self) -> list[str]: ...


@dataclass(frozen=True)
class Assignment:
    """The solution notebook and the folder of student files generated from it."""

    solution_path: Path
    student_dir: Path

    @cached_property
    def source(self) -> AssignmentSource:
        return read_source(self.solution_path)

    @property
    def spec(self):
        return self.source.spec

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def student_files(self) -> StudentFiles:
        return student_files(self.source)

    @property
    def notebook_name(self) -> str:
        return self.student_files.notebook_name

    @property
    def student_notebook_path(self) -> Path:
        return self.student_dir / self.notebook_name

    def template(self):
        """The untouched student notebook, as generated."""
        return student_notebook(self.source)

    def reference_submission(self):
        """The student notebook filled in with the reference answers."""
        return student_notebook(self.source, keep_solutions=True)

    def clean_submission(self, nb):
        """The submission as it is executed (here: as it is; otter's assignments leave otter's own cells out)."""
        return nb

    def out_of_date(self) -> list[str]:
        return out_of_date(self.solution_path, self.student_dir)

    def write_student_files(self) -> list[Path]:
        return generate(self.solution_path, self.student_dir)

    def leaks(self) -> list[str]:
        return find_leaks(self.source, self.student_dir)

    def handouts(self) -> dict[str, str]:
        """Files students get besides the notebook, by name."""
        return {name: text for name, text in self.student_files.files.items()
                if name != self.student_files.notebook_name}


def load_assignment(name_or_path: str | Path, root: Path | None = None) -> Assignment:
    """An assignment by name (``fashion_cnn``) under ``root`` (by default ``course_root()``), or by the path of its
    solution notebook."""
    root = course_root(root)
    path = Path(name_or_path)
    if path.suffix == ".ipynb":
        solution = path
        name = path.stem
    else:
        name = str(name_or_path)
        solution = root / "solutions" / name / f"{name}.ipynb"
    if not solution.is_file():
        known = ", ".join(assignment_names(root)) if path.suffix != ".ipynb" else ""
        raise SpecError(f"no solution notebook at {solution}" + (
            f" (the course at {root} has {known})" if known else
            " (choose the course folder with grader --course DIR, or run the grader in it)"))
    student_dir = (solution.parent.parent.parent / "assignments" / name) if path.suffix == ".ipynb" \
        else root / "assignments" / name
    from grader.course.otter import OtterAssignment, is_otter_master

    if is_otter_master(solution):
        return OtterAssignment(solution_path=solution, student_dir=student_dir)
    return Assignment(solution_path=solution, student_dir=student_dir)


def assignment_reference(assignment) -> str:
    """How another process finds ``assignment``: its name when it is this repository's (so that any machine's
    copy is found), else its solution notebook's path."""
    solutions = REPO_ROOT / "solutions"
    if assignment.solution_path.resolve() == (solutions / assignment.name / f"{assignment.name}.ipynb").resolve():
        return assignment.name
    return str(assignment.solution_path.resolve())
