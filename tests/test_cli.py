"""The command line, on cases that need no training."""
from __future__ import annotations

import json

from click.testing import CliRunner

from grader.cli import main


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
    assert scored["score"] == 0 and len(scored["tests"]) == 6
    assert "Your notebook could not be graded" in done.output


def test_an_unknown_sandbox_is_refused(tmp_path):
    notebook = tmp_path / "s.ipynb"
    notebook.write_text("{}")
    done = CliRunner().invoke(main, ["grade", str(notebook), "-a", "fashion_cnn", "--sandbox", "none"])
    assert done.exit_code == 2 and "'none' is not one of" in done.output
