"""The grader's overhead: grading a notebook vs executing it plainly with nbclient, side by side.

Run: .venv/bin/python benchmarks/grading_overhead.py [--assignment fashion_cnn] [--runs 3] [--quick]

Alternates the two, so that both see the same machine load, and prints each run,
the medians, their difference and ratio, and the peak memory of one grading
(resident set of the largest process: the student's kernel, or the grader itself).
--quick uses the reference trained on 3,000 images for one epoch, to measure the
fixed part of the overhead without a long training.
"""
from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import click
import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.course.assignment import load_assignment  # noqa: E402
from grader.grading.grade import grade_submission  # noqa: E402
from grader.sandbox.select import choose_sandbox  # noqa: E402
from tests.e2e import notebooks as nbs  # noqa: E402


def plain_execution(nb, handouts: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        for name, text in handouts.items():
            (Path(folder) / name).write_text(text)
        started = time.perf_counter()
        NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
        return time.perf_counter() - started


def grading(path: Path, course, sandbox) -> tuple[float, float]:
    started = time.perf_counter()
    result = grade_submission(path, course, sandbox)
    return time.perf_counter() - started, result.points


@click.command()
@click.option("--runs", default=3, show_default=True)
@click.option("--quick", is_flag=True, help="short training, to see the fixed overhead")
@click.option("--sandbox", "sandbox_name", default="bubblewrap", show_default=True)
@click.option("--assignment", default="fashion_cnn", show_default=True)
def main(runs: int, quick: bool, sandbox_name: str, assignment: str) -> None:
    course = load_assignment(assignment)
    nb = nbs.quick(course.reference_submission()) if quick else course.reference_submission()
    sandbox = choose_sandbox(sandbox_name)
    graded, plain = [], []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.ipynb"
        nbformat.write(nb, path)
        for run in range(runs):
            seconds, points = grading(path, course, sandbox)
            graded.append(seconds)
            plain.append(plain_execution(nbformat.read(path, as_version=4), course.handouts()))
            print(f"run {run + 1}: graded in {graded[-1]:.1f} s ({points:g} points, {sandbox.name});"
                  f" plain nbclient {plain[-1]:.1f} s", flush=True)
    g, p = statistics.median(graded), statistics.median(plain)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    itself = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"median grading {g:.1f} s, median plain execution {p:.1f} s: overhead {g - p:+.1f} s,"
          f" ratio {g / p:.2f}")
    print(f"peak resident memory: largest child process {children:.0f} MB (the kernel), this process"
          f" {itself:.0f} MB (host-side checks and plain execution's client)")


if __name__ == "__main__":
    main()
