"""Batch grading side by side, in one run, on the same real submissions: plain nbclient execution of a notebook,
`grader grade` as one whole process, `otter run` (for an otter assignment, where otter-grader is installed), and a
batch of N copies with 1 and with 2 workers (wall time per submission, and its ratio to plain execution).

Run: .venv/bin/python benchmarks/batch_throughput.py [--assignment by_hand] [--copies 6] [--runs 3]

The submission is the assignment's complete example (examples/<assignment>/<assignment>_complete.ipynb).
Prints a table; asserts nothing.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.grading_overhead import plain_execution  # noqa: E402
from grader.assignment import load_assignment  # noqa: E402


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"{command[:4]} failed: {done.stderr[-1500:]}")
    return time.perf_counter() - started


def otter_run(course, notebook: Path, folder: Path) -> float | None:
    """``otter run`` with the autograder zip ``otter assign`` made, for an otter assignment; else None."""
    build = getattr(course, "build", None)
    if build is None or shutil.which("otter", path=str(Path(sys.executable).parent)) is None:
        return None
    bundle = sorted(build.autograder_notebook.parent.glob("*-autograder_*.zip"))[-1]
    folder.mkdir(parents=True, exist_ok=True)
    return timed([str(Path(sys.executable).parent / "otter"), "run", "-a", str(bundle), "-o", str(folder),
                  str(notebook)])


@click.command()
@click.option("--assignment", default="by_hand", show_default=True)
@click.option("--copies", default=6, show_default=True, help="submissions in each batch")
@click.option("--runs", default=3, show_default=True, help="runs of the single-notebook measures (median)")
@click.option("--sandbox", default="bubblewrap", show_default=True)
def main(assignment: str, copies: int, runs: int, sandbox: str) -> None:
    course = load_assignment(assignment)
    example = REPO / "examples" / assignment / f"{assignment}_complete.ipynb"
    grader = [sys.executable, "-m", "grader"]
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        plain, whole, otter = [], [], []
        nb = course.clean_submission(nbformat.read(example, as_version=4))
        for run in range(runs):  # alternating, so that each sees the same machine load
            # the notebook beside its files, as students have it (otter's notebooks read their own file)
            plain.append(plain_execution(nb, {**course.handouts(), course.student_notebook_path.name:
                                              nbformat.writes(nb)}))
            whole.append(timed([*grader, "grade", str(example), "-a", assignment, "--sandbox", sandbox, "--quiet"]))
            measured = otter_run(course, example, folder / f"otter-{run}")
            if measured is not None:
                otter.append(measured)
        rows.append(("plain nbclient execution", statistics.median(plain)))
        rows.append(("grader grade, one whole process", statistics.median(whole)))
        if otter:
            rows.append(("otter run (its autograder zip, no container)", statistics.median(otter)))
        source = folder / "submissions"
        source.mkdir()
        for number in range(copies):
            shutil.copyfile(example, source / f"student{number:03d}.ipynb")
        for workers in (1, 2):
            seconds = timed([*grader, "batch", str(source), "-a", assignment, "--out", str(folder / f"out-{workers}"),
                             "--sandbox", sandbox, "--workers", str(workers)])
            rows.append((f"batch of {copies}, {workers} worker{'s' * (workers > 1)}: per submission",
                         seconds / copies))
        started = time.perf_counter()
        timed([*grader, "batch", str(source), "-a", assignment, "--out", str(folder / "out-2"), "--sandbox", sandbox])
        rows.append(("the same batch again (every result reused): per submission",
                     (time.perf_counter() - started) / copies))
        phases = json.loads(next((folder / "out-1" / "results").glob("*.json")).read_text())["execution"]
    base = rows[0][1]
    click.echo(f"\n{assignment}, {sandbox}, medians of {runs} for single notebooks\n")
    click.echo(f"| {'what':<52} | seconds | ratio to plain |\n|{'-' * 54}|---------|----------------|")
    for what, seconds in rows:
        click.echo(f"| {what:<52} | {seconds:7.2f} | {seconds / base:14.2f} |")
    click.echo(f"\none grading in the batch of 1 worker, phase by phase (execution.phases; the sandbox's"
               f" {phases['seconds']:.2f} s include the runner's own {phases.get('runner_seconds')} s, kernel start"
               " to last probe):")
    for phase, seconds in phases.get("phases", {}).items():
        click.echo(f"  {phase:<24} {seconds:8.3f} s")


if __name__ == "__main__":
    main()
