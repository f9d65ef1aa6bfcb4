"""The course's own CI, run as a course's CI runs it, on course folders of NumPy-only assignments (nothing trains in
TensorFlow): ``grader validate --all`` with a broken assignment among good ones (exit code, JUnit read back),
the commands of the CI files ``grader ci-init`` writes on a fresh course folder (the container sandbox), a
threshold too tight for the reference's seeds, and a changed check whose drift report names exactly the students
it affects."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from . import ci_course
from . import notebooks as nbs

pytestmark = pytest.mark.slow


def grader(course: Path, *args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """The grader's command line run in the course's folder, as its CI runs it."""
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=course, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def suites(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return {suite.get("name"): suite for suite in root.findall("testsuite")}


def outcome(suite: ET.Element, step: str) -> str:
    case = suite.find(f"testcase[@name='{step}']")
    assert case is not None, f"no test case {step!r} in {suite.get('name')}"
    return "failed" if case.find("failure") is not None else "skipped" if case.find("skipped") is not None \
        else "passed"


def test_validate_all_fails_for_the_one_broken_assignment_and_says_where(tmp_path):
    course = tmp_path / "course"
    for name in ("first", "second"):
        ci_course.write_assignment(course, name, ci_course.tiny_notebook(name))
    wrong = ci_course.tiny_notebook("wrong_key")
    nbs.replace(wrong, "answer = 6 * 7  # SOLUTION", "answer = 6 * 7 + 1  # SOLUTION")  # the check still wants 42
    ci_course.write_assignment(course, "wrong_key", wrong)
    unreadable = course / "solutions" / "unreadable" / "unreadable.ipynb"
    unreadable.parent.mkdir(parents=True)
    unreadable.write_text('{"cells": [')
    done = grader(course, "validate", "--all", "--sandbox", "bubblewrap", "--junit", "reports/validate.xml")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    table = done.stdout[done.stdout.index("assignment "):].splitlines()
    verdicts = {row.split()[0]: row.endswith("NOT valid") for row in table[1:-2]}
    assert verdicts == {"first": False, "second": False, "unreadable": True, "wrong_key": True}
    assert table[-2] == "2 of 4 assignments valid" and table[-1] == "NOT valid"
    found = suites(course / "reports" / "validate.xml")
    assert sorted(found) == ["first", "second", "unreadable", "wrong_key"]
    for name in ("first", "second"):
        assert found[name].get("failures") == "0"
        assert {outcome(found[name], s) for s in ("student files in sync", "no answer in the student files",
                                                   "reference scores full marks",
                                                   "untouched notebook scores zero")} == {"passed"}
    assert found["wrong_key"].get("failures") == "1"
    assert outcome(found["wrong_key"], "reference scores full marks") == "failed"
    assert outcome(found["wrong_key"], "untouched notebook scores zero") == "passed"
    failure = found["wrong_key"].find("testcase[@name='reference scores full marks']/failure")
    assert "the reference solution scores 3/4" in failure.text and "number of answer" in failure.text
    assert outcome(found["unreadable"], "solution notebook read") == "failed"
    assert outcome(found["unreadable"], "reference scores full marks") == "skipped"


def test_the_ci_files_commands_validate_a_fresh_course_in_the_container(tmp_path):
    """What GitHub Actions and GitLab CI run (``bash ci/grader-ci.sh``), here with the grader installed and the
    image built already (GRADER_INSTALL=0, GRADER_BUILD=0: scripts/test.sh built it): the validation itself runs
    exactly as in CI, in the container sandbox."""
    course = tmp_path / "course"
    solution = course / "solutions" / "first_steps" / "first_steps.ipynb"
    solution.parent.mkdir(parents=True)
    solution.write_text(json.dumps(ci_course.tiny_notebook("first_steps")))
    made = grader(course, "generate", "first_steps")  # as docs/authoring.md says, in the course's folder
    assert made.returncode == 0, made.stderr[-2000:]
    assert (course / "assignments" / "first_steps" / "first_steps.ipynb").is_file()
    init = grader(course, "ci-init", ".", "--grader-source", "https://example.org/notebook-grader.git")
    assert init.returncode == 0, init.stderr
    assert (course / ".github" / "workflows" / "grader.yml").is_file() and (course / ".gitlab-ci.yml").is_file()
    env = {**os.environ, "GRADER_INSTALL": "0", "GRADER_BUILD": "0",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "ci/grader-ci.sh"], cwd=course, capture_output=True, text=True, timeout=600,
                          env=env)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "validating every assignment in the container sandbox" in done.stderr
    found = suites(course / "grader-validate.xml")
    assert list(found) == ["first_steps"] and found["first_steps"].get("failures") == "0"
    reference = found["first_steps"].find("testcase[@name='reference scores full marks']/system-out")
    assert reference.text == "4/4 in the container sandbox"
    edited = ci_course.edit(ci_course.tiny_notebook("first_steps"), "# A tiny assignment", "# A revised assignment")
    solution.write_text(json.dumps(edited))  # a change pushed without `grader generate`: CI fails on it
    again = subprocess.run(["bash", "ci/grader-ci.sh"], cwd=course, capture_output=True, text=True, timeout=600,
                           env=env)
    assert again.returncode == 1, again.stdout + again.stderr[-3000:]
    assert outcome(suites(course / "grader-validate.xml")["first_steps"], "student files in sync") == "failed"


def test_a_threshold_too_tight_for_the_seeds_fails_and_is_recorded(tmp_path):
    course = tmp_path / "course"
    ci_course.write_assignment(course, "stopper", ci_course.stopper_notebook(0.9))
    tight = ci_course.write_assignment(course, "tight", ci_course.stopper_notebook(0.95, name="tight"))
    done = grader(course, "validate", "--all", "--seeds", "3", "--sandbox", "bubblewrap", "--junit", "v.xml")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    lines = {line.split(":")[0]: line for line in done.stdout.splitlines() if ": seeds: " in line}
    # The reference passes the check under every seed (full marks each run), the tight one by too little:
    assert lines["tight"] == ("tight: seeds: training stopped at the threshold: too tight: setup: 0.9550 at epoch"
                              " 2/40, 1: 0.9900 at epoch 1/40, 2: 0.9500 at epoch 2/40; spread 0.0400 (min 0.9500,"
                              " max 0.9900); threshold 0.95, smallest room +0.0000, margin required 0.001")
    assert "stopper: seeds: training stopped at the threshold: holds: setup: 0.9450" in lines["stopper"]
    found = suites(course / "v.xml")
    assert outcome(found["tight"], "thresholds hold across seeds") == "failed"
    assert outcome(found["tight"], "reference scores full marks") == "passed"
    assert outcome(found["stopper"], "thresholds hold across seeds") == "passed"
    record = json.loads((tight.solution_path.parent / "thresholds.json").read_text())["no-dataset"]
    assert record["checks"]["training stopped at the threshold"]["by_seed"] == {"setup": 0.955, "1": 0.99,
                                                                                  "2": 0.95}
    assert record["seeds"] == ["setup", "1", "2"]
    # Recorded, the margin now holds every later validation to it without running anything:
    files_only = grader(course, "validate", "tight", "--files-only")
    assert files_only.returncode == 1 and "less than the margin 0.001" in files_only.stderr
    assert grader(course, "validate", "stopper", "--files-only").returncode == 0


def test_a_changed_check_names_exactly_the_students_whose_grades_it_changes(tmp_path):
    course_dir = tmp_path / "course"
    course = ci_course.write_assignment(course_dir, "tiny", ci_course.tiny_notebook())
    hand_in = tmp_path / "hand_in"
    reference = nbs.reference(course)
    nbs.write(reference, hand_in, "ann")  # all right: values up to 18
    nbs.write(nbs.set_answer(nbs.reference(course), "array", "values = np.arange(10)"), hand_in, "bob")  # up to 9
    nbs.write(nbs.set_answer(nbs.reference(course), "numbers", "answer = 41"), hand_in, "cat")  # up to 18
    nbs.write(course.template(), hand_in, "dan")  # nothing done
    out = tmp_path / "out"
    batch = grader(course_dir, "batch", str(hand_in), "-a", "tiny", "--out", str(out), "--sandbox", "bubblewrap")
    assert batch.returncode == 0, batch.stderr[-3000:]
    unchanged = grader(course_dir, "validate", "tiny", "--against", str(out), "--sandbox", "bubblewrap")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr[-2000:]
    assert "regraded 0, 4 graded from unchanged inputs" in unchanged.stdout
    changed = ci_course.tiny_notebook()
    ci_course.edit(changed, "min: 0, max: 18", "min: 0, max: 17")  # a hidden check made stricter mid-term
    ci_course.write_assignment(course_dir, "tiny", changed)
    done = grader(course_dir, "validate", "tiny", "--against", str(out), "--sandbox", "bubblewrap",
                  "--drift-out", "drift.json")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    report = json.loads((course_dir / "drift.json").read_text())
    assert sorted(report["regraded"]) == ["ann", "bob", "cat", "dan"]
    assert sorted({c["student"] for c in report["changes"]}) == ["ann", "cat"]
    assert {(c["student"], c["check"], c["old_points"], c["new_points"]) for c in report["changes"]} == \
        {("ann", "array range of values", 1.0, 0.0), ("cat", "array range of values", 1.0, 0.0)}
    assert all(c["old_message"] != c["new_message"] for c in report["changes"])
    assert report["totals"] == {"ann": {"old": 4.0, "new": 3.0}, "cat": {"old": 3.0, "new": 2.0}}
    assert "score changes: ann: 4 -> 3" in done.stdout and "score changes: cat: 3 -> 2" in done.stdout
    assert "bob" not in "".join(line for line in done.stdout.splitlines() if line.startswith(("changed", "score")))
    assert done.stdout.strip().endswith("grades would change")
    accepted = grader(course_dir, "validate", "tiny", "--against", str(out), "--sandbox", "bubblewrap",
                      "--accept", "drift.json")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr[-2000:]
    assert "2 students' scores would change (0 check changes not accepted, 2 accepted)" in accepted.stdout
