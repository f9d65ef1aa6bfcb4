"""The instructor's term on real downloads of the tiny assignment: every student of the class list on every output
(a PDF, an empty notebook, nothing handed in), late work and its penalty, Gradescope's tests failing as failures and
the form of a quiz answer shown at once, one student graded again with a reviewer's override kept."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from grader.results import SubmissionResult
from grader.reviews.store import PartReview, ReviewStore, fingerprint

from . import batch_downloads as dl
from .conftest import run_cli

pytestmark = pytest.mark.slow
CANVAS_EXPORT = """Student,ID,SIS User ID,SIS Login ID,Section,tiny (55)
    Points Possible,,,,,4.00
"Adams, Ana",101,S101,ana@uni.example,Section A,
"Baker, Ben",102,S102,ben@uni.example,Section A,
"Dunn, Dan",104,S104,dan@uni.example,Section A,
"Evans, Eve",105,S105,eve@uni.example,Section B,
"Ford, Fay",106,S106,fay@uni.example,Section B,
"Grange, Gus",107,S107,gus@uni.example,Section B,
"Hill, Hana",108,S108,hana@uni.example,Section B,
"Student, Test",999,,,Section A,
"""


def batch(source: Path, assignment, out: Path, *options: str):
    done = run_cli("batch", str(source), "-a", str(assignment.solution_path), "--out", str(out), "--sandbox",
                   "bubblewrap", *options)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def by(rows: list[dict[str, str]], column: str) -> dict[str, dict[str, str]]:
    return {row[column]: row for row in rows}


@pytest.fixture(scope="module")
def canvas_term(tiny_assignment, tmp_path_factory):
    """A Canvas download: right, wrong (with a choice that is no option), empty, resubmitted, LATE, a PDF; Canvas's
    gradebook export as the class list (Hana handed in nothing; Canvas's test student); 10% a day late."""
    folder = tmp_path_factory.mktemp("canvas-term")
    members = {
        "adamsana_101_9001_tiny.ipynb": dl.right(tiny_assignment),
        "bakerben_102_9002_tiny.ipynb": dl.with_answers(tiny_assignment, "41", '"c"'),
        "dunndan_104_9004_tiny.ipynb": b"",
        "evanseve_105_9005_tiny.ipynb": dl.with_answers(tiny_assignment, "41"),
        "evanseve_105_9105_tiny-1.ipynb": dl.right(tiny_assignment),
        "fordfay_LATE_106_9006_tiny.ipynb": dl.right(tiny_assignment),
        "grangegus_107_9007_tiny.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    }
    download = dl.write_canvas_zip(folder / "submissions.zip", members)
    roster = folder / "Grades-tiny.csv"
    roster.write_text(CANVAS_EXPORT, encoding="utf-8-sig")
    out = folder / "out"
    done = batch(download, tiny_assignment, out, "--workers", "2", "--roster", str(roster), "--late-per-day", "10")
    return out, done


def test_every_student_of_the_class_list_is_on_every_output(canvas_term):
    out, done = canvas_term
    gradebook = by(rows_of(out / "gradebook.csv"), "student")
    assert sorted(gradebook) == ["Adams, Ana", "Baker, Ben", "Dunn, Dan", "Evans, Eve", "Ford, Fay", "Grange, Gus",
                                 "Hill, Hana"]  # Canvas's test student left out
    assert {name: row["status"] for name, row in gradebook.items()} == {
        "Adams, Ana": "graded", "Baker, Ben": "graded", "Dunn, Dan": "not gradable", "Evans, Eve": "graded",
        "Ford, Fay": "graded", "Grange, Gus": "wrong file", "Hill, Hana": "no submission"}
    assert "empty" in gradebook["Dunn, Dan"]["reason"]
    assert "not a notebook (.pdf)" in gradebook["Grange, Gus"]["reason"]
    assert gradebook["Grange, Gus"]["file"] == "grangegus_107_9007_tiny.pdf"
    assert gradebook["Evans, Eve"]["file"] == "evanseve_105_9105_tiny-1.ipynb"  # the resubmission counts
    assert (gradebook["Adams, Ana"]["user_id"], gradebook["Adams, Ana"]["sis_user_id"]) == ("101", "S101")
    canvas = list(csv.reader((out / "canvas.csv").open(encoding="utf-8")))
    assert canvas[0][-1] == "tiny" and canvas[1] == ["Points Possible", "", "", "", "", "4"]
    assert {row[0]: (row[1], row[4], row[5]) for row in canvas[2:]} == {
        "Adams, Ana": ("101", "Section A", "4"), "Baker, Ben": ("102", "Section A", "2"),
        "Dunn, Dan": ("104", "Section A", ""), "Evans, Eve": ("105", "Section B", "4"),
        "Ford, Fay": ("106", "Section B", "3.6"), "Grange, Gus": ("107", "Section B", ""),
        "Hill, Hana": ("108", "Section B", "")}  # nothing gradable: blank, never a silent 0
    assert "students: 4 graded, 1 not gradable, 1 wrong file, 1 no submission" in done.stdout
    assert (out / "roster.json").is_file() and (out / "late_policy.json").is_file()
    report = (out / "report.html").read_text()
    assert all(name in report for name in gradebook) and "Student, Test" not in report


def test_canvas_s_late_mark_costs_the_policy_s_penalty_on_every_output(canvas_term):
    out, _ = canvas_term
    fay = by(rows_of(out / "gradebook.csv"), "student")["Ford, Fay"]
    assert (fay["points"], fay["late_penalty"], fay["final_points"]) == ("4", "0.4", "3.6")
    assert fay["late"].startswith("late: marked LATE by the download") and "10%" in fay["late"]
    feedback = (out / "feedback" / "fordfay_106.txt").read_text()
    assert feedback.splitlines()[1] == ("Handed in late (marked LATE by the download, which gives no time: counted"
                                        " as 1 day: 10% (10% a day)): 4 points, late penalty 0.4, final 3.6.")
    gradescope = json.loads((out / "gradescope" / "fordfay_106" / "results.json").read_text())
    assert gradescope["score"] == 3.6 and gradescope["output"].startswith("Handed in late")
    assert "late penalty" not in (out / "feedback" / "adamsana_101.txt").read_text()


def test_gradescope_s_tests_fail_as_failures_and_a_quiz_answer_s_form_is_shown_at_once(canvas_term):
    """Ben's answer 41 is wrong (hidden), his choice "c" no option: its form is public (his check() says it)."""
    out, _ = canvas_term
    results = json.loads((out / "gradescope" / "bakerben_102" / "results.json").read_text())
    tests = {t["name"]: t for t in results["tests"]}
    choice = tests["Task 3: a choice"]
    assert choice["visibility"] == "visible" and choice["status"] == "failed" and choice["max_score"] == 0
    assert "there is no option c: choose a or b" in choice["output"]
    assert "not the right answer" not in json.dumps([t for t in results["tests"] if t["visibility"] == "visible"])
    assert "status" not in tests["Task 1: a number"]  # nothing of it shown before the due date: no verdict
    assert tests["Task 1: a number: hidden checks"]["status"] == "failed"
    assert tests["Task 1: a number: hidden checks"]["visibility"] == "after_due_date"
    assert tests["Task 2: an array"]["status"] == "passed"
    for test in results["tests"]:  # Gradescope's specification: these fields, of these types
        assert set(test) <= {"name", "score", "max_score", "status", "output", "visibility", "tags", "number",
                             "output_format", "name_format"}
        assert test["status"] in ("passed", "failed") if "status" in test else True
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert isinstance(results["score"], (int, float)) and results["visibility"] == "visible"
    dan = json.loads((out / "gradescope" / "dunndan_104" / "results.json").read_text())
    assert dan["tests"] and all(t["status"] == "failed" for t in dan["tests"])  # an unreadable notebook's tasks


def test_one_student_graded_again_keeps_the_reviews_and_remakes_every_output(canvas_term, tiny_assignment, tmp_path):
    out, _ = canvas_term
    ben = SubmissionResult.from_dict(json.loads((out / "results" / "bakerben_102.json").read_text()))
    number = ben.tasks[0].checks[0]
    ReviewStore(out).save("bakerben_102", 0, [PartReview("numbers", "check:0", number.title, points=1.0,
                                                         reason="41 is right for the question as printed",
                                                         fingerprint=fingerprint(number))],
                          "Well argued.", False, "ta@uni.example")
    others = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json") if p.stem != "bakerben_102"}
    download = next(out.parent.glob("submissions.zip"))
    done = batch(download, tiny_assignment, out, "--only", "bakerben_102")
    assert "graded 1, reused 4 earlier results" in done.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")
            if p.stem != "bakerben_102"} == others
    assert (out / "reviews.sqlite").is_file() and (out / "reviews.backup.sqlite").is_file()
    row = by(rows_of(out / "gradebook.csv"), "student")["Baker, Ben"]
    assert (row["points"], row["review"], row["final_points"], row["numbers"]) == ("2", "1", "3", "1")
    canvas = {r[0]: r[5] for r in csv.reader((out / "canvas.csv").open(encoding="utf-8"))}
    assert canvas["Baker, Ben"] == "3" and canvas["Ford, Fay"] == "3.6" and canvas["Hill, Hana"] == ""
    assert "41 is right for the question as printed" in (out / "feedback" / "bakerben_102.txt").read_text()
    assert json.loads((out / "gradescope" / "bakerben_102" / "results.json").read_text())["score"] == 3
    by_name = batch(download, tiny_assignment, out, "--only", "BakerBen")  # a student's name does too
    assert "graded 1, reused 4 earlier results" in by_name.stdout
    wrong = run_cli("batch", str(download), "-a", str(tiny_assignment.solution_path), "--out", str(out),
                    "--sandbox", "bubblewrap", "--only", "nobody")
    assert wrong.returncode == 2 and "--only nobody: no submission" in wrong.stderr


def test_report_to_another_folder_writes_the_text_feedback_too(canvas_term, tiny_assignment, tmp_path):
    out, _ = canvas_term
    done = run_cli("report", str(out), "-a", str(tiny_assignment.solution_path), "--to", str(tmp_path / "copy"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "copy" / "feedback").glob("*.txt")) == [
        "adamsana_101.txt", "bakerben_102.txt", "dunndan_104.txt", "evanseve_105.txt", "fordfay_106.txt"]
    assert (tmp_path / "copy" / "feedback" / "fordfay_106.txt").read_text() == \
        (out / "feedback" / "fordfay_106.txt").read_text()


@pytest.fixture(scope="module")
def gradescope_term(tiny_assignment, tmp_path_factory):
    """Gradescope's export: on time, 30 hours late, a group, 9 days late, a folder with a PDF only; a due date,
    15 minutes' grace, 10% a day, zero after a week, an extension; Gradescope's roster as the class list."""
    folder = tmp_path_factory.mktemp("gradescope-term")
    right = {"tiny.ipynb": dl.right(tiny_assignment)}
    members = dl.gradescope_export(tiny_assignment, {
        "submission_501": ([{"name": "Ana Lee", "sid": "2001", "email": "ana@uni.example"}],
                           "2026-03-01 22:00:00.000000000 -08:00", right),
        "submission_502": ([{"name": "Bo Chan", "sid": "2002", "email": "bo@uni.example"}],
                           "2026-03-03 14:30:00.000000000 -08:00", right),
        "submission_503": ([{"name": "Cy Dee", "sid": "2003", "email": "cy@uni.example"},
                            {"name": "Di Eng", "sid": "2004", "email": "di@uni.example"}],
                           "2026-03-02 00:10:00.000000000 -08:00", right),
        "submission_504": ([{"name": "Ed Fox", "sid": "2005", "email": "ed@uni.example"}],
                           "2026-03-11 09:00:00.000000000 -08:00", right),
        "submission_505": ([{"name": "Flo Gu", "sid": "2006", "email": "flo@uni.example"}],
                           "2026-03-02 10:00:00.000000000 -08:00", {"answers.pdf": b"%PDF-1.4\n"}),
    })
    download = dl.write_canvas_zip(folder / "export.zip", members)
    roster = folder / "roster.csv"
    roster.write_text("First Name,Last Name,SID,Email,Role,Sections\nAna,Lee,2001,ana@uni.example,Student,\n"
                      "Bo,Chan,2002,bo@uni.example,Student,\nCy,Dee,2003,cy@uni.example,Student,\n"
                      "Di,Eng,2004,di@uni.example,Student,\nEd,Fox,2005,ed@uni.example,Student,\n"
                      "Flo,Gu,2006,flo@uni.example,Student,\nGil,Ho,2007,gil@uni.example,Student,\n"
                      "Tia,Ta,,tia@uni.example,TA,\n")
    policy = folder / "late.yml"
    policy.write_text("due: 2026-03-01 23:59\ntimezone: America/Los_Angeles\ngrace: 15m\nper_day: 10\n"
                      "zero_after: 7d\nextensions:\n  cy@uni.example: 1d\n")
    out = folder / "out"
    done = batch(download, tiny_assignment, out, "--workers", "2", "--roster", str(roster), "--late-policy",
                 str(policy))
    return out, done


def test_gradescope_s_times_the_due_date_and_extensions_give_each_student_s_penalty(gradescope_term):
    out, _ = gradescope_term
    rows = by(rows_of(out / "gradebook.csv"), "student")
    assert {name: (row["status"], row["points"], row["late_penalty"], row["final_points"])
            for name, row in rows.items()} == {
        "Ana Lee": ("graded", "4", "", "4"),  # on time
        "Bo Chan": ("graded", "4", "0.8", "3.2"),  # 38.5 hours late: 2 days, 20%
        "Cy Dee": ("graded", "4", "", "4"),  # 11 minutes late, within the grace period
        "Di Eng": ("graded", "4", "", "4"),  # the group's submission: Cy's extension is not Di's, but the grace is
        "Ed Fox": ("graded", "4", "4", "0"),  # more than a week late: zero
        "Flo Gu": ("wrong file", "", "", ""),
        "Gil Ho": ("no submission", "", "", "")}  # (the TA is no student)
    assert rows["Bo Chan"]["submitted_at"] == "2026-03-03T14:30:00-08:00"
    assert rows["Bo Chan"]["due"] == "2026-03-01T23:59:00-08:00"
    assert rows["Bo Chan"]["late"] == "late: 1.6 days late: 20% (10% a day)"
    assert rows["Ed Fox"]["late"].endswith("more than 7 days: zero")
    assert "no notebook" in rows["Flo Gu"]["reason"]
    canvas = {r[0]: (r[2], r[3], r[5]) for r in csv.reader((out / "canvas.csv").open(encoding="utf-8"))}
    assert canvas["Bo Chan"] == ("2002", "bo@uni.example", "3.2") and canvas["Gil Ho"][2] == ""
    bo = json.loads((out / "gradescope" / "Bo_Chan_2002" / "results.json").read_text())
    assert bo["score"] == 3.2 and "late penalty 0.8" in bo["output"]
    assert os.path.getsize(out / "submissions.json") > 0
