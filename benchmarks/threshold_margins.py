"""Accuracy of a reference solution's models over several random seeds, against the thresholds; recorded.

Run: .venv/bin/python benchmarks/threshold_margins.py --assignment fashion_cnn [--seeds 20,1,2] [--record]

Each seed grades the reference solution in full (real training in the sandbox), re-seeded right after its setup
cell (seed 20 is the grading seed itself); prints each model's accuracy as the grader measures it, the minimum
over the seeds and its margin over the threshold.  With --record, writes them to
solutions/<assignment>/thresholds.json (with the data each was measured on: for MNIST, the full file or the
subset), where the thresholds' justification is kept.
"""
from __future__ import annotations

import datetime
import json
import re
import statistics
import tempfile
from pathlib import Path

import click
import nbformat

from grader.checks.accuracy import minimum_accuracy
from grader.course.assignment import load_assignment
from grader.grading.grade import datasets_used, grade_submission
from grader.inside import datasets
from grader.sandbox.bubblewrap import BubblewrapSandbox

MEASURED = re.compile(r"measured by the grader on (.*?): ([0-9.]+)")


def reseeded_reference(course, seed: int):
    nb = course.reference_submission()
    if seed == 20:
        return nb  # the setup cell's own seed
    # The grader restores the setup cell (and its seed) from the assignment, so re-seed in a cell of our own.
    setup = max(i for i, c in enumerate(nb.cells) if c.metadata["grader"]["role"] == "setup")
    reseed = nbformat.v4.new_code_cell(f"tf.keras.utils.set_random_seed({seed})")
    reseed["id"] = "reseed"
    reseed.metadata["grader"] = {"task": None, "role": "scaffold"}
    nb.cells.insert(setup + 1, reseed)
    return nb


@click.command()
@click.option("--assignment", default="fashion_cnn")
@click.option("--seeds", default="20,1,2")
@click.option("--record", is_flag=True, help="write solutions/<assignment>/thresholds.json")
def main(assignment: str, seeds: str, record: bool) -> None:
    course = load_assignment(assignment)
    checks = {c.title: c for t in course.spec.tasks for c in t.checks if c.kind == "model_accuracy"}
    found: dict[str, dict[int, float]] = {}
    seconds: dict[int, float] = {}
    for seed in [int(s) for s in seeds.split(",")]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "reference.ipynb"
            nbformat.write(reseeded_reference(course, seed), path)
            result = grade_submission(path, course, BubblewrapSandbox())
        seconds[seed] = float(result.execution.get("seconds", 0))
        for task in result.tasks:
            for check in task.checks:
                match = MEASURED.search(check.message)
                if check.kind == "model_accuracy" and match:
                    found.setdefault(check.title, {})[seed] = float(match.group(2))
                    print(f"seed {seed}: {check.title}: {float(match.group(2)):.4f}"
                          f" (points {result.points:g}/{result.max_points:g})", flush=True)
    summary = {}
    for title, values in found.items():
        threshold = minimum_accuracy(checks[title].params)
        low = min(values.values())
        summary[title] = {"by_seed": {str(k): v for k, v in values.items()}, "min": low,
                          "median": statistics.median(values.values()), "max": max(values.values()),
                          "threshold": threshold, "margin": round(low - threshold, 4)}
        print(f"{title}: min {low:.4f} median {statistics.median(values.values()):.4f} max {max(values.values()):.4f};"
              f" threshold {threshold:.2f}, margin {low - threshold:+.4f}")
    if record:
        path = course.solution_path.parent / "thresholds.json"
        used = datasets_used(course.spec)
        data = json.loads(path.read_text()) if path.is_file() else {}
        key = used.get("mnist", "fashion_mnist") if "mnist" in used else "fashion_mnist"
        data[key] = {"measured_on": {name: datasets.describe_mnist(src) if name == "mnist" else src
                                     for name, src in used.items()},
                     "date": datetime.date.today().isoformat(), "seeds": sorted(seconds),
                     "sandbox_seconds_by_seed": {str(k): round(v, 1) for k, v in seconds.items()},
                     "checks": summary}
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"recorded in {path}")


if __name__ == "__main__":
    main()
