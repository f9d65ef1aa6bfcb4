"""One submission graded against the same notebook run plainly, both as whole processes, side by side.

Run: .venv/bin/python benchmarks/grade_vs_plain.py [--assignment by_hand,mnist_callback] [--runs 3]
     [--sandbox bubblewrap]

What a student's submission costs on Gradescope (``run_autograder`` grades one notebook per process) or with
``grader grade``: the whole ``grader grade`` process (its imports, the sandbox, the kernel, the checks after the
notebook), against ``jupyter execute`` of the same notebook in a folder with the assignment's files (its own
kernel, nothing else).  The two alternate, so that both see the same load; prints each run, the medians, their
difference and ratio, and where the grading's time went (the phases its result records).  Where cgroup v1's cpuacct
is writable (root), also the core-seconds each command and all it started spent (its kernel, sandbox, checker): on
a machine whose CPU time is shared, wall-clock time varies by a third between identical runs, core-seconds far less.
Asserts nothing.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from host_measure import CpuAccount, cpu_accounts_here  # noqa: E402

from grader.course.assignment import load_assignment  # noqa: E402

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Spent:
    seconds: float  # wall-clock
    core_seconds: float | None  # CPU of the command and of every process it started (None: not countable here)


def _run(command: list[str], cwd: Path) -> Spent:
    account = CpuAccount("grade-vs-plain") if cpu_accounts_here() else None
    try:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              preexec_fn=account.enter if account else None)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise click.ClickException(f"{command[:3]} failed: {done.stderr[-1500:]}")
        return Spent(seconds, account.seconds() if account else None)
    finally:
        if account:
            account.close()


def plain(notebook: Path, handouts: dict[str, str], name: str) -> Spent:
    """``jupyter execute`` of ``notebook`` saved as ``name`` (the name students' copies have: otter's
    ``grader.check`` reads its notebook by that name) beside the assignment's files."""
    with tempfile.TemporaryDirectory() as folder:
        for handout, text in handouts.items():
            (Path(folder) / handout).write_text(text)
        copy = Path(folder) / name
        shutil.copy(notebook, copy)
        return _run([str(BIN / "jupyter"), "execute", "--timeout=-1", "--allow-errors", str(copy)], Path(folder))


def graded(notebook: Path, assignment: str, sandbox: str) -> tuple[Spent, dict]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        spent = _run([sys.executable, "-m", "grader", "grade", str(notebook), "-a", assignment, "--sandbox", sandbox,
                       "--json-out", str(out), "--quiet"], REPO)
        return spent, json.loads(out.read_text())


@click.command()
@click.option("--assignment", "assignments", default="by_hand,mnist_callback", show_default=True,
              help="comma-separated; each one's complete example is measured")
@click.option("--runs", default=3, show_default=True)
@click.option("--sandbox", default="bubblewrap", show_default=True)
def main(assignments: str, runs: int, sandbox: str) -> None:
    for assignment in assignments.split(","):
        course = load_assignment(assignment)
        notebook = REPO / "examples" / assignment / f"{assignment}_complete.ipynb"
        plain_s: list[Spent] = []
        grade_s: list[Spent] = []
        result: dict = {}
        for run in range(1, runs + 1):
            first, second = ("plain", "grade") if run % 2 else ("grade", "plain")
            for which in (first, second):
                if which == "plain":
                    plain_s.append(plain(notebook, course.handouts(), f"{assignment}.ipynb"))
                else:
                    spent, result = graded(notebook, assignment, sandbox)
                    grade_s.append(spent)
            print(f"{assignment} run {run}: plain {_spent(plain_s[-1])}, grader grade {_spent(grade_s[-1])}"
                  f" ({result['points']:g}/{result['max_points']:g})", flush=True)
        p, g = (statistics.median(s.seconds for s in spents) for spents in (plain_s, grade_s))
        print(f"{assignment} ({sandbox}, medians of {runs}): plain {p:.2f} s, grader grade {g:.2f} s:"
              f" +{g - p:.2f} s, ratio {g / p:.2f}")
        if all(s.core_seconds is not None for s in plain_s + grade_s):
            pc, gc = (statistics.median(s.core_seconds for s in spents) for spents in (plain_s, grade_s))
            print(f"  core-seconds, medians: plain {pc:.2f}, grader grade {gc:.2f}: +{gc - pc:.2f}, ratio {gc / pc:.2f}"
                  + ("  (the container's own processes are not counted)" if "container" in sandbox else ""))
        execution = result.get("execution", {})
        print(f"  last grading: sandbox {execution.get('seconds')} s (kernel and warm imports before the first cell"
              f" {execution.get('kernel_seconds')} s, first cell to last probe {execution.get('runner_seconds')} s),"
              f" phases {execution.get('phases')}\n", flush=True)


def _spent(spent: Spent) -> str:
    cores = f", {spent.core_seconds:.2f} core-s" if spent.core_seconds is not None else ""
    return f"{spent.seconds:.2f} s{cores}"


if __name__ == "__main__":
    main()
