"""A class of six by_hand students, their results built directly and their notebooks real, in a batch's folder."""
from __future__ import annotations

import pytest

from grader.course.assignment import load_assignment
from grader.reports import regenerate

from .builders import class_notebooks, class_results, write_out_dir

USER_IDS = {"alice": "1001", "bob": "1002", "carol": "1003", "dave": "1004", "erin": "1005", "frank": "1006"}


@pytest.fixture(scope="session")
def by_hand_course():
    return load_assignment("by_hand")


@pytest.fixture(scope="session")
def class_out(tmp_path_factory):
    return write_out_dir(tmp_path_factory.mktemp("class"), class_results(), class_notebooks(), USER_IDS)


@pytest.fixture(scope="session")
def class_report(class_out, by_hand_course, tmp_path_factory):
    """The reports of the class, written apart from its results (``--to``)."""
    to = tmp_path_factory.mktemp("class-report")
    return regenerate(class_out, by_hand_course, to=to, canvas_column="Convolution by hand (4242)")
