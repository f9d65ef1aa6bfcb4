"""``grader validate`` for a course's CI, on what needs no execution: the steps, the JUnit report as CI tools read it,
the summary table, seeds and their margins, the drift comparison, the CI files ``grader ci-init`` writes."""
from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from grader.ci.course_ci import (
    CI_FILES,
    summary_table,
    unreadable,
    validate_course,
    write_ci_files,
)
from grader.ci.drift import CheckChange, compare, read_accepted, sample_keys
from grader.ci.junit import write_junit
from grader.ci.seeds import SETUP_LABEL, CheckSpread, Measured, recorded_margin_problems, reseeded, seed_labels, spreads
from grader.ci.validate import FAILED, PASSED, REFERENCE, SKIPPED, ValidationReport, validate
from grader.cli import main
from grader.course.assignment import assignment_names
from grader.errors import GraderError

from ..e2e import ci_course
from ..reports.builders import check, result, task


def sound(name: str) -> ValidationReport:
    report = ValidationReport(name)
    report.add("solution notebook read", [])
    report.add(REFERENCE, [], 1.5, "4/4")
    return report


def broken(name: str) -> ValidationReport:
    report = ValidationReport(name)
    report.add("solution notebook read", [])
    report.add(REFERENCE, ["the reference solution scores 3/4: Task 1: number: expected 43\nsecond line \x1b[31m"],
               2.0)
    report.skip("thresholds hold across seeds", "not asked")
    return report


def test_the_junit_report_has_the_shape_ci_tools_read(tmp_path):
    path = write_junit([sound("good"), broken("bad"), unreadable("unreadable", "line 3: not YAML")],
                       tmp_path / "reports" / "validate.xml")
    text = path.read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["good", "bad", "unreadable"]
    cases = root.findall("testsuite/testcase")
    assert root.get("tests") == str(len(cases)) == str(2 + 3 + 1 + 5)
    assert root.get("failures") == "2" and root.get("errors") == "0" and root.get("skipped") == str(1 + 5)
    for suite in suites:
        own = suite.findall("testcase")
        assert suite.get("tests") == str(len(own))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))
        assert all(c.get("classname") == suite.get("name") and float(c.get("time")) >= 0 for c in own)
    failure = root.find("testsuite[@name='bad']/testcase[@name='reference scores full marks']/failure")
    assert failure.get("message").startswith("the reference solution scores 3/4: Task 1: number: expected 43")
    assert "\n" not in failure.get("message")
    assert "expected 43\nsecond line" in failure.text and "\x1b" not in failure.text and "\\x1b" in failure.text
    unread = root.find("testsuite[@name='unreadable']/testcase[@name='solution notebook read']/failure")
    assert unread.text == "line 3: not YAML"
    assert root.find("testsuite[@name='unreadable']/testcase[@name='student files in sync']/skipped") is not None
    assert root.find("testsuite[@name='good']/testcase[@name='reference scores full marks']/system-out").text == "4/4"


def test_the_summary_table_has_a_row_per_assignment_and_the_count():
    table = summary_table([sound("good"), broken("bad")]).splitlines()
    assert table[0].split() == ["assignment", "read", "in", "sync", "no", "leaks", "recorded", "reference",
                                "untouched", "seeds", "result"]
    assert table[1].split()[0] == "good" and table[1].endswith(" valid")
    assert table[2].split()[:2] == ["bad", "ok"] and "FAIL" in table[2] and table[2].endswith("NOT valid")
    assert table[-1] == "1 of 2 assignments valid"


def test_files_only_validation_of_a_course_reports_every_assignment(tmp_path):
    ci_course.write_assignment(tmp_path, "tiny", ci_course.tiny_notebook())
    stale = ci_course.write_assignment(tmp_path, "stale", ci_course.tiny_notebook("stale"))
    (stale.student_dir / "public_checks.json").write_text("{}")
    bad = tmp_path / "solutions" / "bad" / "bad.ipynb"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not a notebook")
    assert assignment_names(tmp_path) == ["bad", "stale", "tiny"]
    reports = {r.assignment: r for r in validate_course(tmp_path, None)}
    assert reports["tiny"].ok
    assert [s.status for s in reports["tiny"].steps][:3] == [PASSED, PASSED, PASSED]
    assert not reports["stale"].ok and "public_checks.json is out of date" in reports["stale"].problems[0]
    assert [s.status for s in reports["stale"].steps][1:3] == [FAILED, SKIPPED]
    assert not reports["bad"].ok and reports["bad"].steps[0].status == FAILED
    assert all(s.status == SKIPPED for s in reports["bad"].steps[1:])


def test_validate_all_on_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(GraderError, match="no assignment under"):
        validate_course(tmp_path, None)


@pytest.mark.parametrize("args, words", [
    ([], "name one ASSIGNMENT, or --all"),
    (["tiny", "--all"], "name one ASSIGNMENT, or --all"),
    (["fashion_cnn", "--sample", "3"], "go with --against"),
    (["--all", "--against", "."], "not with --all"),
])
def test_validate_refuses_options_that_do_not_go_together(args, words):
    done = CliRunner().invoke(main, ["validate", *args])
    assert done.exit_code == 2, done.output
    assert words in done.output


def test_seed_labels_and_the_reseeding_cell():
    assert seed_labels(3) == [SETUP_LABEL, "1", "2"]
    with pytest.raises(GraderError):
        seed_labels(0)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np"),
                                         nbformat.v4.new_code_cell("x = 1")])
    nb.cells[0].metadata["grader"] = {"task": None, "role": "setup"}
    nb.cells[1].metadata["grader"] = {"task": "t", "role": "answer"}
    assert reseeded(nb, SETUP_LABEL) is nb
    again = reseeded(nb, "2")
    assert len(nb.cells) == 2 and len(again.cells) == 3
    assert again.cells[1].metadata["grader"] == {"task": None, "role": "scaffold"}
    namespace: dict = {}
    exec("import numpy\n" + again.cells[1].source, namespace)  # noqa: S102 - the cell's own code, run as a kernel would
    import numpy

    first = numpy.random.rand()
    exec(again.cells[1].source, {})  # noqa: S102
    assert numpy.random.rand() == first  # seeded with 2 each time
    assert not [name for name in namespace if name.startswith("_grader")]


def measured(value, threshold=0.9, margin=0.01, kind="model_accuracy", epoch=None):
    return Measured("test accuracy", kind, value, threshold, margin, epoch, 10 if epoch else None,
                    "" if value is not None else "not exported")


def test_a_check_holds_only_with_its_margin_in_every_run():
    assert measured(0.91).holds  # exactly the margin (0.91 - 0.9 in floating point is 0.010000000000000009)
    assert not measured(0.9099).holds
    assert not measured(None).holds
    spread = spreads({SETUP_LABEL: [measured(0.95)], "1": [measured(0.905)], "2": [measured(0.93)]})[0]
    assert not spread.holds and spread.lowest_room == pytest.approx(0.005)
    text = spread.describe()
    assert "too tight" in text and "setup: 0.9500" in text and "1: 0.9050" in text and "2: 0.9300" in text
    assert "spread 0.0450" in text and "threshold 0.9" in text and "margin required 0.01" in text
    record = spread.to_record()
    assert record["by_seed"] == {SETUP_LABEL: 0.95, "1": 0.905, "2": 0.93} and record["min"] == 0.905
    held = CheckSpread("t", "training_stopped", 0.9, 0.001, {SETUP_LABEL: measured(0.95, kind="training_stopped",
                                                                                     epoch=3)})
    assert held.holds and "at epoch 3/10" in held.describe()
    last = CheckSpread("t", "training_stopped", 0.9, 0.001, {SETUP_LABEL: measured(0.95, kind="training_stopped",
                                                                                     epoch=10)})
    assert not last.holds and "at epoch 10/10 (no epoch to spare)" in last.describe()


def test_a_recorded_measurement_holds_later_thresholds_to_it(tmp_path):
    course = ci_course.write_assignment(tmp_path, "stopper", ci_course.stopper_notebook(0.9))
    assert recorded_margin_problems(course) == ([], ["training stopped at the threshold"])
    (course.solution_path.parent / "thresholds.json").write_text(json.dumps(
        {"no-dataset": {"checks": {"training stopped at the threshold": {"min": 0.905, "threshold": 0.9,
                                                                         "by_seed": {}}}}}))
    assert recorded_margin_problems(course) == ([], [])
    tighter = ci_course.write_assignment(tmp_path, "stopper", ci_course.stopper_notebook(0.9, margin=0.01))
    problems, _ = recorded_margin_problems(tighter)
    assert len(problems) == 1 and "by +0.0050, less than the margin 0.01" in problems[0]
    report = validate(tighter, None, execute=False)
    assert not report.ok and [s.status for s in report.steps if s.name.startswith("thresholds")] == [FAILED]
    # Where training stops depends on its threshold: a value recorded for another threshold holds nothing.
    other = ci_course.write_assignment(tmp_path, "stopper", ci_course.stopper_notebook(0.85))
    problems, _ = recorded_margin_problems(other)
    assert len(problems) == 1 and "recorded for the threshold 0.9, which is now 0.85: measure it again" in problems[0]


def stored(key, number_points=1.0, number_message="right", array_points=1.0, array_message="right"):
    return result(key, task("numbers", check("number of answer", number_points > 0, 1.0, number_message)),
                  task("array", check("array range", array_points > 0, 1.0, array_message),
                       check("array shape", True)))


def test_drift_names_each_check_whose_points_or_message_change():
    old = stored("ann")
    assert compare("ann", "Ann", old, stored("ann")) == []
    changes = compare("ann", "Ann", old, stored("ann", array_points=0, array_message="values above 17"))
    assert [(c.task, c.check, c.old_points, c.new_points, c.points_changed) for c in changes] == \
        [("Task array", "array range", 1.0, 0.0, True)]
    assert "Ann (ann): Task array: array range: 1 -> 0 points; was: right; now: values above 17" == \
        changes[0].describe()
    worded = compare("ann", "Ann", old, stored("ann", number_message="right, 42"))
    assert len(worded) == 1 and not worded[0].points_changed
    gone = compare("ann", "Ann", old, result("ann", task("numbers", check("number of answer", True))))
    assert {(c.check, c.new_points) for c in gone} == {("array range", None), ("array shape", None)}


def test_an_accept_file_is_a_drift_report_or_its_list_of_changes(tmp_path):
    change = CheckChange("ann", "Ann", "Task array", "array range", 1.0, 0.0, "right", "values above 17")
    report = tmp_path / "drift.json"
    report.write_text(json.dumps({"changes": [change.__dict__], "accepted": []}))
    assert read_accepted(report) == {change.key()}
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([change.__dict__]))
    assert read_accepted(listed) == {change.key()}
    listed.write_text('{"changes": [1]}')
    with pytest.raises(GraderError, match="not a drift report"):
        read_accepted(listed)


def test_a_sample_is_the_same_every_time_and_not_by_name_order():
    keys = [f"student{n:02}" for n in range(40)]
    first = sample_keys(keys, 5)
    assert first == sample_keys(reversed(keys), 5) and len(first) == 5
    assert first != keys[:5]
    assert sample_keys(keys, None) == keys == sample_keys(keys, 99)


def test_ci_init_writes_workflows_that_run_the_course_script(tmp_path):
    (tmp_path / "solutions").mkdir()
    written = write_ci_files(tmp_path, "https://example.org/grader.git", "v1", "ghcr.io/course/grader:1", pull=True)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [f.path for f in CI_FILES]
    for path in written:
        assert "{{" not in path.read_text().replace("${{ !cancelled() }}", "")
    github = yaml.safe_load((tmp_path / ".github/workflows/grader.yml").read_text())
    steps = github["jobs"]["validate"]["steps"]
    assert any(s.get("run") == "bash ci/grader-ci.sh" for s in steps)
    assert any("junit" in s.get("uses", "") and s["with"]["report_paths"] == "grader-validate.xml" for s in steps)
    assert github["env"]["GRADER_IMAGE"] == "ghcr.io/course/grader:1" and github["env"]["GRADER_PULL"] == "1"
    assert github["permissions"]["checks"] == "write"
    gitlab = yaml.safe_load((tmp_path / ".gitlab-ci.yml").read_text())["grader-validate"]
    assert gitlab["script"] == ["bash ci/grader-ci.sh"]
    assert gitlab["artifacts"]["reports"]["junit"] == "grader-validate.xml"
    assert gitlab["variables"]["GRADER_SOURCE"] == "https://example.org/grader.git"
    script = tmp_path / "ci" / "grader-ci.sh"
    assert script.stat().st_mode & 0o111
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert "grader validate --all --sandbox container --junit" in script.read_text()
    with pytest.raises(GraderError, match="already there"):
        write_ci_files(tmp_path, "https://example.org/grader.git")
    with pytest.raises(GraderError, match="cannot go into a CI file"):
        write_ci_files(tmp_path, 'https://x"; rm -rf /', force=True)
    with pytest.raises(GraderError, match="no solutions/ folder"):
        write_ci_files(tmp_path / "ci", "https://example.org/grader.git")
