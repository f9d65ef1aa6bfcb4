"""Each layout instructors download, staged as one notebook per student, with who is who and what was left out."""
from __future__ import annotations

import json
import os
import zipfile

import pytest

from grader.errors import IntakeError
from grader.intake.stage import intake, read_manifest

from .conftest import notebook_bytes, write_zip

NOTEBOOK = "fashion_cnn.ipynb"


def staged(out):
    return sorted(p.name for p in (out / "submissions").glob("*.ipynb"))


def by_key(manifest):
    return {s.key: s for s in manifest.submissions}


def test_canvas_download_latest_resubmission_counts_and_others_are_listed(tmp_path):
    bundle = write_zip(tmp_path / "submissions.zip", {
        "smithjane_1201_5001_fashion_cnn.ipynb": notebook_bytes("first"),
        "smithjane_1201_5077_fashion_cnn-1.ipynb": notebook_bytes("second"),
        "smithjane_1201_5090_fashion_cnn-2.ipynb": notebook_bytes("third"),
        "doejohn_LATE_1202_5002_fashion_cnn.ipynb": notebook_bytes("john"),
        "leemin_1203_5003_notes.pdf": b"%PDF-1.4",
        "readme.txt": b"from canvas",
    })
    manifest = intake(bundle, tmp_path / "out", "fashion_cnn", NOTEBOOK)
    assert manifest.layout == "Canvas download"
    assert staged(tmp_path / "out") == ["doejohn_1202.ipynb", "smithjane_1201.ipynb"]
    jane = by_key(manifest)["smithjane_1201"]
    assert (jane.student, jane.user_id, jane.submission_id, jane.attempt) == ("smithjane", "1201", "5090", 2)
    assert b"third" in (tmp_path / "out/submissions/smithjane_1201.ipynb").read_bytes()
    replaced = sorted(s["file"] for s in manifest.superseded)
    assert replaced == ["smithjane_1201_5001_fashion_cnn.ipynb", "smithjane_1201_5077_fashion_cnn-1.ipynb"]
    assert all("several notebooks in the download: the last uploaded counts" in s["reason"]
               for s in manifest.superseded)
    assert by_key(manifest)["doejohn_1202"].notes == ("Canvas marks it LATE",) and jane.notes == ()
    reasons = {u["file"]: u["reason"] for u in manifest.unmatched}
    assert "not a notebook (.pdf)" in reasons["leemin_1203_5003_notes.pdf"]
    assert "Canvas's pattern" in reasons["readme.txt"]
    assert read_manifest(tmp_path / "out") == manifest  # submissions.json says the same


def test_gradescope_export_names_students_from_its_metadata(tmp_path):
    metadata = """
submission_111:
  :submitters:
  - :name: Jane Smith
    :sid: '1201'
    :email: jane@example.edu
  :created_at: 2026-11-20 10:00:00.000000000 -08:00
submission_222:
  :submitters:
  - :name: Ann Lee
    :sid: '1203'
  - :name: Bo Chen
    :sid: '1204'
  :created_at: 2026-11-20 11:00:00.000000000 -08:00
"""
    bundle = write_zip(tmp_path / "export.zip", {
        "assignment_99_export/submission_metadata.yml": metadata.encode(),
        "assignment_99_export/submission_111/fashion_cnn.ipynb": notebook_bytes("jane"),
        "assignment_99_export/submission_222/work/fashion_cnn.ipynb": notebook_bytes("group"),
        "assignment_99_export/submission_333/fashion_cnn.ipynb": notebook_bytes("nobody"),
    })
    manifest = intake(bundle, tmp_path / "out", "fashion_cnn", NOTEBOOK)
    assert manifest.layout == "Gradescope export"
    students = {s.student: s for s in manifest.submissions}
    assert set(students) == {"Jane Smith", "Ann Lee & Bo Chen"}
    assert students["Jane Smith"].user_id == "1201" and students["Jane Smith"].key == "Jane_Smith_1201"
    assert [m["sid"] for m in students["Ann Lee & Bo Chen"].members] == ["1203", "1204"]
    assert "not described in submission_metadata.yml" in manifest.unmatched[0]["reason"]


def test_per_student_folders_with_nested_zips_checkpoints_and_several_notebooks(tmp_path):
    inner = write_zip(tmp_path / "inner.zip", {"hw/fashion_cnn.ipynb": notebook_bytes("zipped")}).read_bytes()
    deeper = write_zip(tmp_path / "deeper.zip", {"x.zip": inner}).read_bytes()
    bundle = write_zip(tmp_path / "folders.zip", {
        "ana/fashion_cnn.ipynb": notebook_bytes("ana"),
        "ana/.ipynb_checkpoints/fashion_cnn-checkpoint.ipynb": notebook_bytes("old"),
        "ben/my work.zip": inner,
        "cleo/fashion_cnn.ipynb": notebook_bytes("right one"),
        "cleo/scratch.ipynb": notebook_bytes("scratch"),
        "dan/a.ipynb": notebook_bytes(), "dan/b.ipynb": notebook_bytes(),
        "eve/deeper.zip": deeper,
        "fay/notes.txt": b"nothing",
    })
    manifest = intake(bundle, tmp_path / "out", "fashion_cnn", NOTEBOOK)
    assert manifest.layout == "one folder per student"
    assert staged(tmp_path / "out") == ["ana.ipynb", "ben.ipynb", "cleo.ipynb"]
    assert b"zipped" in (tmp_path / "out/submissions/ben.ipynb").read_bytes()
    assert b"right one" in (tmp_path / "out/submissions/cleo.ipynb").read_bytes()
    assert "several notebooks" in by_key(manifest)["cleo"].notes[0]
    reasons = {u["file"]: u["reason"] for u in manifest.unmatched}
    assert "several notebooks (a.ipynb, b.ipynb)" in reasons["dan"]
    assert "an archive inside the archive" in reasons["eve"]
    assert "no notebook" in reasons["fay"]


def test_a_folder_with_links_empty_files_and_odd_names(tmp_path):
    source = tmp_path / "download"
    source.mkdir()
    (source / "alice.ipynb").write_bytes(notebook_bytes())
    (source / "empty.ipynb").write_bytes(b"")
    (tmp_path / "secret.ipynb").write_bytes(notebook_bytes("secret"))
    os.symlink(tmp_path / "secret.ipynb", source / "linked.ipynb")
    (source / os.fsdecode(b"m\xfcller.ipynb")).write_bytes(notebook_bytes())  # a Latin-1 name on disk
    (source / "Zoë Ünal.ipynb").write_bytes(notebook_bytes())
    manifest = intake(source, tmp_path / "out", "fashion_cnn", NOTEBOOK)
    assert manifest.layout == "folder of notebooks"
    assert staged(tmp_path / "out") == ["Zoe_Unal.ipynb", "alice.ipynb", "empty.ipynb", "muller.ipynb"]
    notes = {s.key: s.notes for s in manifest.submissions}
    assert notes["empty"] == ("the file is empty (0 bytes)",)
    assert any("not UTF-8" in n for n in notes["muller"])
    assert {u["file"]: u["reason"] for u in manifest.unmatched}["linked.ipynb"].startswith("a symbolic link")
    json.loads((tmp_path / "out/submissions.json").read_text())  # valid JSON whatever the names


def test_a_second_intake_of_another_download_drops_staged_files_no_longer_there(tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    for name in ("a", "b"):
        (first / f"{name}.ipynb").write_bytes(notebook_bytes(name))
    intake(first, tmp_path / "out", "fashion_cnn", NOTEBOOK)
    (first / "b.ipynb").unlink()
    manifest = intake(first, tmp_path / "out", "fashion_cnn", NOTEBOOK)
    assert staged(tmp_path / "out") == ["a.ipynb"] and manifest.keys() == ["a"]
    assert not (tmp_path / "out/.intake").exists()


def test_of_several_files_in_one_canvas_submission_the_assignment_s_notebook_counts(tmp_path):
    """Canvas lets a student attach several files; the download holds the latest submission's: the one named as
    the assignment's notebook (a copy's or resubmission's mark aside) is graded, whatever was uploaded last."""
    bundle = write_zip(tmp_path / "submissions.zip", {
        "chenli_1301_6001_Fashion_CNN (1).ipynb": notebook_bytes("the answer"),
        "chenli_1301_6009_scratch.ipynb": notebook_bytes("scratch work"),
        "ngo_1302_6002_lab.ipynb": notebook_bytes("lab"),
        "ngo_1302_6003_scratch.ipynb": notebook_bytes("later"),
    })
    manifest = intake(bundle, tmp_path / "out", "fashion_cnn", NOTEBOOK)
    assert b"the answer" in (tmp_path / "out/submissions/chenli_1301.ipynb").read_bytes()
    assert b"later" in (tmp_path / "out/submissions/ngo_1302.ipynb").read_bytes()  # neither named: the last
    reasons = {s["file"]: s["reason"] for s in manifest.superseded}
    assert "the one named as the assignment's (fashion_cnn.ipynb) is graded" in \
        reasons["chenli_1301_6009_scratch.ipynb"]


def test_one_student_s_damaged_zip_leaves_the_others_graded(tmp_path):
    from .test_archives import damaged_zip

    bad = damaged_zip(tmp_path / "bad.zip", NOTEBOOK)
    with zipfile.ZipFile(tmp_path / "clash.zip", "w") as clash:
        clash.writestr("hw/fashion_cnn.ipynb", notebook_bytes())
        clash.writestr("hw", b"a file where a folder is")
    bundle = write_zip(tmp_path / "submissions.zip", {
        "ana_1_11_fashion_cnn.ipynb": notebook_bytes("ana"),
        "ben_2_12_fashion_cnn.zip": bad.read_bytes(),
        "cy_3_13_fashion_cnn.zip": (tmp_path / "clash.zip").read_bytes(),
    })
    manifest = intake(bundle, tmp_path / "out", "fashion_cnn", NOTEBOOK)
    assert [s.key for s in manifest.submissions] == ["ana_1", "cy_3"]
    reasons = {u["file"]: u["reason"] for u in manifest.unmatched}
    assert "no notebook (.ipynb) in it" in reasons["ben_2_12_fashion_cnn.zip"]
    assert "could not be extracted (error: Error -3" in reasons["ben_2_12_fashion_cnn.zip"]
    assert "damaged" in reasons["ben_2_12_fashion_cnn.zip"]
    assert not list((tmp_path / "out").glob(".intake*"))


def test_a_download_inside_the_output_folder_is_refused_and_an_output_folder_inside_it_left_out(tmp_path):
    """`grader batch submissions --out .` would stage into submissions/ itself and remove the download's files."""
    download = tmp_path / "submissions"
    download.mkdir()
    (download / "ana_1_11_fashion_cnn.ipynb").write_bytes(notebook_bytes("ana"))
    (download / "ana_1_12_fashion_cnn-1.ipynb").write_bytes(notebook_bytes("ana again"))
    with pytest.raises(IntakeError, match="inside the output folder"):
        intake(download, tmp_path, "fashion_cnn", NOTEBOOK)
    assert sorted(p.name for p in download.iterdir()) == ["ana_1_11_fashion_cnn.ipynb", "ana_1_12_fashion_cnn-1.ipynb"]
    with pytest.raises(IntakeError, match="inside a folder of the submissions"):
        intake(download, download / "ana" / "graded", "fashion_cnn", NOTEBOOK)  # it would be in a student's folder
    (tmp_path / "lab").mkdir()
    zipped = write_zip(tmp_path / "lab" / "submissions.zip", {"ana_1_11_fashion_cnn.ipynb": notebook_bytes("ana")})
    lab = intake(zipped, tmp_path / "lab", "fashion_cnn", NOTEBOOK)  # `cd lab; grader batch submissions.zip --out .`
    assert [s.key for s in lab.submissions] == ["ana_1"] and zipped.is_file()
    for _ in range(2):  # the second time its output folder holds notebooks of its own
        manifest = intake(download, download / "grading-output", "fashion_cnn", NOTEBOOK)
        assert manifest.layout == "Canvas download" and [s.key for s in manifest.submissions] == ["ana_1"]
        assert manifest.unmatched == []


def test_a_name_read_from_the_zip_code_page_is_noted_on_the_student(tmp_path):
    write_zip(tmp_path / "submissions.zip", {"J?rgen Oz/fashion_cnn.ipynb": notebook_bytes("j"),
                                             "Ana/fashion_cnn.ipynb": notebook_bytes("a")})
    raw = (tmp_path / "submissions.zip").read_bytes().replace(b"J?rgen", b"J\x81rgen")  # cp437, no UTF-8 flag
    (tmp_path / "submissions.zip").write_bytes(raw)
    manifest = intake(tmp_path / "submissions.zip", tmp_path / "out", "fashion_cnn", NOTEBOOK)
    students = {s.student: s for s in manifest.submissions}
    assert sorted(students) == ["Ana", "Jürgen Oz"]
    assert any("not UTF-8" in note for note in students["Jürgen Oz"].notes) and students["Ana"].notes == ()


@pytest.mark.parametrize("edit, reason", [
    (lambda d: d["submissions"][0].update(key="../../etc/x"), "its 'key' is not a name the intake makes"),
    (lambda d: d["submissions"][0].update(key=".."), "its 'key' is not a name the intake makes"),
    (lambda d: d["submissions"][0].update(student=["a"]), "its 'student' is not text"),
    (lambda d: d["submissions"][0].update(user_id=5), "its 'user_id' is not text"),
    (lambda d: d["submissions"][0].update(attempt="1"), "its 'attempt' is not a whole number"),
    (lambda d: d["submissions"][0].update(members=[5]), "its 'members' are not a list of objects"),
    (lambda d: d["submissions"][0].update(notes="late"), "its 'notes' are not a list of texts"),
    (lambda d: d["submissions"][0].update(extra=1), "unexpected keyword argument 'extra'"),
    (lambda d: d["submissions"].append(5), "submission 2 (5): not a JSON object"),
    (lambda d: d.update(submissions={}), "its 'submissions' are not a list"),
    (lambda d: d.update(assignment=None), "its 'assignment' or 'layout' is not text"),
])
def test_a_damaged_list_of_students_is_refused_by_name(tmp_path, edit, reason):
    """submissions.json names each student's files by key: a key that is not one file name, or a field of the wrong
    type, is refused with the entry named, never a path followed or a report stopped by a TypeError."""
    entry = {"key": "smithjane_1201", "student": "Jane Smith", "file": "smithjane_1201_5001_fashion_cnn.ipynb",
             "user_id": "1201", "submission_id": "5001", "attempt": 0, "members": [], "notes": []}
    data = {"assignment": "fashion_cnn", "layout": "Canvas download", "submissions": [entry], "unmatched": [],
            "superseded": []}
    (tmp_path / "submissions.json").write_text(json.dumps(data))
    assert read_manifest(tmp_path).keys() == ["smithjane_1201"]
    edit(data)
    (tmp_path / "submissions.json").write_text(json.dumps(data))
    with pytest.raises(IntakeError, match="submissions.json cannot be read") as raised:
        read_manifest(tmp_path)
    assert reason in str(raised.value)


def test_whose_each_file_left_out_is_and_when_each_submission_was_handed_in(tmp_path):
    """A Canvas upload that holds no notebook is still its student's (a wrong file, with their ids and LATE mark);
    Gradescope's export gives each submission's time; a student's folder with no notebook is a wrong file."""
    canvas = write_zip(tmp_path / "canvas.zip", {
        "leemin_LATE_1203_5003_notes.pdf": b"%PDF-1.4",
        "leemin_1203_5004_report.docx": b"PK",
        "smithjane_1201_5001_fashion_cnn.ipynb": notebook_bytes("jane"),
        "smithjane_1201_5002_scan.pdf": b"%PDF-1.4",
        "readme.txt": b"from canvas",
    })
    manifest = intake(canvas, tmp_path / "canvas", "fashion_cnn", NOTEBOOK)
    left = {u["file"]: u for u in manifest.unmatched}
    assert {k: left["leemin_LATE_1203_5003_notes.pdf"][k] for k in ("student", "user_id", "late", "status")} == {
        "student": "leemin", "user_id": "1203", "late": True, "status": "wrong file"}
    assert left["smithjane_1201_5002_scan.pdf"]["user_id"] == "1201"  # (graded anyway: the report drops it)
    assert "student" not in left["readme.txt"]  # whose it is, nobody knows
    assert read_manifest(tmp_path / "canvas") == manifest
    metadata = """submission_111:
  :submitters:
  - :name: Jane Smith
    :sid: '1201'
  :created_at: 2026-11-20 10:00:00.123456789 -08:00
submission_222:
  :submitters:
  - :name: Ann Lee
    :sid: '1203'
  :created_at: 2026-11-21 08:00:00 +01:00
"""
    export = write_zip(tmp_path / "export.zip", {
        "submission_metadata.yml": metadata.encode(),
        "submission_111/fashion_cnn.ipynb": notebook_bytes("jane"),
        "submission_222/answers.pdf": b"%PDF-1.4",
    })
    manifest = intake(export, tmp_path / "export", "fashion_cnn", NOTEBOOK)
    assert by_key(manifest)["Jane_Smith_1201"].submitted_at == "2026-11-20T10:00:00.123456-08:00"
    ann = manifest.unmatched[0]
    assert (ann["student"], ann["status"], ann["submitted_at"], ann["members"][0]["sid"]) == (
        "Ann Lee", "wrong file", "2026-11-21T08:00:00+01:00", "1203")
    assert "no notebook (.ipynb) in it" in ann["reason"]


def test_a_list_of_students_written_before_times_and_owners_were_kept_still_reads(tmp_path):
    (tmp_path / "submissions.json").write_text(json.dumps({
        "assignment": "fashion_cnn", "layout": "Canvas download",
        "submissions": [{"key": "doejohn_1202", "student": "doejohn", "file": "doejohn_LATE_1202_5002_x.ipynb",
                         "user_id": "1202", "submission_id": "5002", "attempt": 0, "members": [],
                         "notes": ["Canvas marks it LATE"]}],
        "unmatched": [{"file": "readme.txt", "reason": "whose is it?"}], "superseded": []}))
    manifest = read_manifest(tmp_path)
    assert manifest.submissions[0].submitted_at is None and manifest.submissions[0].late is False
