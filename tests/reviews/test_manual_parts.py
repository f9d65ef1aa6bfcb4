"""Manual parts in an assignment's spec: written as checks of kind ``manual``, kept apart from the machine's."""
from __future__ import annotations

import pytest

from grader.errors import SpecError
from grader.spec import AssignmentSpec, ManualPart, TaskSpec

TASK = {"name": "loss", "title": "Task 4", "exports": {"history": "history"},
        "checks": [{"kind": "history_keys", "evidence": "history", "points": 1, "keys": ["loss"]},
                   {"kind": "manual", "points": 2, "title": "what the loss curve says", "guide": "overfitting"}]}


def test_a_manual_part_is_apart_from_the_machine_checks():
    task = TaskSpec.from_dict(TASK)
    assert [c.kind for c in task.checks] == ["history_keys"]
    assert task.manual == (ManualPart("what the loss curve says", 2.0, "overfitting"),)
    assert task.max_points == 1 and task.manual_points == 2
    assert AssignmentSpec.from_dict({"name": "a", "tasks": [TASK]}).manual_points == 2
    assert TaskSpec.from_dict(task.to_dict()) == task  # travels as JSON to the workers
    assert task.public_view().manual == ()  # nothing of it reaches the students' checks


@pytest.mark.parametrize("manual", [{"kind": "manual", "points": 2}, {"kind": "manual", "title": "x"},
                                    {"kind": "manual", "title": "x", "points": 1, "expected": "b"}])
def test_a_manual_part_needs_a_title_and_points_and_nothing_else(manual):
    with pytest.raises(SpecError, match="manual part"):
        TaskSpec.from_dict({**TASK, "checks": [manual]})
