"""A regrade keeps every review: a real batch of the tiny assignment (with a part graded by hand), reviewed in the
page in Chromium, graded again with ``--redo`` after a student changed an answer; the override whose check's result
changed is flagged (not applied, not dropped) until a reviewer confirms it on the page."""
from __future__ import annotations

import json

import nbformat
import pytest

from grader.course.assignment import load_assignment
from grader.output_folder import read_results
from grader.reviews.apply import review_adjustments
from grader.reviews.store import BACKUP, ReviewStore

from ..e2e import batch_downloads as dl
from ..e2e import tiny
from ..e2e.conftest import run_cli
from ..reports.reading import read_page

MANUAL = '\n- {kind: manual, points: 2, title: "why b is right", guide: "names the two options"}'
ADAMS, BAKER = "adamsana_101", "bakerben_102"


@pytest.fixture(scope="module")
def manual_tiny(tmp_path_factory):
    """The tiny assignment with a part of task 3 graded by hand (2 points beside the machine's 4)."""
    nb = tiny.solution_notebook()
    cell = next(c for c in nb.cells if c.cell_type == "raw" and "kind: choice" in c.source)
    cell.source += MANUAL
    path = tmp_path_factory.mktemp("manual-tiny") / "solutions" / "tiny" / "tiny.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    course = load_assignment(path)
    course.write_student_files()
    return course


def batch(course, folder, out, *options):
    done = run_cli("batch", str(folder), "-a", str(course.solution_path), "--out", str(out), "--sandbox",
                   "bubblewrap", *options, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def review_part(page, task: str, part: str, points: str = "", reason: str = "", comment: str = "") -> None:
    row = page.locator(f"section[data-task={task}] tr[data-part='{part}']")
    row.locator("input.points").fill(points)
    row.locator("input[name^=reason]").fill(reason)
    row.locator("textarea").fill(comment)


def save(page) -> None:
    page.click("#save")
    page.wait_for_url("**saved=1")


@pytest.mark.slow
def test_a_regrade_keeps_every_review_and_flags_the_one_whose_check_changed(manual_tiny, tmp_path, serve, browser):
    assert manual_tiny.spec.max_points == 4 and manual_tiny.spec.manual_points == 2
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    (folder / "adamsana_101_9001_tiny.ipynb").write_bytes(dl.right(manual_tiny))
    (folder / "bakerben_102_9002_tiny.ipynb").write_bytes(dl.with_answers(manual_tiny, answer="41"))
    batch(manual_tiny, folder, out)

    page = browser.new_page()
    url = serve(out, manual_tiny)
    page.goto(url.replace("/?", f"/student/{BAKER}?"))
    assert page.inner_text(".score") == "3 / 6"  # the machine's 3 of 4, the part by hand not graded yet
    review_part(page, "numbers", "check:0", "1", "41 is a rounding of the right formula: accepted")
    review_part(page, "last", "check:0", "0.5", "the reason given is wrong", "b, but for the wrong reason")
    review_part(page, "last", "manual:0", "2", comment="well explained")
    page.fill("#reviewer", "ta-anna")
    save(page)
    assert page.inner_text(".score") == "5.5 / 6"
    page.goto(url.replace("/?", f"/student/{ADAMS}?"))
    review_part(page, "last", "manual:0", "1.5", comment="one option only")
    page.fill("#comment", "Neat notebook.")
    save(page)

    # baker hands in again: the same 41, another choice; everyone is graded again
    (folder / "bakerben_102_9002_tiny.ipynb").write_bytes(dl.with_answers(manual_tiny, answer="41", word='"a"'))
    batch(manual_tiny, folder, out, "--redo")
    assert len(ReviewStore(out).get(BAKER).parts) == 3 and len(ReviewStore(out).get(ADAMS).parts) == 1  # all kept
    assert (out / BACKUP).is_file()
    results = read_results(out)[0]
    reviewed = review_adjustments(out, results, manual_tiny.spec)
    adams, baker = reviewed[ADAMS], reviewed[BAKER]
    assert (adams.result.points, adams.result.max_points, adams.flags) == (5.5, 6, ())
    assert baker.raw.points == 2  # the machine: the array's 2, the number and now the choice wrong
    assert baker.result.points == 2 + 1 + 2  # the number's override and the part by hand kept; the choice's not applied
    assert [(flag.task, flag.part) for flag in baker.flags] == [("last", "check:0")]
    assert "gave 0.5 of 1 points (the reason given is wrong)" in baker.flagged[0]

    done = run_cli("report", str(out), "-a", str(manual_tiny.solution_path))  # every output made from the reviews
    assert done.returncode == 0, done.stderr[-3000:]
    text = (out / "feedback" / f"{BAKER}.txt").read_text()
    assert "Changed by a reviewer from 0 to 1 points: 41 is a rounding of the right formula: accepted." in text
    assert "Waiting for another look" in text and "graded by a reviewer: 2 of 2" in text
    assert "Reviewer's comment: Neat notebook." in (out / "feedback" / f"{ADAMS}.txt").read_text()
    assert json.loads((out / "gradescope" / BAKER / "results.json").read_text())["score"] == 5
    assert "Reviewer: well explained" in (out / "feedback" / f"{BAKER}.md").read_text()
    report = (out / "report.html").read_text()
    attention = report[report.index('id="attention"'):report.index('id="tasks"')]
    assert "bakerben" in attention and "a review waits" in attention and "adamsana" not in attention
    row = read_page(out / "report.html").rows[BAKER]
    assert row[3:6] == ["5", "2", "+3"]  # points as reviewed, as graded, the review's change
    assert row[7:10] == ["1 / 1", "2 / 2", "2 / 3"]  # each task as reviewed: task 3 with its part by hand

    page.goto(url.replace("/?", f"/student/{BAKER}?"))
    flag = page.inner_text(".flag")
    assert flag.startswith("Look again: ") and "(the reason given is wrong)" in flag
    assert page.locator("tr.flagged").count() == 1
    page.check("section[data-task=last] tr[data-part='check:0'] input[type=checkbox]")
    save(page)  # confirmed on the result as it is now
    again = review_adjustments(out, read_results(out)[0], manual_tiny.spec)[BAKER]
    assert again.flags == () and again.result.points == 2 + 1 + 0.5 + 2
    page.close()
