"""A resident checker's answer to one executed submission, this working tree's against another revision's, side by
side.

Run: .venv/bin/python benchmarks/checks_vs_revision.py --baseline HEAD~1 [--assignment mnist_callback,lenet5]
     [--runs 7]

Executes each assignment's complete example once (bubblewrap, a batch worker), then asks two resident checkers,
warmed up side by side, to check that same evidence ``--runs`` times each, alternating: this tree's and the
baseline's (a ``git worktree`` of it, removed after). Prints each run's seconds (the host's request to the answer),
the medians, their difference and ratio, and both points (which must be equal). The first check of each is what
``grader grade`` pays; the rest, what each submission of a batch pays (hidden there, behind the next notebook).
Asserts nothing.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.batch.workers import GradingJob, Worker, assignment_reference  # noqa: E402
from grader.course.assignment import load_assignment  # noqa: E402
from grader.grading.checker import ResidentChecker  # noqa: E402
from grader.grading.grade import Executed  # noqa: E402
from grader.results import SubmissionResult  # noqa: E402


def executed_example(assignment, scratch: Path) -> Executed:
    from dataclasses import asdict

    notebook = REPO / "examples" / assignment.name / f"{assignment.name}_complete.ipynb"
    job = GradingJob(key=notebook.stem, notebook=str(notebook), assignment=assignment_reference(assignment),
                     assignment_sha256="-", grader_version="-", sandbox="bubblewrap",
                     limits=asdict(assignment.spec.limits))
    worker = Worker(assignment, "bubblewrap", 0, scratch / "executing")
    try:
        done = worker.execute(job)
    finally:
        worker.checker.close()
    if not isinstance(done, Executed):
        raise click.ClickException(f"{notebook.name} did not execute: {done.error}")
    return done


def checker_in(tree: Path, reference: str) -> ResidentChecker:
    """A resident checker whose ``grader`` is ``tree``'s (``python -m`` puts its working folder first)."""
    here = os.getcwd()
    os.chdir(tree)
    try:
        return ResidentChecker(reference)
    finally:
        os.chdir(here)


@click.command()
@click.option("--baseline", required=True, help="the revision to compare with (HEAD~1, a commit)")
@click.option("--assignment", "assignments", default="mnist_callback,lenet5", show_default=True)
@click.option("--runs", default=7, show_default=True)
def main(baseline: str, assignments: str, runs: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="notebook-grader-bench-"))
    os.chmod(scratch, 0o755)  # the sandbox's user passes through it
    tree = scratch / "baseline"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree), baseline], check=True)
    try:
        for name in assignments.split(","):
            assignment = load_assignment(name)
            executed = executed_example(assignment, scratch)
            checkers = {"this tree": checker_in(REPO, assignment_reference(assignment)),
                        baseline: checker_in(tree, assignment_reference(assignment))}
            seconds: dict[str, list[float]] = {which: [] for which in checkers}
            points: dict[str, set[float]] = {which: set() for which in checkers}
            try:
                time.sleep(20)  # both warm (TensorFlow imported, data sets loaded)
                for run in range(runs):
                    order = list(checkers) if run % 2 == 0 else list(reversed(checkers))
                    for which in order:
                        started = time.perf_counter()
                        result = SubmissionResult.from_dict(checkers[which].check(executed.to_wire()))
                        seconds[which].append(time.perf_counter() - started)
                        points[which].add(result.points)
                    print(f"{name} run {run + 1}: " + ", ".join(f"{w} {s[-1]:.3f} s" for w, s in seconds.items()),
                          flush=True)
            finally:
                for checker in checkers.values():
                    checker.close()
            new, old = (statistics.median(seconds[w]) for w in checkers)
            print(f"{name} (medians of {runs}): this tree {new:.3f} s, {baseline} {old:.3f} s: {new - old:+.3f} s,"
                  f" ratio {new / old:.2f}; first check {seconds['this tree'][0]:.3f} s vs"
                  f" {seconds[baseline][0]:.3f} s; points {sorted(points['this tree'])} vs"
                  f" {sorted(points[baseline])}\n",
                  flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
