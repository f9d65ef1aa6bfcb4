"""The time to make every report again from stored results (``grader report``), for a class of 300.

    .venv/bin/python benchmarks/report_regeneration.py [--from OUT_DIR] [-a by_hand] [--results 300] [--runs 3]

Copies the results of a graded folder (default: ``grading-output/examples/<assignment>``, which
``scripts/grade-examples.sh`` writes; graded here with ``grader batch`` when it is missing) over and over into
``--results`` results, each with its executed notebook, then times ``regenerate`` (gradebook, Canvas CSV,
Gradescope files, feedback in HTML and Markdown, the report with its figures and the similarity check) ``--runs``
times and prints the median.  The copies are identical, so the similarity check compares every pair of copies of
the complete example: its worst case.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.course.assignment import load_assignment  # noqa: E402
from grader.reports import regenerate  # noqa: E402


def graded_folder(source: Path | None, assignment: str, scratch: Path) -> Path:
    source = source or ROOT / "grading-output" / "examples" / assignment
    if (source / "results").is_dir():
        return source
    out = scratch / "graded"
    subprocess.run([sys.executable, "-m", "grader", "batch", str(ROOT / "examples" / assignment), "-a", assignment,
                    "--out", str(out)], check=True, cwd=ROOT)
    return out


def copy_class(source: Path, target: Path, count: int) -> None:
    """``count`` results named student-NNN, cycling over the source's results and executed notebooks."""
    stems = sorted(p.stem for p in (source / "results").glob("*.json"))
    (target / "results").mkdir(parents=True)
    for number in range(count):
        stem, key = stems[number % len(stems)], f"student-{number:03d}"
        shutil.copy(source / "results" / f"{stem}.json", target / "results" / f"{key}.json")
        if (source / "executed" / stem).is_dir():
            shutil.copytree(source / "executed" / stem, target / "executed" / key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path)
    parser.add_argument("-a", "--assignment", default="by_hand")
    parser.add_argument("--results", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    course = load_assignment(args.assignment)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "class"
        copy_class(graded_folder(args.source, args.assignment, Path(scratch)), folder, args.results)
        times = []
        for run in range(args.runs):
            started = time.perf_counter()
            summary = regenerate(folder, course, to=Path(scratch) / f"report-{run}")
            times.append(time.perf_counter() - started)
    print(f"{args.results} results of {args.assignment}: regenerating every report takes"
          f" {statistics.median(times):.2f} s (median of {args.runs}: {', '.join(f'{t:.2f}' for t in times)});"
          f" {summary.similar_pairs} similar pairs found, {summary.similar_shown} shown")


if __name__ == "__main__":
    main()
