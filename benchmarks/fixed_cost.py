"""The fixed cost of a submission: the core-seconds grading spends on it outside its own cells.

Run: .venv/bin/python benchmarks/fixed_cost.py [--assignment by_hand] [--small 2] [--large 8] [--runs 3]
     [--compare-launched] (also the same batches with kernels launched, not forked from a kernel template)

Two figures, side by side in one run, on the assignment's complete example (and a submission's by process: the
kernel, the runner, the kernel template's forks, the checker, the batch and its workers, bubblewrap):

- its own cells: the CPU time (user + system) of a kernel, started beforehand, while it runs the notebook's cells
  (what the student's code costs wherever it runs: its imports included);
- a submission in a batch: the CPU time of ``grader batch`` and of every process it started (workers, resident
  checkers, sandboxes, runners, kernels: all in a cgroup of their own, counted by the kernel's ``cpuacct``), for
  ``--large`` copies minus that for ``--small`` copies, divided by the difference: the marginal cost of one more
  submission, without the batch's own start.

The fixed cost is their difference.  A container engine puts its containers in cgroups of their own, so this
measures the bubblewrap sandbox; it needs cgroup v1's cpuacct (root).  Prints each run and the medians; asserts
nothing.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click
import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from host_measure import CpuAccount  # noqa: E402

from grader.course.assignment import load_assignment  # noqa: E402

ROLES = (("kernel", "ipykernel_launcher"), ("runner", "jupyter-execute"), ("kernel template", "template_process"),
         ("checker", "grader.grading.checker"), ("batch and its workers", "grader batch"), ("bubblewrap", "bwrap"))


class ProcessWatch:
    """Each process of a cgroup, polled every 10 ms: its CPU seconds at the last poll before it ended, by its role
    (its last command line that named one: a kernel forked from the template is counted as a kernel once it has its
    own; an ending process has none).
    What ended between two polls, and what a process spent after its last poll, is the cgroup's total less these."""

    def __init__(self, account: CpuAccount) -> None:
        self.account = account
        self.seen: dict[str, tuple[str, float]] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "ProcessWatch":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()

    def _poll(self) -> None:
        while not self.done.wait(0.01):
            try:
                pids = (self.account.folder / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
                    cpu = _process_cpu(int(pid), children=False)  # each child is counted as itself
                except (OSError, ValueError, IndexError):
                    continue
                before, spent = self.seen.get(pid, ("other", 0.0))
                role = next((name for name, marker in ROLES if marker in command), before)  # none: ending
                self.seen[pid] = (role, max(cpu, spent))

    def by_role(self, total: float) -> dict[str, float]:
        roles: dict[str, float] = {}
        for role, cpu in self.seen.values():
            roles[role] = roles.get(role, 0.0) + cpu
        roles["not seen by a poll"] = total - sum(roles.values())
        return roles


def _process_cpu(pid: int, children: bool = True) -> float:
    """User + system seconds of ``pid`` (and of its children it waited for, unless ``children`` is False), from
    /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def cells_cpu(nb: Any, handouts: dict[str, str], ahead: str = "pass") -> tuple[float, float]:
    """The kernel's CPU seconds and the wall seconds while it runs the notebook's cells (started beforehand, and
    ``ahead`` run in it before: ``import tensorflow`` leaves the cells' own work without TensorFlow's import)."""
    with tempfile.TemporaryDirectory() as folder:
        for name, text in handouts.items():
            (Path(folder) / name).write_text(text)
        client = NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": folder}})
        with client.setup_kernel():
            pid = client.km.provisioner.process.pid
            client.execute_cell(nbformat.v4.new_code_cell(ahead), 0)  # the kernel has answered once
            before, started = _process_cpu(pid), time.perf_counter()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            return _process_cpu(pid) - before, time.perf_counter() - started


def batch_cpu(notebook: Path, solution: Path, copies: int, sandbox: str, templates: bool = True,
              roles: dict[str, float] | None = None) -> tuple[float, float]:
    """CPU seconds of ``grader batch`` on ``copies`` copies of ``notebook`` and of everything it started; wall.
    ``templates``: kernels forked from a kernel template (the default as root), or launched in each sandbox.
    ``roles``, where given, gets those seconds by the role of the process that spent them (``ProcessWatch``)."""
    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder) / "in"
        inbox.mkdir()
        for n in range(copies):
            shutil.copy(notebook, inbox / f"student{n:02d}.ipynb")
        account = CpuAccount("fixed-cost")
        try:
            with ProcessWatch(account) as watch:
                started = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "grader", "batch", str(inbox), "-a", str(solution),
                                       "--out", str(Path(folder) / "out"), "--sandbox", sandbox],
                                      capture_output=True, text=True, cwd=REPO, preexec_fn=account.enter,
                                      env={**os.environ, "GRADER_KERNEL_TEMPLATE": "1" if templates else "0"})
                wall = time.perf_counter() - started
                time.sleep(0.5)  # what the batch left ending
            spent = account.seconds()
        finally:
            account.close()
        if roles is not None:
            roles.update(watch.by_role(spent))
        if done.returncode != 0:
            raise click.ClickException(done.stderr[-2000:])
        return spent, wall


@click.command()
@click.option("--assignment", default="by_hand", show_default=True)
@click.option("--small", default=2, show_default=True, help="copies in the smaller batch")
@click.option("--large", default=8, show_default=True, help="copies in the larger batch")
@click.option("--runs", default=3, show_default=True)
@click.option("--sandbox", default="bubblewrap", show_default=True)
@click.option("--compare-launched", "compare", is_flag=True,
              help="also measure, alternating, each batch with kernels launched (GRADER_KERNEL_TEMPLATE=0)")
def main(assignment: str, small: int, large: int, runs: int, sandbox: str, compare: bool) -> None:
    course = load_assignment(assignment)
    notebook = REPO / "examples" / assignment / f"{assignment}_complete.ipynb"
    own, marginal, walls, launched, imported = [], [], [], [], []
    by_role: dict[str, list[float]] = {}
    own_cells = course.clean_submission(nbformat.read(notebook, as_version=4))  # as graded: otter's cells left out
    for run in range(1, runs + 1):
        if compare:
            few, _ = batch_cpu(notebook, course.solution_path, small, sandbox, templates=False)
            many, _ = batch_cpu(notebook, course.solution_path, large, sandbox, templates=False)
            launched.append((many - few) / (large - small))
            print(f"run {run}: kernels launched: {launched[-1]:.2f} core-s per submission", flush=True)
        cells, cells_wall = cells_cpu(own_cells, course.handouts())
        imported.append(cells_cpu(own_cells, course.handouts(), "import tensorflow")[0])
        few_roles: dict[str, float] = {}
        many_roles: dict[str, float] = {}
        few, few_wall = batch_cpu(notebook, course.solution_path, small, sandbox, roles=few_roles)
        many, many_wall = batch_cpu(notebook, course.solution_path, large, sandbox, roles=many_roles)
        per = (many - few) / (large - small)
        for role in set(few_roles) | set(many_roles):
            by_role.setdefault(role, []).append((many_roles.get(role, 0) - few_roles.get(role, 0)) / (large - small))
        own.append(cells)
        marginal.append(per)
        walls.append((many_wall - few_wall) / (large - small))
        print(f"run {run}: own cells {cells:.2f} core-s ({cells_wall:.2f} s wall); batch of {small} {few:.2f} core-s,"
              f" of {large} {many:.2f} core-s: {per:.2f} core-s per submission, fixed cost {per - cells:.2f}",
              flush=True)
    own_median, marginal_median = statistics.median(own), statistics.median(marginal)
    print(f"\n{assignment} ({sandbox}, medians of {runs}): own cells {own_median:.2f} core-s; a submission in a batch"
          f" {marginal_median:.2f} core-s ({statistics.median(walls):.2f} s wall per submission);"
          f" fixed cost {marginal_median - own_median:.2f} core-s (ratio {marginal_median / own_median:.2f})")
    without_import = statistics.median(imported)
    print(f"its own cells with TensorFlow imported beforehand {without_import:.2f} core-s: fixed cost counting"
          f" TensorFlow's import as the kernel's, not the cells' {marginal_median - without_import:.2f} core-s")
    print("a submission's core-seconds by the process that spent them (medians; the kernel's include the cells):")
    for role, figures in sorted(by_role.items(), key=lambda item: -statistics.median(item[1])):
        print(f"  {statistics.median(figures):6.3f}  {role}")
    if launched:
        print(f"kernels launched instead of forked from a template: {statistics.median(launched):.2f} core-s per"
              f" submission; forked/launched {marginal_median / statistics.median(launched):.2f}")


if __name__ == "__main__":
    main()
