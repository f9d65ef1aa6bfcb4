"""The class list an instructor gives with --roster: Canvas's gradebook export, Gradescope's roster, a plain CSV."""
from __future__ import annotations

import pytest

from grader.errors import IntakeError
from grader.intake.classlist import (
    CANVAS,
    GRADESCOPE,
    PLAIN,
    Enrolled,
    load_class_list,
    read_class_list,
    save_class_list,
)

CANVAS_EXPORT = """Student,ID,SIS User ID,SIS Login ID,Section,Lab 1 (4242),Current Score
    Points Possible,,,,,15.00,
"Smith, Jane",1201,S1201,jsmith,Section 01,12.00,80
"Doe, John",1202,,jdoe,Section 02,,
"Student, Test",1999,,,Section 01,,
"""


def test_canvas_s_gradebook_export_gives_canvas_s_user_ids(tmp_path):
    path = tmp_path / "2026-12-07T0100_Grades-Course.csv"
    path.write_bytes(CANVAS_EXPORT.encode("utf-8-sig"))  # Canvas writes a byte order mark
    read = read_class_list(path)
    assert read.source == CANVAS
    assert read.students == (Enrolled("Smith, Jane", "1201", "S1201", "jsmith", "Section 01", "1201"),
                             Enrolled("Doe, John", "1202", "", "jdoe", "Section 02", "1202"))
    assert read.left_out == ("row 5: Canvas's test student",)


def test_gradescope_s_roster_keeps_its_students_only(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("First Name,Last Name,SID,Email,Role,Sections\nAna,Lee,2001,ana@uni.example,Student,A\n"
                    "Bo,Chan,,bo@uni.example,Student,\nTia,Ta,,tia@uni.example,TA,\n")
    read = read_class_list(path)
    assert read.source == GRADESCOPE
    assert read.students == (Enrolled("Ana Lee", "", "2001", "ana@uni.example", "A"),
                             Enrolled("Bo Chan", "", "", "bo@uni.example", ""))
    assert read.left_out == ("row 4: Tia Ta (TA): not a student",)


def test_a_plain_csv_with_a_header_semicolons_and_a_windows_encoding(tmp_path):
    path = tmp_path / "class.csv"
    path.write_bytes("Name;Student ID;E-mail\nJosé Núñez;77;jose@uni.example\nAna;78;\nAna;78;\n".encode("cp1252"))
    read = read_class_list(path)
    assert read.source == PLAIN
    assert [(s.name, s.sis_user_id, s.login) for s in read.students] == [("José Núñez", "77", "jose@uni.example"),
                                                                         ("Ana", "78", "")]
    assert read.left_out == ("row 4: Ana twice in the roster: the first row kept",)
    save_class_list(read, tmp_path)
    assert load_class_list(tmp_path) == read and load_class_list(tmp_path / "none") is None


@pytest.mark.parametrize("text, said", [
    ("", "is empty"),
    ("id,score\n1,2\n", "no column of names in its first row (id, score)"),
    ("Student,ID,SIS User ID\n    Points Possible,,\n", "lists no student"),
])
def test_a_file_that_is_no_class_list_is_refused_with_why(tmp_path, text, said):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(IntakeError, match=said.replace("(", r"\(").replace(")", r"\)")):
        read_class_list(path)


def test_a_damaged_kept_class_list_says_to_give_it_again(tmp_path):
    (tmp_path / "roster.json").write_text('{"source": "x", "students": [{"name": 5}]}')
    with pytest.raises(IntakeError, match="give --roster again"):
        load_class_list(tmp_path)
