"""The command line, on cases that need no training."""
from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from grader.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_validate_files_only():
    done = CliRunner().invoke(main, ["validate", "fashion_cnn", "--files-only"])
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith("valid")


def test_an_unknown_assignment_is_a_clear_error():
    done = CliRunner().invoke(main, ["validate", "no_such_course", "--files-only"])
    assert done.exit_code == 2
    assert "no solution notebook at" in done.output


def test_grading_a_file_that_is_not_a_notebook(tmp_path):
    bad = tmp_path / "homework.ipynb"
    bad.write_text("<html>this was saved from the browser</html>")
    out, gradescope = tmp_path / "r.json", tmp_path / "results.json"
    done = CliRunner().invoke(main, ["grade", str(bad), "-a", "fashion_cnn", "--json-out", str(out),
                                     "--gradescope", str(gradescope)])
    assert done.exit_code == 0, done.output
    result = json.loads(out.read_text())
    assert result["points"] == 0 and "invalid JSON" in result["error"]
    assert all(t["ungraded_reason"].startswith("the notebook could not be read") for t in result["tasks"])
    scored = json.loads(gradescope.read_text())
    assert scored["score"] == 0 and len([t for t in scored["tests"] if t["visibility"] == "visible"]) == 6
    assert all(t["output"].startswith("Not graded in full: the notebook could not be read") for t in scored["tests"]
               if t["visibility"] == "visible")
    assert "Your notebook could not be graded" in done.output


def test_an_unknown_sandbox_is_refused(tmp_path):
    notebook = tmp_path / "s.ipynb"
    notebook.write_text("{}")
    done = CliRunner().invoke(main, ["grade", str(notebook), "-a", "fashion_cnn", "--sandbox", "none"])
    assert done.exit_code == 2 and "'none' is not one of" in done.output


def test_grading_on_a_gpu_this_machine_lacks_says_why_and_grades_nothing(tmp_path):
    """`--gpu` where there is none (CI's machines, this one): a plain reason, not a silent run on the CPU."""
    if list(Path("/dev").glob("nvidia[0-9]*")):
        pytest.skip("this machine has an NVIDIA GPU")
    out = tmp_path / "out"
    examples = str(REPO / "examples" / "by_hand")
    done = CliRunner().invoke(main, ["batch", examples, "-a", "by_hand", "--out", str(out), "--gpu"])
    assert done.exit_code == 2
    assert "no NVIDIA GPU on this machine" in done.output
    assert not (out / "gradebook.csv").exists()
    done = CliRunner().invoke(main, ["batch", examples, "-a", "by_hand", "--out", str(out), "--gpu", "--sandbox",
                                     "container"])
    assert done.exit_code == 2 and "--gpu runs in the bubblewrap sandbox" in done.output


def _controls(text: str) -> list[str]:
    from grader.student_text import CONTROL_CATEGORIES, JOINERS

    return [c for c in text if unicodedata.category(c) in CONTROL_CATEGORIES and c not in JOINERS and c != "\n"]


def _fake_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.lstrip().startswith("[PASS]")]


def _no_sandbox_needed(monkeypatch):
    monkeypatch.setattr("grader.sandbox.select.choose_sandbox",
                        lambda *args, **kwargs: SimpleNamespace(name="bubblewrap", describe=lambda: "bubblewrap"))


def test_what_grader_grade_prints_holds_no_control_and_no_fake_line(tmp_path, monkeypatch):
    """A result whose messages hold escape codes, a bidi override and a newline before a fake ``[PASS]`` line
    (grading itself stubbed: what is tested is what the command prints)."""
    from .reports.builders import hostile_result

    _no_sandbox_needed(monkeypatch)
    monkeypatch.setattr("grader.grading.grade.grade_submission", lambda *args, **kwargs: hostile_result())
    notebook = tmp_path / "mallory.ipynb"
    notebook.write_text("{}")
    done = CliRunner().invoke(main, ["grade", str(notebook), "-a", "by_hand"])
    assert done.exit_code == 0, done.output
    assert "[FAIL] convolve on held-out images (0/4): it raised ValueError: \\x1b[2J" in done.output
    assert _controls(done.output) == [] and _fake_lines(done.output) == []
    assert r"\rboom\n[PASS] hidden check (10/10)\u202eeulav" in done.output


def test_what_grader_batch_prints_holds_no_control_and_no_fake_line(tmp_path, monkeypatch):
    """File names, the intake's notes and reasons, a result's error: the batch's lines (grading stubbed)."""
    from grader.batch.run import BatchSummary
    from grader.intake.stage import Manifest, StagedSubmission

    from .reports.builders import HOSTILE, hostile_result

    def grade_folder(source, course, out_dir, progress, on_plan, **kwargs):
        on_plan(1, 0, "this machine")
        progress(hostile_result())
        manifest = Manifest("by_hand", "Canvas download", submissions=[StagedSubmission(
            key="mallory", student=f"Mallory {HOSTILE}", file=f"mallory {HOSTILE}.ipynb",
            notes=(f"two notebooks in {HOSTILE}.zip",))],
            unmatched=[{"file": f"notes {HOSTILE}.txt", "reason": f"not a notebook {HOSTILE}"}],
            superseded=[{"file": f"old {HOSTILE}.ipynb", "by": f"new {HOSTILE}.ipynb", "reason": f"later {HOSTILE}"}])
        return BatchSummary(graded=1, skipped=0, failed=0, gradebook=out_dir / "gradebook.csv", manifest=manifest)

    _no_sandbox_needed(monkeypatch)
    import tqdm

    monkeypatch.setattr("tqdm.tqdm", functools.partial(tqdm.tqdm, disable=True))  # no bar (its own \r), its lines
    monkeypatch.setattr("grader.batch.run.grade_folder", grade_folder)
    monkeypatch.setattr("grader.reports.regenerate", lambda out_dir, course: SimpleNamespace(
        report=out_dir / "r", statuses=lambda: "1 graded"))
    done = CliRunner().invoke(main, ["batch", str(tmp_path), "-a", "by_hand", "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "mallory.ipynb: 0/6  (the kernel died in cell 2 (\\x1b[2J" in done.output
    assert "  not graded: notes \\x1b[2J" in done.output and "  replaced: old \\x1b[2J" in done.output
    assert "  note: mallory \\x1b[2J" in done.output
    assert _controls(done.output) == [] and _fake_lines(done.output) == []
    assert done.output.count(r"\rboom\n[PASS] hidden check (10/10)\u202eeulav") == 8


def test_the_log_shows_controls_as_escapes():
    import logging

    from grader.cli import VisibleFormatter

    record = logging.LogRecord("grader.intake.stage", logging.WARNING, __file__, 1, "intake of %s failed",
                               ("a\x1b]0;title\x07.zip",), None)
    shown = VisibleFormatter("%(levelname)s %(message)s").format(record)
    assert shown == r"WARNING intake of a\x1b]0;title\x07.zip failed"
