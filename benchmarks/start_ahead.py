"""What starting the next submission's sandbox ahead saves: the same batch with it and without it, alternating,
in one run (in this process, as `grader batch` runs it), wall time per submission and the ratio.

Run: .venv/bin/python benchmarks/start_ahead.py [--assignment by_hand] [--copies 20] [--runs 3] [--workers 1]

Prints a table; asserts nothing.
"""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.batch.run import grade_folder
from grader.course.assignment import load_assignment  # noqa: E402


@click.command()
@click.option("--assignment", default="by_hand", show_default=True)
@click.option("--copies", default=20, show_default=True)
@click.option("--runs", default=3, show_default=True)
@click.option("--workers", default=1, show_default=True)
@click.option("--sandbox", default="bubblewrap", show_default=True)
def main(assignment: str, copies: int, runs: int, workers: int, sandbox: str) -> None:
    course = load_assignment(assignment)
    example = REPO / "examples" / assignment / f"{assignment}_complete.ipynb"
    seconds: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "in"
        source.mkdir()
        for number in range(copies):
            shutil.copyfile(example, source / f"student{number:03d}.ipynb")
        for run in range(runs):
            for ahead in (run % 2 == 0, run % 2 == 1):  # alternating which goes first
                out = Path(scratch) / f"out-{run}-{ahead}"
                started = time.perf_counter()
                summary = grade_folder(source, course, out, sandbox=sandbox, workers=workers, start_ahead=ahead)
                seconds[ahead].append((time.perf_counter() - started) / copies)
                assert summary.graded == copies
    cold, warm = statistics.median(seconds[False]), statistics.median(seconds[True])
    click.echo(f"\n{assignment}, {sandbox}, batch of {copies}, {workers} worker(s), medians of {runs}\n")
    click.echo("| per submission | seconds | runs |\n|---|---|---|")
    runs = {ahead: ", ".join(f"{s:.2f}" for s in seconds[ahead]) for ahead in (False, True)}
    click.echo(f"| each sandbox started when its turn comes | {cold:.2f} | {runs[False]} |")
    click.echo(f"| the next sandbox (and its kernel, its imports ahead) started while one runs | {warm:.2f}"
               f" | {runs[True]} |")
    click.echo(f"\nratio {warm / cold:.3f} ({cold - warm:+.2f} s per submission saved)")


if __name__ == "__main__":
    main()
