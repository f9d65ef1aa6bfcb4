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
    (tmp_path / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": "Canvas download",
                                                           "unmatched": [], "superseded": [],
                                                           "submissions": [intake_entry("k1", "123"),
                                                                           intake_entry("k2", None)]}))
    results = {"k1": by_hand_result("k1", quiz=4), "k2": by_hand_result("k2", pool=False)}
    write_canvas_csv(results, load_roster(tmp_path), "Convolution (4242)", 15, tmp_path / "canvas.csv")
    with (tmp_path / "canvas.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Convolution (4242)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "15"]
    assert rows[2:] == [["k1smith", "123", "", "", "", "14"], ["k2smith", "", "", "", "", "9"]]


def test_without_the_intake_s_list_a_student_is_the_result_s_name(tmp_path):
    roster = load_roster(tmp_path)
    assert not roster.from_intake
    assert canvas_rows({"smith_jane": by_hand_result("x")}, roster, "by_hand", 15)[2] == [
        "smith_jane", "", "", "", "", "15"]


def test_a_gradescope_export_s_ids_are_sis_ids_and_each_group_member_gets_a_row(tmp_path):
    """Canvas reads ID as its own user id: a Gradescope student number there could be another student's."""
    members = [{"name": "Ana Lee", "sid": "20231234", "email": "ana@uni.example"},
               {"name": "Bo Chan", "sid": "", "email": "bo@uni.example"}]
    entries = [{"key": "ana", "student": "Ana Lee & Bo Chan", "user_id": "20231234", "submission_id": "77",
                "file": "submission_77/by_hand.ipynb", "members": members},
               {"key": "cy", "student": "Cy Dee", "user_id": "cy@uni.example", "submission_id": "78",
                "file": "submission_78/by_hand.ipynb", "members": [{"name": "Cy Dee", "sid": "", "email": "cy@uni.example"}]}]
    (tmp_path / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": "Gradescope export",
                                                           "submissions": entries}))
    rows = canvas_rows({"ana": by_hand_result("ana", quiz=4), "cy": by_hand_result("cy")}, load_roster(tmp_path),
                       "Lab (42)", 15)
    assert rows[2:] == [["Ana Lee", "", "20231234", "ana@uni.example", "", "14"],
                        ["Bo Chan", "", "", "bo@uni.example", "", "14"],
                        ["Cy Dee", "", "", "cy@uni.example", "", "15"]]


def test_names_that_a_spreadsheet_would_run_are_written_as_text(tmp_path):
    names = {"k1": '=HYPERLINK("http://evil.example","Click")', "k2": "+cmd|' -C calc'!A0", "k3": "@SUM(1+1)",
             "k4": "-2+3", "k5": "Ana"}
    entries = [{**intake_entry(k, str(100 + i)), "student": name} for i, (k, name) in enumerate(names.items())]
    (tmp_path / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": "Canvas download",
                                                           "submissions": entries}))
    results = {k: by_hand_result(k) for k in names}
    write_canvas_csv(results, load_roster(tmp_path), "Lab (42)", 15, tmp_path / "canvas.csv")
    with (tmp_path / "canvas.csv").open(newline="") as handle:
        written = {row[1]: row[0] for row in list(csv.reader(handle))[2:]}
    assert written == {"100": "'" + names["k1"], "101": "'" + names["k2"], "102": "'@SUM(1+1)", "103": "'-2+3",
                       "104": "Ana"}
    assert all(not row[0].startswith(("=", "+", "@", "-")) for row in csv.reader(
        (tmp_path / "canvas.csv").read_text().splitlines()[2:]))


def test_an_unreadable_list_of_students_is_an_error(tmp_path):
    (tmp_path / "submissions.json").write_text('{"submissions": [{"student": "no key"}]}')
    with pytest.raises(ReportError, match="submissions.json cannot be read"):
        load_roster(tmp_path)


def test_a_column_names_its_assignment_id_as_canvas_does():
    assert column_has_id("Convolution by hand (4242)")
    assert not column_has_id("by_hand") and not column_has_id("Lab (draft)")
    assert Roster().student("x").name == "x"
