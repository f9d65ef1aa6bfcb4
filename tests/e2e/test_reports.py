"""`grader report` on the main job's real output, every assignment: each student's scores in every file it writes,
read back by parsing them; the layer table of a real wrong model in its student's feedback."""
from __future__ import annotations

import json

import pytest

from tests.reports.reading import csv_rows, png_of, read_page

from .conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reports(examples_graded, course_names, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    for name in course_names:
        done = run_cli("report", str(examples_graded.out / name), "-a", name, "--to", str(folder / name),
                       "--canvas-column", f"{name} (1234)", timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    return folder


def test_every_student_s_scores_are_in_every_report(reports, examples_graded, course_names):
    for name in course_names:
        results, out = examples_graded.results(name), reports / name
        gradebook = {row[0]: float(row[2]) for row in csv_rows(out / "gradebook.csv")[1:]}
        assert gradebook == {r.submission: r.points for r in results.values()}
        canvas = csv_rows(out / "canvas.csv")
        assert canvas[0][-1] == f"{name} (1234)" and canvas[1][0] == "Points Possible"
        assert sorted(float(row[5]) for row in canvas[2:] if row[5]) == sorted(r.points for r in results.values()
                                                                             if not r.error)
        assert sum(row[5] == "" for row in canvas[2:]) == sum(bool(r.error) for r in results.values())  # blank
        page = read_page(out / "report.html")
        assert {key: cells[3] for key, cells in page.rows.items()} == \
            {key: "" if r.error else f"{r.points:g}" for key, r in results.items()}  # Points: blank, never a silent 0
        assert len(page.images) >= 4 and all(png_of(image) for image in page.images)
        for key, result in results.items():
            assert json.loads((out / "gradescope" / key / "results.json").read_text())["score"] == result.points
            score = f"{result.points:g} / {result.max_points:g}"
            assert (out / "feedback" / f"{key}.md").read_text().startswith(f"# {name}: {score} points")
            assert f'<span class="score">{score}</span>' in (out / "feedback" / f"{key}.html").read_text()


def test_a_wrong_model_gets_its_layer_table(reports, examples_graded):
    layers = next(c for t in examples_graded.results("fashion_cnn")["ben_filters_32"].tasks for c in t.checks
                  if c.kind == "model_layers" and not c.passed)
    assert [(r.layer, r.ok) for r in layers.details if not r.ok] == [("3", False)]
    page = (reports / "fashion_cnn" / "feedback" / "ben_filters_32.html").read_text()
    assert '<tr class="bad"><td>3</td><td>Conv2D, 64 filters, kernel 3x3, activation relu</td>\n' \
           "<td>Conv2D, 32 filters, kernel 3x3, activation relu</td>" in page


def test_the_report_lists_the_submissions_that_need_a_look(reports):
    text = (reports / "fashion_cnn" / "report.html").read_text()
    attention = text[text.index('id="attention"'):text.index("Most common failures</h2>")]
    assert "eve_truncated" in attention and "invalid JSON" in attention  # not a notebook: a human looks at it
    assert "finn_kernel_exit" in attention and "not graded in full" in attention
