"""Batch grading side by side, in one run, on the same real submissions: plain nbclient execution of a notebook,
`grader grade` as one whole process, `otter run` (for an otter assignment, where otter-grader is installed), and
batches of N copies with 1 worker and with the default number (one per `cpus` cores): wall time per submission,
its ratio to plain execution, and the peak memory (high-water mark of resident memory) of the kernel, of the
grading processes (`grader grade`; in a batch, the batch's own process and its resident checkers).

Run: .venv/bin/python benchmarks/batch_throughput.py [--assignment by_hand] [--copies 6,20] [--runs 3]
     [--sandbox bubblewrap|container]

The submission is the assignment's complete example (examples/<assignment>/<assignment>_complete.ipynb).
Prints a table; asserts nothing.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click
import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.grading_overhead import plain_execution  # noqa: E402
from grader.course.assignment import load_assignment  # noqa: E402

ROLES = (("kernel", "ipykernel"), ("checker", "grader.grading.checker"), ("grading", "-m grader "))
PEAKS: dict[str, int] = {}


class PeakMemory:
    """The largest high-water mark of resident memory (VmHWM) seen, per role, while a measurement runs: the
    kernel, the resident checkers, the grading processes; read from /proc every 0.2 s (a process's own mark only
    grows, so the last reading before it ends is close to its peak)."""

    def __init__(self) -> None:
        self.peaks = {role: 0 for role, _ in ROLES}
        self._running = True
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._running = False
        self._thread.join()

    def _watch(self) -> None:
        while self._running:
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    status = (entry / "status").read_text()
                except OSError:
                    continue
                role = next((r for r, mark in ROLES if mark in cmdline), None)
                hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
                if role and hwm:
                    self.peaks[role] = max(self.peaks[role], int(hwm[1]) * 1024)
            time.sleep(0.2)


def timed(command: list[str], memory: dict | None = None) -> float:
    started = time.perf_counter()
    with PeakMemory() as peaks:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"{command[:4]} failed: {done.stderr[-1500:]}")
    if memory is not None:
        for role, peak in peaks.peaks.items():
            memory[role] = max(memory.get(role, 0), peak)
    return time.perf_counter() - started


def megabytes(memory: dict) -> str:
    return ", ".join(f"{role} {memory[role] / 2**20:,.0f}" for role, _ in ROLES if memory.get(role))


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
@click.option("--copies", default="6,20", show_default=True, help="submissions in each batch, comma-separated")
@click.option("--runs", default=3, show_default=True, help="runs of the single-notebook measures (median)")
@click.option("--sandbox", default="bubblewrap", show_default=True)
def main(assignment: str, copies: str, runs: int, sandbox: str) -> None:
    from grader.batch.workers import default_workers

    course = load_assignment(assignment)
    example = REPO / "examples" / assignment / f"{assignment}_complete.ipynb"
    grader = [sys.executable, "-m", "grader"]
    rows: list[tuple[str, float, dict]] = []
    default = default_workers(course.spec.limits.cpus)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        plain, whole, otter = [], [], []
        plain_memory, whole_memory = {}, {}
        nb = course.clean_submission(nbformat.read(example, as_version=4))
        for run in range(runs):  # alternating, so that each sees the same machine load
            # the notebook beside its files, as students have it (otter's notebooks read their own file)
            with PeakMemory() as peaks:
                plain.append(plain_execution(nb, {**course.handouts(), course.student_notebook_path.name:
                                                  nbformat.writes(nb)}))
            plain_memory["kernel"] = max(plain_memory.get("kernel", 0), peaks.peaks["kernel"])
            whole.append(timed([*grader, "grade", str(example), "-a", assignment, "--sandbox", sandbox, "--quiet"],
                               whole_memory))
            measured = otter_run(course, example, folder / f"otter-{run}")
            if measured is not None:
                otter.append(measured)
        rows.append(("plain nbclient execution", statistics.median(plain), plain_memory))
        rows.append(("grader grade, one whole process", statistics.median(whole), whole_memory))
        if otter:
            rows.append(("otter run (its autograder zip, no container)", statistics.median(otter), {}))
        last_out = None
        for count in (int(c) for c in copies.split(",")):
            source = folder / f"submissions-{count}"
            source.mkdir()
            for number in range(count):
                shutil.copyfile(example, source / f"student{number:03d}.ipynb")
            for workers in sorted({1, default}):
                memory: dict = {}
                last_out = folder / f"out-{count}-{workers}"
                seconds = timed([*grader, "batch", str(source), "-a", assignment, "--out", str(last_out),
                                 "--sandbox", sandbox, "--workers", str(workers)], memory)
                label = f"{workers} worker{'s' * (workers > 1)}" + (" (default)" if workers == default else "")
                rows.append((f"batch of {count}, {label}: per submission", seconds / count, memory))
        started = time.perf_counter()
        timed([*grader, "batch", str(source), "-a", assignment, "--out", str(last_out), "--sandbox", sandbox])
        rows.append((f"the batch of {count} again (every result reused): per submission",
                     (time.perf_counter() - started) / count, {}))
        phases = json.loads(next((folder / f"out-{count}-1" / "results").glob("*.json")).read_text())["execution"]
    base = rows[0][1]
    click.echo(f"\n{assignment}, {sandbox}, cpus {course.spec.limits.cpus} of {len(os.sched_getaffinity(0))} cores;"
               f" medians of {runs} for single notebooks\n")
    click.echo(f"| {'what':<52} | seconds | ratio to plain | peak memory, MB |\n|{'-' * 54}|---------|"
               f"----------------|-----------------|")
    for what, seconds, memory in rows:
        click.echo(f"| {what:<52} | {seconds:7.2f} | {seconds / base:14.2f} | {megabytes(memory)} |")
    click.echo(f"\none grading in the batch of {count} with 1 worker, phase by phase (execution.phases; the sandbox's"
               f" {phases['seconds']:.2f} s include the runner's own {phases.get('runner_seconds')} s, first cell"
               f" to last probe; its kernel started, and imported {sorted(phases.get('warm_imports', {}))}, in"
               f" {phases.get('kernel_seconds')} s before its turn):")
    for phase, seconds in phases.get("phases", {}).items():
        click.echo(f"  {phase:<24} {seconds:8.3f} s")


if __name__ == "__main__":
    main()
