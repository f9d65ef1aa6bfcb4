"""Where a course keeps its assignments, said once: ``CourseLayout`` knows the course folder and the paths in it.

A course folder holds ``solutions/<name>/<name>.ipynb`` (each assignment's single source: the solution notebook,
its hidden checks, its recorded thresholds beside it) and ``assignments/<name>/`` (what students get, generated
from it).  The grader installed once serves a course in any folder: ``grader --course DIR``, the working folder
when it holds ``solutions/``, else the course this checkout ships (``course_root``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # the grader's checkout, whose own course is the default one
COURSE_ENV = "GRADER_COURSE"  # the course folder ``grader --course DIR`` chose, seen by every command and worker
SOLUTIONS = "solutions"
ASSIGNMENTS = "assignments"


@dataclass(frozen=True)
class CourseLayout:
    """The course folder ``root`` and where each assignment's files are in it."""

    root: Path

    @classmethod
    def of_solution(cls, solution: Path) -> CourseLayout:
        """The course a solution notebook given by its path belongs to (``<root>/solutions/<name>/<name>.ipynb``)."""
        return cls(solution.parent.parent.parent)

    @property
    def solutions(self) -> Path:
        return self.root / SOLUTIONS

    @property
    def assignments(self) -> Path:
        return self.root / ASSIGNMENTS

    def solution_folder(self, name: str) -> Path:
        return self.solutions / name

    def solution_notebook(self, name: str) -> Path:
        return self.solution_folder(name) / f"{name}.ipynb"

    def assignment_folder(self, name: str) -> Path:
        """The folder of the files students get: the student notebook, public_checks.json and the rest."""
        return self.assignments / name

    def is_course(self) -> bool:
        return self.solutions.is_dir()

    def assignment_names(self) -> list[str]:
        """Every assignment of the course: each ``solutions/<name>/<name>.ipynb``."""
        return sorted(p.parent.name for p in self.solutions.glob("*/*.ipynb") if p.stem == p.parent.name)


def course_root(explicit: str | Path | None = None) -> Path:
    """The course folder (the one holding ``solutions/`` and ``assignments/``): the folder given; else
    ``$GRADER_COURSE`` (``grader --course DIR`` sets it); else the working folder when it holds ``solutions/``;
    else the package's own folder (this project's course)."""
    for chosen in (explicit, os.environ.get(COURSE_ENV)):
        if chosen:
            return Path(chosen).resolve()
    if CourseLayout(Path.cwd()).is_course():
        return Path.cwd().resolve()
    return REPO_ROOT
