"""Every kind of assignment is a ``Course``: what the grader uses of it has the same form in each (a property where
the protocol has a property, a method where it has a method), so that no command works for one and fails for the
other (``grader gradescope conv_arithmetic`` once failed on a method where the others had a property)."""
from __future__ import annotations

import dataclasses
import inspect

import pytest

from grader.course.assignment import Assignment, Course, load_assignment
from grader.course.otter import OtterAssignment

from ..e2e.conftest import course_assignments

MEMBERS = {name: member for name, member in vars(Course).items() if not name.startswith("_")}


@pytest.mark.parametrize("implementation", [Assignment, OtterAssignment])
def test_each_kind_of_assignment_has_the_protocols_form(implementation):
    for name, member in MEMBERS.items():
        if isinstance(member, property) and name in {field.name for field in dataclasses.fields(implementation)}:
            continue  # a frozen dataclass's field, read-only as the protocol's property
        found = inspect.getattr_static(implementation, name, None)
        assert found is not None, f"{implementation.__name__} has no {name}"
        if isinstance(member, property):
            assert isinstance(found, (property, type(Assignment.student_files))), \
                f"{implementation.__name__}.{name} must be a property, as in Course"
        elif callable(member):
            assert inspect.isfunction(found), f"{implementation.__name__}.{name} must be a method, as in Course"


@pytest.mark.parametrize("name", course_assignments())
def test_every_course_assignment_answers_what_the_grader_asks(name):
    course = load_assignment(name)
    assert isinstance(course, Course)
    assert isinstance(course.notebook_name, str) and course.notebook_name.endswith(".ipynb")
    assert course.student_notebook_path.name == course.notebook_name
    assert isinstance(course.handouts(), dict) and isinstance(course.name, str)
