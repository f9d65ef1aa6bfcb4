"""The command line, on cases that need no training."""
from __future__ import annotations

import json
from pathlib import Path

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
