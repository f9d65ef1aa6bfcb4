"""The evidence channel under attack, in both sandboxes: every attack of ``channel_attacks`` graded in one batch.

What the attacks must never achieve: a point for a forged fact, a host file read through a name the sandbox
wrote, a process of the student's alive once the host reads, a control character in the instructor's terminal or
feedback, a batch or report stopped.  What they may achieve: losing the points of what they broke, with a reason.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from grader.errors import SandboxUnavailableError

from . import channel_attacks as attacks_module
from . import notebooks as nbs
from .conftest import points_by_task, read_results, run_cli, task

pytestmark = pytest.mark.slow
SANDBOXES = ["bubblewrap", pytest.param("container", marks=pytest.mark.container)]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def channel_assignment(tmp_path_factory):
    from grader.course.assignment import load_assignment

    course = load_assignment(attacks_module.write_solution(tmp_path_factory.mktemp("channel")))
    course.write_student_files()
    return course


@pytest.fixture(scope="module")
def canary(tmp_path_factory) -> Path:
    """A host file an attack points at: if the host ever read it, its shape would show in a student's feedback."""
    path = tmp_path_factory.mktemp("canary") / "canary.npy"
    np.save(path, np.full((3, 5, 7), 7.0))
    return path


def _available(sandbox: str) -> None:
    if sandbox != "container":
        return
    from grader.sandbox.container import ContainerSandbox

    try:
        ContainerSandbox()
    except SandboxUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the container tests, but: {exc}")
        pytest.skip(f"no container sandbox here: {exc}")


@pytest.fixture(scope="module", params=SANDBOXES)
def graded(request, channel_assignment, canary, tmp_path_factory):
    sandbox = request.param
    _available(sandbox)
    folder = tmp_path_factory.mktemp(f"attacks-{sandbox}")
    found = attacks_module.attacks(canary)
    for name, attack in found.items():
        nbs.write(attacks_module.notebook(channel_assignment, attack), folder / "in", name)
    done = run_cli("batch", str(folder / "in"), "-a", str(channel_assignment.solution_path), "--out",
                   str(folder / "out"), "--sandbox", sandbox, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"sandbox": sandbox, "attacks": found, "results": read_results(folder / "out"), "out": folder / "out",
            "console": done.stdout + done.stderr, "canary": canary}


def test_every_attack_gets_a_result_in_the_sandbox_asked_for(graded):
    assert sorted(graded["results"]) == sorted(graded["attacks"])
    assert {r.sandbox for r in graded["results"].values()} == {graded["sandbox"]}


@pytest.mark.parametrize("name", sorted(attacks_module.attacks(Path("/canary")).keys()))
def test_an_attack_keeps_what_it_earned_and_no_more(graded, name):
    attack, result = graded["attacks"][name], graded["results"][name]
    assert points_by_task(result) == attack.points, result.feedback_text()
    if attack.says:
        where, phrase = attack.says
        assert phrase in task(result, where).feedback, task(result, where).feedback


def test_no_host_file_was_read_through_a_name_the_sandbox_wrote(graded):
    for name, result in graded["results"].items():
        text = result.feedback_text() + str(result.execution)
        assert "canary" not in text and "(3, 5, 7)" not in text, name


def test_no_control_character_reaches_the_feedback_or_the_console(graded):
    for name, result in graded["results"].items():
        for line in result.feedback_text().splitlines():
            assert not CONTROL.search(line), (name, line)
            assert not line.lstrip().startswith("[PASS] hidden check"), (name, line)
    for path in (graded["out"] / "feedback").glob("*"):
        assert not CONTROL.search(path.read_text().replace("\n", "")), path
    assert not CONTROL.search(graded["console"].replace("\n", "").replace("\r", "")), "console"


def test_the_escape_codes_are_shown_visibly(graded):
    feedback = task(graded["results"]["escape_codes"], "hand").feedback
    assert "\\x1b[2J" in feedback and "\\n[PASS] hidden check" in feedback


def test_no_process_of_an_attack_outlives_its_sandbox(graded):
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if attacks_module.MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                left.append(pid)
        except OSError:
            continue
    assert left == []


def test_the_executed_notebook_is_the_runners(graded):
    """A daemon rewrote executed.ipynb and status.json in the export folder until it was killed: the host kept the
    notebook the runner reported on its channel."""
    for name in ("daemon", "daemon_forges_after_the_end", "forge_files"):
        text = (graded["out"] / "executed" / name / "executed.ipynb").read_text()
        assert '"forged": true' not in text and "def convolve" in text, name


def test_the_runners_descriptors_cannot_be_opened_by_the_kernel(graded):
    printed = nbs.printed(graded["out"] / "executed" / "forge_channel" / "executed.ipynb")
    assert "OPENED 0" in printed, printed[-2000:]


def test_a_huge_error_is_recorded_bounded(graded):
    result = graded["results"]["huge_error"]
    assert len(task(result, "hand").feedback) < 5000
    assert any(c["status"] == "error" for c in result.execution["cells"])
