"""The Canvas import CSV in the layout of Canvas's gradebook export, and the students it names."""
from __future__ import annotations

import csv
import json

import pytest

from grader.errors import ReportError
from grader.intake.classlist import ClassList, Enrolled
from grader.reports.canvas import canvas_rows, column_has_id, write_canvas_csv
from grader.reports.roster import Roster, load_roster
from grader.reports.standing import class_standing

from .builders import GRADER_FAILED, by_hand_result, intake_entry


@pytest.fixture
def standing_of(by_hand_course):
    def make(out, results, **kwargs):
        return class_standing(out, by_hand_course, results, load_roster(out), **kwargs)

    return make


def test_the_rows_follow_canvas_s_layout(tmp_path, standing_of):
    (tmp_path / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": "Canvas download",
                                                           "unmatched": [], "superseded": [],
                                                           "submissions": [intake_entry("k1", "123"),
                                                                           intake_entry("k2", None)]}))
    results = {"k1": by_hand_result("k1", quiz=4), "k2": by_hand_result("k2", pool=False)}
    write_canvas_csv(standing_of(tmp_path, results), "Convolution (4242)", tmp_path / "canvas.csv")
    with (tmp_path / "canvas.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Convolution (4242)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "15"]
    assert rows[2:] == [["k1smith", "123", "", "", "", "14"], ["k2smith", "", "", "", "", "9"]]


def test_without_the_intake_s_list_a_student_is_the_result_s_name(tmp_path, standing_of):
    roster = load_roster(tmp_path)
    assert not roster.from_intake
    assert canvas_rows(standing_of(tmp_path, {"smith_jane": by_hand_result("x")}), "by_hand")[2] == [
        "smith_jane", "", "", "", "", "15"]


def test_a_gradescope_export_s_ids_are_sis_ids_and_each_group_member_gets_a_row(tmp_path, standing_of):
    """Canvas reads ID as its own user id: a Gradescope student number there could be another student's."""
    members = [{"name": "Ana Lee", "sid": "20231234", "email": "ana@uni.example"},
               {"name": "Bo Chan", "sid": "", "email": "bo@uni.example"}]
    entries = [{"key": "ana", "student": "Ana Lee & Bo Chan", "user_id": "20231234", "submission_id": "77",
                "file": "submission_77/by_hand.ipynb", "members": members},
               {"key": "cy", "student": "Cy Dee", "user_id": "cy@uni.example", "submission_id": "78",
                "file": "submission_78/by_hand.ipynb", "members": [{"name": "Cy Dee", "sid": "", "email": "cy@uni.example"}]}]
    (tmp_path / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": "Gradescope export",
                                                           "submissions": entries}))
    rows = canvas_rows(standing_of(tmp_path, {"ana": by_hand_result("ana", quiz=4), "cy": by_hand_result("cy")}),
                       "Lab (42)")
    assert rows[2:] == [["Ana Lee", "", "20231234", "ana@uni.example", "", "14"],
                        ["Bo Chan", "", "", "bo@uni.example", "", "14"],
                        ["Cy Dee", "", "", "cy@uni.example", "", "15"]]


def test_names_that_a_spreadsheet_would_run_are_written_as_text(tmp_path, standing_of):
    names = {"k1": '=HYPERLINK("http://evil.example","Click")', "k2": "+cmd|' -C calc'!A0", "k3": "@SUM(1+1)",
             "k4": "-2+3", "k5": "Ana"}
    entries = [{**intake_entry(k, str(100 + i)), "student": name} for i, (k, name) in enumerate(names.items())]
    (tmp_path / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": "Canvas download",
                                                           "submissions": entries}))
    results = {k: by_hand_result(k) for k in names}
    write_canvas_csv(standing_of(tmp_path, results), "Lab (42)", tmp_path / "canvas.csv")
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


def test_every_student_of_the_class_list_has_a_row_and_nothing_gradable_is_left_blank(tmp_path, standing_of):
    """Canvas's importer leaves an empty cell as it was: a wrong file, a notebook that could not be graded and no
    submission at all are blank (the report says why), never a silent 0; a student who earned 0 gets 0."""
    entries = [intake_entry("k1", "101"), intake_entry("k2", "102"), intake_entry("k3", "103")]
    unmatched = [{"file": "k4smith_104_9_notes.pdf", "reason": "not a notebook (.pdf)", "student": "k4smith",
                  "user_id": "104", "status": "wrong file"}]
    (tmp_path / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": "Canvas download",
                                                           "submissions": entries, "unmatched": unmatched}))
    results = {"k1": by_hand_result("k1"), "k2": by_hand_result("k2", error=GRADER_FAILED),
               "k3": by_hand_result("k3", convolve=False, pool=False, quiz=0)}
    class_list = ClassList("Canvas gradebook export", tuple(
        Enrolled(f"Smith, K{n}", user_id=str(100 + n), canvas_id=str(100 + n), section="A") for n in range(1, 6)))
    rows = canvas_rows(standing_of(tmp_path, results, class_list=class_list), "Lab (42)")
    assert rows[2:] == [["Smith, K1", "101", "", "", "A", "15"], ["Smith, K2", "102", "", "", "A", ""],
                        ["Smith, K3", "103", "", "", "A", "0"], ["Smith, K4", "104", "", "", "A", ""],
                        ["Smith, K5", "105", "", "", "A", ""]]
