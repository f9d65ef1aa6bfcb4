"""An assignment on disk: its solution notebook (the single source) and the files students get."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from grader.course.generate import StudentFiles, generate, out_of_date, student_files, student_notebook
from grader.course.layout import REPO_ROOT, CourseLayout, course_root
from grader.course.leaks import find_leaks
from grader.course.source import AssignmentSource, read_source
from grader.errors import SpecError


def assignment_names(root: str | Path | None = None) -> list[str]:
    """The assignments of the course: each ``solutions/<name>/<name>.ipynb`` under ``course_root(root)``."""
    return CourseLayout(course_root(root)).assignment_names()


@runtime_checkable
class Course(Protocol):
    """What the grader uses of an assignment, whichever its source (this project's solution notebook, or an
    instructor's otter-assign notebook): ``Assignment`` and ``otter.OtterAssignment`` both are one
    (``tests/course/test_assignment.py`` holds each to it, properties as properties and methods as methods; a frozen
    dataclass's field is read as a property is)."""

    @property
    def solution_path(self) -> Path: ...

    @property
    def student_dir(self) -> Path: ...

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


def load_assignment(name_or_path: str | Path, root: Path | None = None) -> Course:
    """An assignment by name (``fashion_cnn``) under ``root`` (by default ``course_root()``), or by the path of its
    solution notebook."""
    course = CourseLayout(course_root(root))
    path = Path(name_or_path)
    if path.suffix == ".ipynb":
        solution = path
        name = path.stem
    else:
        name = str(name_or_path)
        solution = course.solution_notebook(name)
    if not solution.is_file():
        known = ", ".join(course.assignment_names()) if path.suffix != ".ipynb" else ""
        raise SpecError(f"no solution notebook at {solution}" + (
            f" (the course at {course.root} has {known})" if known else
            " (choose the course folder with grader --course DIR, or run the grader in it)"))
    student_dir = (CourseLayout.of_solution(solution) if path.suffix == ".ipynb" else course).assignment_folder(name)
    from grader.course.otter import OtterAssignment, is_otter_master

    if is_otter_master(solution):
        return OtterAssignment(solution_path=solution, student_dir=student_dir)
    return Assignment(solution_path=solution, student_dir=student_dir)


def assignment_reference(assignment: Course) -> str:
    """How another process finds ``assignment``: its name when it is this repository's (so that any machine's
    copy is found), else its solution notebook's path."""
    if assignment.solution_path.resolve() == CourseLayout(REPO_ROOT).solution_notebook(assignment.name).resolve():
        return assignment.name
    return str(assignment.solution_path.resolve())
