"""What the container sandbox costs per submission, next to bubblewrap.

    .venv/bin/python benchmarks/container_overhead.py [--runs 5] [--reference-runs 1] [--json-out FILE]

1. A trivial notebook (one cell) executed by the runner in each sandbox, ``--runs`` times: the median wall
   seconds of ``Sandbox.run`` (kernel start included), and the difference, which is the container's
   own start-to-stop overhead.  Also the bare engine: ``run --rm IMAGE true``.
2. The quick reference (3,000 training images, one epoch per model) graded in each sandbox ``--reference-runs``
   times: wall seconds of grade_submission (execution, evidence and checks).
3. The image's size.
Runs as root, with the image built (scripts/build-image.sh).
"""
from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.course.assignment import load_assignment  # noqa: E402
from grader.grading.grade import grade_submission  # noqa: E402
from grader.sandbox.base import INSIDE_EXPORT, INSIDE_WORKDIR, SandboxRun  # noqa: E402
from grader.sandbox.select import choose_sandbox  # noqa: E402
from grader.spec import Limits  # noqa: E402
from tests.e2e.notebooks import quick  # noqa: E402  (the end-to-end tests' quick reference)


def trivial_run(folder: Path) -> SandboxRun:
    workdir, export = folder / "work", folder / "export"
    workdir.mkdir(parents=True)
    export.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 6 * 7\nprint(x)")]),
                   workdir / "submission.ipynb")
    job = {"notebook": f"{INSIDE_WORKDIR}/submission.ipynb", "workdir": INSIDE_WORKDIR, "export_dir": INSIDE_EXPORT,
           "cell_timeout_s": 60, "notebook_timeout_s": 120, "max_output_bytes": 100_000, "tasks": [],
           "token": secrets.token_hex(16)}
    return SandboxRun(workdir=workdir, export_dir=export, job=job, limits=Limits(notebook_timeout_s=120))


def time_trivial(name: str, runs: int) -> list[float]:
    sandbox = choose_sandbox(name)
    seconds = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            run = trivial_run(Path(folder))
            started = time.monotonic()
            outcome = sandbox.run(run)
            seconds.append(time.monotonic() - started)
            assert outcome.exit_code == 0, outcome.log_tail
            status = json.loads((run.export_dir / "status.json").read_text())
            assert status["cells"][0]["status"] == "ok", status
    return seconds


def time_bare_engine(runs: int) -> list[float]:
    sandbox = choose_sandbox("container")
    argv = sandbox.engine.argv("run", "--rm", "--network", "none", sandbox.image, "true")
    seconds = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(argv, env=sandbox.engine.environ(), check=True, capture_output=True)
        seconds.append(time.monotonic() - started)
    return seconds


def time_reference(name: str, runs: int) -> dict:
    assignment = load_assignment("fashion_cnn")
    nb = quick(assignment.reference_submission())
    seconds, executions, points = [], [], set()
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            path = Path(folder) / "quick_reference.ipynb"
            nbformat.write(nb, path)
            started = time.monotonic()
            result = grade_submission(path, assignment, choose_sandbox(name))
            seconds.append(round(time.monotonic() - started, 1))
            executions.append(result.execution.get("seconds"))
            points.add(tuple((t.name, t.points) for t in result.tasks))
    return {"median_s": statistics.median(seconds), "all_s": seconds, "execution_s": executions,
            "points": [dict(p) for p in points]}


def image_size() -> str:
    sandbox = choose_sandbox("container")
    done = sandbox.engine.call("images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}", sandbox.image)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference-runs", type=int, default=1, help="0 leaves the quick reference out")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    report: dict = {"image": image_size()}
    bare = time_bare_engine(args.runs)
    report["bare_engine_run_true_median_s"] = round(statistics.median(bare), 2)
    for name in ("bubblewrap", "container"):
        seconds = time_trivial(name, args.runs)
        report[f"trivial_{name}_median_s"] = round(statistics.median(seconds), 2)
        report[f"trivial_{name}_all_s"] = [round(s, 2) for s in seconds]
    report["container_overhead_median_s"] = round(report["trivial_container_median_s"]
                                                  - report["trivial_bubblewrap_median_s"], 2)
    for name in ("bubblewrap", "container") if args.reference_runs else ():
        report[f"quick_reference_{name}"] = time_reference(name, args.reference_runs)
    text = json.dumps(report, indent=1)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")


if __name__ == "__main__":
    main()
