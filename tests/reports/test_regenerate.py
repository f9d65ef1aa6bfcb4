"""`grader report`: every output made again from a batch's stored results, each student's scores in each."""
from __future__ import annotations

import json

from click.testing import CliRunner

from grader.cli import main
from grader.reports import regenerate

from .builders import class_notebooks, class_results, write_out_dir
from .conftest import USER_IDS
from .reading import csv_rows, external_references, png_of, read_page


def test_the_gradebooks_have_each_student_s_scores(class_report):
    results = class_results()
    gradebook = {row[1]: row for row in csv_rows(class_report.folder / "gradebook.csv")[1:]}
    assert {name: float(row[2]) for name, row in gradebook.items()} == \
        {f"{key}smith": r.points for key, r in results.items()}
    canvas = csv_rows(class_report.folder / "canvas.csv")
    assert canvas[:2] == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Convolution by hand (4242)"],
                          ["Points Possible", "", "", "", "", "15"]]
    assert {row[1]: row[5] for row in canvas[2:]} == {USER_IDS[k]: "" if r.error else f"{r.points:g}"
                                                      for k, r in results.items()}  # not gradable: blank, never 0
    assert {name: (row[6], row[7]) for name, row in gradebook.items()}["davesmith"] == ("", "not gradable")


def test_gradescope_and_feedback_files_for_every_student(class_report):
    for key, res in class_results().items():
        stored = json.loads((class_report.folder / "gradescope" / key / "results.json").read_text())
        assert stored == json.loads(json.dumps(res.to_gradescope_dict()))
        markdown = (class_report.folder / "feedback" / f"{key}.md").read_text()
        assert markdown.startswith(f"# by_hand: {res.points:g} / 15 points") and f"Student: {key}smith" in markdown
        page = (class_report.folder / "feedback" / f"{key}.html").read_text()
        assert f'<span class="score">{res.points:g} / 15</span>' in page
        for task in res.tasks:
            assert f"## {task.title}: {task.points:g} / {task.max_points:g}" in markdown


def test_the_instructor_s_report(class_report):
    page = read_page(class_report.report)
    text = class_report.report.read_text()
    assert {key: cells[3] for key, cells in page.rows.items()} == \
        {key: "" if r.error else f"{r.points:g}" for key, r in class_results().items()}  # never a silent 0
    order = [text.index(f'<h2 id="{section}"') for section in ("students", "attention", "tasks", "failures",
                                                                "figures", "similar")]
    assert order == sorted(order)  # the students first, as the contents list them
    contents = text[text.index('<nav class="toc">'):text.index("</nav>")]
    assert all(f'href="#{section}"' in contents for section in ("students", "tasks", "figures", "similar"))
    assert "<figcaption" not in text  # each figure's title is drawn in it: no caption repeats it
    assert [image["alt"] for image in page.images] == ["Score distribution", "Tasks with full points",
                                                       "Checks passed", "Most common failures",
                                                       "Grading time per submission"]
    assert all(len(png_of(image)) > 5000 for image in page.images)
    assert external_references(text) == [] and text.count("<script") == 1  # the table's own, inline
    assert "alicesmith and bobsmith:" in text and class_report.similar_pairs == 1
    attention = text[text.index('id="attention"'):text.index('id="tasks"')]
    assert "davesmith" in attention and "erinsmith" in attention and "franksmith" not in attention
    assert len(class_report.warnings) == 2 and class_report.warnings[0].endswith("similarity check: dave")
    assert "left blank in canvas.csv" in class_report.warnings[1] and class_report.warnings[1].endswith("davesmith")


def test_without_the_intake_s_list_the_report_says_so(tmp_path, by_hand_course):
    results = {k: r for k, r in class_results().items() if k in ("alice", "carol")}
    out = write_out_dir(tmp_path / "out", results, {"alice": class_notebooks()["alice"]}, user_ids=None)
    summary = regenerate(out, by_hand_course)
    assert summary.folder == out and (out / "report.html").is_file()
    assert any("no submissions.json" in w and "ID column is empty" in w for w in summary.warnings)
    assert any("no notebook" in w and "carol" in w for w in summary.warnings)
    assert [row[:2] for row in csv_rows(out / "canvas.csv")[2:]] == [["alice", ""], ["carol", ""]]


def test_the_command_line(tmp_path, class_out):
    runner = CliRunner()
    done = runner.invoke(main, ["report", str(class_out), "-a", "by_hand", "--to", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    assert "6 results, 1 similar pairs" in done.output and "has no assignment id" in done.output
    assert (tmp_path / "r" / "report.html").is_file()
    (tmp_path / "empty").mkdir()
    done = runner.invoke(main, ["report", str(tmp_path / "empty"), "-a", "by_hand"])
    assert done.exit_code == 2 and "no results of by_hand in" in done.output


def test_damaged_and_foreign_results_are_left_out_with_a_reason(tmp_path, by_hand_course):
    """A result cut short, one with a field of the wrong type, one of another assignment: none reaches a grade,
    each is named, the old feedback of the damaged ones is removed, the others' outputs are made."""
    results = class_results()
    out = write_out_dir(tmp_path / "out", results, {"alice": class_notebooks()["alice"]}, USER_IDS)
    regenerate(out, by_hand_course)
    assert (out / "feedback" / "bob.html").is_file()
    (out / "results" / "bob.json").write_text((out / "results" / "bob.json").read_text()[:500])
    carol = json.loads((out / "results" / "carol.json").read_text())
    (out / "results" / "carol.json").write_text(json.dumps({**carol, "points": "15"}))
    erin = json.loads((out / "results" / "erin.json").read_text())
    (out / "results" / "erin.json").write_text(json.dumps({**erin, "assignment": "fashion_cnn", "points": 38,
                                                           "max_points": 40}))
    frank = json.loads((out / "results" / "frank.json").read_text())
    frank["execution"] = "@@"
    (out / "results" / "frank.json").write_text(json.dumps(frank).replace('"@@"', "[" * 100_000 + "]" * 100_000))
    summary = regenerate(out, by_hand_course)
    assert summary.results == 2
    damaged = next(w for w in summary.warnings if "cannot be read" in w)
    assert "franksmith (frank.json: RecursionError" in damaged
    assert "bobsmith (bob.json: JSONDecodeError" in damaged and "carolsmith (carol.json: ValueError: the result: its" \
        " 'points' is not a number" in damaged and "run `grader batch` again" in damaged
    assert any("another assignment than by_hand" in w and "erin" in w for w in summary.warnings)
    canvas = csv_rows(out / "canvas.csv")
    assert canvas[1][5] == "15"  # the assignment's points, not the foreign result's 40
    assert {row[0]: row[5] for row in canvas[2:]} == {"alicesmith": "15", "bobsmith": "", "carolsmith": "",
                                                      "davesmith": "", "erinsmith": "", "franksmith": ""}
    statuses = {row[1]: (row[7], row[8]) for row in csv_rows(out / "gradebook.csv")[1:]}
    assert statuses["alicesmith"] == ("graded", "") and statuses["erinsmith"] == (
        "not gradable", "its result is of another assignment (fashion_cnn)")
    assert statuses["bobsmith"][0] == "not gradable" and statuses["bobsmith"][1].startswith(
        "its result cannot be read (JSONDecodeError")
    assert not (out / "feedback" / "bob.html").exists() and not (out / "gradescope" / "bob" / "results.json").exists()
    assert (out / "feedback" / "erin.html").is_file()  # a foreign result's files are its own assignment's business
    page = (out / "report.html").read_text()
    assert "of 15 points" in page or "/ 15" in page
    assert "cannot be read" in page


def test_a_student_s_answer_with_dollar_signs_is_drawn_as_written(tmp_path, by_hand_course):
    """matplotlib reads $...$ as mathematics: a quoted answer like "$a^^b$" in a failure's message once stopped
    the whole report."""
    from .builders import check, result, task

    results = {k: result(k, task("quiz", check("question 5", False, 1, "'$a^^b$' is not one of the options")))
               for k in ("ana", "ben")}
    results["cy"] = result("cy", task("quiz", check("question 5", False, 1, "'$\\frac{$ oops' is not an option")))
    out = write_out_dir(tmp_path / "out", results, {}, {k: "1" for k in results})
    summary = regenerate(out, by_hand_course)
    page = read_page(summary.report)
    assert "Most common failures" in [image["alt"] for image in page.images]
    assert not any("could not be drawn" in w for w in summary.warnings)


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_hostile_notebooks_never_stop_the_reports_of_the_class(tmp_path, class_out):
    """Notebooks a student's code left behind or handed in: nested 100,000 levels, cells that are not a list, a
    5,000-digit number, a folder and a FIFO where a notebook should be; a result whose times are not numbers.
    `grader report` makes every student's outputs and names each unread notebook with its reason."""
    import os
    import shutil

    out = tmp_path / "out"
    shutil.copytree(class_out, out)
    executed = {key: out / "executed" / key / "executed.ipynb" for key in ("alice", "bob", "carol", "erin", "frank")}
    deep = json.loads(executed["bob"].read_text())
    deep["metadata"]["x"] = "@@"
    executed["bob"].write_text(json.dumps(deep).replace('"@@"', _nested(100_000)))
    executed["carol"].write_text('{"cells": {}, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    executed["erin"].write_text(executed["alice"].read_text().replace('"nbformat_minor"', '"x": ' + "9" * 5000
                                                                      + ', "nbformat_minor"', 1))
    executed["frank"].unlink()
    os.mkfifo(executed["frank"])
    (out / "submissions").mkdir()
    (out / "submissions" / "dave.ipynb").mkdir()  # where the intake's copy should be, a folder
    alice = json.loads((out / "results" / "alice.json").read_text())
    alice["execution"].update(seconds="abc", checks_seconds=[1])
    (out / "results" / "alice.json").write_text(json.dumps(alice))

    done = CliRunner().invoke(main, ["report", str(out), "-a", "by_hand", "--to", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    assert "6 results" in done.output and "Traceback" not in done.output
    for key in USER_IDS:
        assert (tmp_path / "r" / "feedback" / f"{key}.html").is_file()
        assert (tmp_path / "r" / "gradescope" / key / "results.json").is_file()
    left_out = next(line for line in done.output.splitlines() if "left out of the similarity check or" in line)
    assert "bobsmith (bob): its notebook cannot be read (the notebook's metadata is nested 100,000 levels deep" \
        in left_out
    assert "carolsmith (carol): its notebook cannot be read (the notebook's cells are a dictionary" in left_out
    assert "erinsmith (erin): its notebook cannot be read (the notebook holds an integer of 5,000 digits" in left_out
    assert "franksmith (frank): its notebook cannot be read (the notebook is not a regular file)" in left_out
    assert any("have no notebook" in line and line.endswith("similarity check: dave")
               for line in done.output.splitlines())  # its staged copy a folder, no executed notebook
    page = read_page(tmp_path / "r" / "report.html")
    assert set(page.rows) == set(USER_IDS)
    assert "Grading time per submission" in [image["alt"] for image in page.images]  # without alice's


def test_the_copy_the_grader_staged_is_compared_not_what_the_sandbox_left(tmp_path, by_hand_course):
    """The executed notebook is written in the sandbox, where a student's code can replace it (with an untouched
    notebook, or garbage): the copy the intake staged is what the similarity check reads."""
    import nbformat

    notebooks = class_notebooks()
    results = {k: r for k, r in class_results().items() if k in ("alice", "bob", "frank")}
    out = write_out_dir(tmp_path / "out", results, {"alice": notebooks["alice"], "bob": notebooks["frank"],
                                                    "frank": notebooks["frank"]}, USER_IDS)
    (out / "executed" / "alice" / "executed.ipynb").write_text("[" * 100_000)
    (out / "submissions").mkdir()
    for key in ("alice", "bob"):
        nbformat.write(notebooks[key], out / "submissions" / f"{key}.ipynb")
    summary = regenerate(out, by_hand_course)
    assert summary.similar_pairs == 1
    assert "alicesmith and bobsmith:" in (out / "report.html").read_text()
