"""Every student's row: the class list matched to the download by id, else by a name only one student has; a
group's members each with the group's points; a reviewer's change counted before the late penalty."""
from __future__ import annotations

import json

from grader.intake.classlist import ClassList, Enrolled
from grader.reports.late import LatePolicy, policy_from
from grader.reports.roster import load_roster
from grader.reports.standing import (
    GRADED,
    NO_SUBMISSION,
    NOT_GRADABLE,
    WRONG_FILE,
    class_standing,
    late_summary,
    name_forms,
)
from grader.reviews.store import PartReview, ReviewStore, fingerprint

from .builders import by_hand_result, intake_entry


def write_intake(out, submissions, unmatched=(), layout="Canvas download"):
    out.mkdir(parents=True, exist_ok=True)
    (out / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": layout,
                                                      "submissions": list(submissions),
                                                      "unmatched": list(unmatched), "superseded": []}))
    return load_roster(out)


def test_canvas_s_file_names_match_its_export_s_names_and_a_pdf_beside_a_notebook_is_no_row(tmp_path,
                                                                                          by_hand_course):
    roster = write_intake(tmp_path, [intake_entry("k1", None), {**intake_entry("k2", None), "late": True}],
                          [{"file": "k1smith_0_9_scan.pdf", "reason": "not a notebook (.pdf)", "student": "k1smith",
                            "status": "wrong file"},
                           {"file": "zoe_0_9_x.pdf", "reason": "not a notebook (.pdf)", "student": "zoe",
                            "user_id": "555", "status": "wrong file"}])
    listed = ClassList("CSV class list", (Enrolled("Smith, K1"), Enrolled("K2 Smith"), Enrolled("Uma Vo")))
    results = {"k1": by_hand_result("k1"), "k2": by_hand_result("k2", quiz=3)}
    rows = class_standing(tmp_path, by_hand_course, results, roster, class_list=listed,
                          policy=policy_from(None, per_day=25)).rows
    assert [(r.student, r.key, r.status, r.raw, r.penalty, r.final) for r in rows] == [
        ("Smith, K1", "k1", GRADED, 15, 0, 15), ("K2 Smith", "k2", GRADED, 13, 3.25, 9.75),
        ("Uma Vo", "", NO_SUBMISSION, None, 0, None), ("zoe", "", WRONG_FILE, None, 0, None)]
    assert rows[3].reason == "zoe_0_9_x.pdf: not a notebook (.pdf); not on the class list"
    assert late_summary(rows[1]).endswith("13 points, late penalty 3.25, final 9.75.")
    assert name_forms("Smith, Jane") == {"janesmith", "smithjane"} == name_forms("Jane Smith")


def test_a_group_s_members_each_get_the_group_s_points_and_their_own_extension(tmp_path, by_hand_course):
    members = [{"name": "Ana Lee", "sid": "2001", "email": "ana@uni.example"},
               {"name": "Bo Chan", "sid": "", "email": "bo@uni.example"}]
    roster = write_intake(tmp_path, [{"key": "ana", "student": "Ana Lee & Bo Chan", "user_id": "2001",
                                      "file": "submission_7", "members": members,
                                      "submitted_at": "2026-03-02T12:00:00+00:00"}], layout="Gradescope export")
    listed = ClassList("Gradescope roster", (Enrolled("Lee, Ana", sis_user_id="2001"),
                                             Enrolled("Bo Chan", login="BO@uni.example")))
    policy = policy_from(None, due="2026-03-01 23:59", per_day=10, extensions={"bo@uni.example": "1d"})
    rows = class_standing(tmp_path, by_hand_course, {"ana": by_hand_result("ana")}, roster, class_list=listed,
                          policy=policy).rows
    assert [(r.student, r.key, r.sis_user_id, r.final, r.late.extension != "") for r in rows] == [
        ("Bo Chan", "ana", "", 15, True), ("Lee, Ana", "ana", "2001", 13.5, False)]


def test_a_reviewer_s_points_are_counted_before_the_late_penalty(tmp_path, by_hand_course):
    roster = write_intake(tmp_path, [{**intake_entry("k1", "101"), "notes": ["Canvas marks it LATE"]}])
    result = by_hand_result("k1", pool=False)
    check = result.tasks[1].checks[0]
    ReviewStore(tmp_path).save("k1", 0, [PartReview("pool", "check:0", check.title, points=2.0, reason="partly",
                                                    fingerprint=fingerprint(check))], "", False, "ta")
    row = class_standing(tmp_path, by_hand_course, {"k1": result}, roster,
                         policy=policy_from(None, per_day=10)).rows[0]
    assert (row.raw, row.review, row.penalty, row.final, row.late.marked_late) == (9, 2, 1.1, 9.9, True)
    assert row.max_points == 15


def test_a_submission_without_a_readable_result_is_not_gradable_with_why(tmp_path, by_hand_course):
    roster = write_intake(tmp_path, [intake_entry("k1", "101"), intake_entry("k2", "102")])
    standing = class_standing(tmp_path, by_hand_course, {"k1": by_hand_result("k1")}, roster,
                              {"k2": "its result cannot be read (JSONDecodeError)"}, policy=LatePolicy())
    assert [(r.key, r.status, r.reason, r.final) for r in standing.rows] == [
        ("k1", GRADED, "", 15), ("k2", NOT_GRADABLE, "its result cannot be read (JSONDecodeError)", None)]
    assert any("left blank in canvas.csv" in w and "k2smith" in w for w in standing.warnings)


def test_without_a_class_list_everyone_the_download_has_is_listed_wrong_files_too(tmp_path, by_hand_course):
    roster = write_intake(tmp_path, [intake_entry("k1", "101")],
                          [{"file": "gus_107_9_essay.docx", "reason": "not a notebook (.docx)", "student": "gus",
                            "user_id": "107", "late": True, "status": "wrong file"},
                           {"file": "readme.txt", "reason": "the name does not follow Canvas's pattern"}])
    rows = class_standing(tmp_path, by_hand_course, {"k1": by_hand_result("k1")}, roster, policy=LatePolicy()).rows
    assert [(r.student, r.canvas_id, r.status, r.file, r.late.marked_late, r.final) for r in rows] == [
        ("k1smith", "101", GRADED, "k1smith_101_9_by_hand.ipynb", False, 15),
        ("gus", "107", WRONG_FILE, "gus_107_9_essay.docx", True, None)]
