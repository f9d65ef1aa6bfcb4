"""The Canvas import CSV in the layout of Canvas's gradebook export, and the students it names."""
from __future__ import annotations

import csv
import json

import pytest

from grader.errors import ReportError
from grader.reports.canvas import canvas_rows, column_has_id, write_canvas_csv
from grader.reports.roster import Roster, load_roster

from .builders import by_hand_result, intake_entry


def test_the_rows_follow_canvas_s_layout(tmp_path):
    (tmp_path / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "unmatched": [], "superseded": [],
                                                           "submissions": [intake_entry("k1", "123"),
                                                                           intake_entry("k2", None)]}))
    results = {"k1": by_hand_result("k1", quiz=4), "k2": by_hand_result("k2", pool=False)}
    write_canvas_csv(results, load_roster(tmp_path), "Convolution (4242)", tmp_path / "canvas.csv")
    with (tmp_path / "canvas.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Convolution (4242)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "15"]
    assert rows[2:] == [["k1smith", "123", "", "", "", "14"], ["k2smith", "", "", "", "", "9"]]


def test_without_the_intake_s_list_a_student_is_the_result_s_name(tmp_path):
    roster = load_roster(tmp_path)
    assert not roster.from_intake
    assert canvas_rows({"smith_jane": by_hand_result("x")}, roster, "by_hand")[2] == ["smith_jane", "", "", "", "", "15"]


def test_an_unreadable_list_of_students_is_an_error(tmp_path):
    (tmp_path / "submissions.json").write_text('{"submissions": [{"student": "no key"}]}')
    with pytest.raises(ReportError, match="submissions.json cannot be read"):
        load_roster(tmp_path)


def test_a_column_names_its_assignment_id_as_canvas_does():
    assert column_has_id("Convolution by hand (4242)")
    assert not column_has_id("by_hand") and not column_has_id("Lab (draft)")
    assert Roster().student("x").name == "x"
