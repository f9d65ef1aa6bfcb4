"""Helpers for end-to-end tests: the CLI run as users run it, and result files read back."""
from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import pytest

from grader.results import SubmissionResult

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def read_results(out_dir: Path) -> dict[str, SubmissionResult]:
    return {p.stem: SubmissionResult.from_dict(json.loads(p.read_text()))
            for p in sorted((out_dir / "results").glob("*.json"))}


def read_gradebook(out_dir: Path) -> list[dict[str, str]]:
    with (out_dir / "gradebook.csv").open() as handle:
        return list(csv.DictReader(handle))


def task(result: SubmissionResult, name: str):
    return next(t for t in result.tasks if t.name == name)


def check_result(result: SubmissionResult, task_name: str, kind: str, evidence_word: str = ""):
    return next(c for c in task(result, task_name).checks if c.kind == kind and evidence_word in c.title)


def without_times(result: SubmissionResult) -> dict:
    """A result as data without what differs from run to run (figures of time, and the tail of the sandbox's log,
    where TensorFlow stamps its messages with the time) or from where it was graded (its provenance, which only a
    batch records)."""
    data = result.to_dict()
    data.pop("provenance")
    execution = data.pop("execution")
    times = ("seconds", "runner_seconds", "kernel_seconds", "checks_seconds", "phases", "log_tail")
    return {**data, "execution": {k: v for k, v in execution.items() if k not in times}}


def job_for(assignment, notebook: Path, sandbox: str = "bubblewrap"):
    """A batch worker's job (``GradingJob``) for ``notebook``, keyed by the file's name."""
    from grader.batch.workers import GradingJob, assignment_reference

    return GradingJob(key=notebook.stem, notebook=str(notebook), assignment=assignment_reference(assignment),
                      assignment_sha256="-", grader_version="-", sandbox=sandbox,
                      limits=asdict(assignment.spec.limits))


def slow_and_quick(assignment, folder: Path) -> list[Path]:
    """A tiny submission that sleeps 8 s (a_slow), then two quick ones (b_quick0, b_quick1): all full marks."""
    from . import notebooks as nbs

    slow = nbs.write(nbs.insert_cell(nbs.reference(assignment), "array", "import time\ntime.sleep(8)"), folder,
                     "a_slow")
    return [slow, *(nbs.write(nbs.reference(assignment), folder, f"b_quick{n}") for n in range(2))]


def points_by_task(result: SubmissionResult) -> dict[str, float]:
    return {t.name: t.points for t in result.tasks}


@pytest.fixture(scope="session")
def sandbox():
    from grader.sandbox.select import choose_sandbox

    return choose_sandbox("bubblewrap")  # tests/e2e/test_container.py covers the container sandbox


class Listener:
    """A TCP server on the host's loopback that counts connections."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                self.server.accept()[0].close()
                self.connections += 1
            except OSError:
                continue

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="session")
def tiny_assignment(tmp_path_factory):
    """The tiny NumPy-only assignment of the sandbox suites."""
    from grader.course.assignment import load_assignment

    from . import tiny

    course = load_assignment(tiny.write_solution(tmp_path_factory.mktemp("tiny")))
    course.write_student_files()  # assignments/tiny/ beside solutions/, as `grader generate` writes it
    return course


def grade_one(path: Path, assignment_arg: str, *options: str, timeout: float = 1800) -> SubmissionResult:
    """``grader grade`` as a user runs it, the result read back from its JSON."""
    out = path.with_suffix(".result.json")
    done = run_cli("grade", str(path), "-a", assignment_arg, "--json-out", str(out), "--quiet", *options,
                   timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return SubmissionResult.from_dict(json.loads(out.read_text()))


@pytest.fixture(scope="session")
def quick_reference_graded(assignment, tmp_path_factory):
    """The reference solution trained on 3,000 images for one epoch, graded once per session in bubblewrap:
    the suites that compare with it (mistakes, determinism, the container) share it."""
    from . import notebooks as nbs

    path = nbs.write(nbs.quick(nbs.reference(assignment)), tmp_path_factory.mktemp("quick"), "quick_reference")
    return path, grade_one(path, "fashion_cnn", "--sandbox", "bubblewrap")


def course_assignments() -> list[str]:
    """Every assignment of the course: a solution notebook under solutions/<name>/<name>.ipynb."""
    return sorted(p.parent.name for p in (REPO / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)


@pytest.fixture(scope="session")
def course_names() -> list[str]:
    return course_assignments()


class GradedExamples:
    """The main job's output: one folder of results per assignment."""

    def __init__(self, out: Path, stdout: str) -> None:
        self.out = out
        self.stdout = stdout

    def results(self, assignment: str) -> dict[str, SubmissionResult]:
        return read_results(self.out / assignment)

    def result(self, assignment: str, role: str) -> SubmissionResult:
        """The example named ``<assignment>_<role>`` (complete: the reference solution; untouched: the template)."""
        return self.results(assignment)[f"{assignment}_{role}"]


@pytest.fixture(scope="session")
def examples_graded(tmp_path_factory) -> GradedExamples:
    """The README's main job, run once per session: it grades each reference solution in full."""
    out = tmp_path_factory.mktemp("examples")
    done = subprocess.run(["bash", "scripts/grade-examples.sh", "--out", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=5400)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return GradedExamples(out, done.stdout)
