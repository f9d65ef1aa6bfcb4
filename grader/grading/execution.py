"""Executing a prepared notebook in a sandbox, and reading back how it went (as untrusted data)."""
from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import nbformat

from grader.grading.evidence import evidence_files
from grader.grading.probes import job_probes
from grader.grading.submission import PreparedNotebook
from grader.inside.protocol import RunnerReport, decode_report, max_report_bytes
from grader.inside.warm_imports import notebook_warm_imports
from grader.results import CellReport
from grader.sandbox.base import INSIDE_EXPORT, INSIDE_WORKDIR, Sandbox, SandboxOutcome, SandboxRun, StartedRun
from grader.spec import AssignmentSpec, Limits, TaskSpec

log = logging.getLogger(__name__)
KILLED_CODES = {-6, -9, 134, 137}


@dataclass(frozen=True)
class ExecutionSummary:
    """How a notebook's execution went: per cell, and as a whole."""

    sandbox: str
    seconds: float
    timed_out: bool
    exit_code: int | None
    cells: tuple[CellReport, ...] = ()
    stopped: str | None = None
    problem: str | None = None
    log_tail: str = ""
    truncated_output: bool = False
    probes: Mapping[str, Any] = field(default_factory=dict)
    datasets: Mapping[str, str] = field(default_factory=dict)
    runner_seconds: float | None = None  # the runner's own time, first cell to last probe (told by the sandbox)
    kernel_seconds: float | None = None  # the kernel's start (and imports ahead), before the job's turn (told too)
    warm_imports: Mapping[str, str] = field(default_factory=dict)  # modules imported ahead, and how it went
    figures: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # pictures each task showed (the runner's)
    exports: Mapping[str, str] = field(default_factory=dict)  # how each task's export ended (the runner's word)
    left_out: Mapping[str, str] = field(default_factory=dict)  # export files the sandbox refused to copy out, and why
    replayed: tuple[str, ...] = ()  # probed in a fresh kernel, the first one having died (the runner's word)

    def to_dict(self) -> dict[str, Any]:
        return {"sandbox": self.sandbox, "seconds": round(self.seconds, 2), "timed_out": self.timed_out,
                "runner_seconds": self.runner_seconds, "kernel_seconds": self.kernel_seconds,
                "warm_imports": dict(self.warm_imports),
                "exit_code": self.exit_code, "stopped": self.stopped, "problem": self.problem,
                "truncated_output": self.truncated_output, "log_tail": self.log_tail[-1500:],
                "cells": [c.__dict__ for c in self.cells if c.status != "ok"]}

    def to_wire(self) -> dict[str, Any]:
        """All of it, as JSON data (to a resident checker: every cell, the probes and the data sets too)."""
        return {**self.to_dict(), "seconds": self.seconds, "cells": [asdict(c) for c in self.cells],
                "log_tail": self.log_tail, "probes": dict(self.probes), "datasets": dict(self.datasets),
                "figures": {k: dict(v) for k, v in self.figures.items()}, "exports": dict(self.exports),
                "left_out": dict(self.left_out), "replayed": list(self.replayed)}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "ExecutionSummary":
        return cls(sandbox=data["sandbox"], seconds=data["seconds"], timed_out=data["timed_out"],
                   exit_code=data["exit_code"], cells=tuple(CellReport(**c) for c in data["cells"]),
                   stopped=data["stopped"], problem=data["problem"], log_tail=data["log_tail"],
                   truncated_output=data["truncated_output"], probes=data["probes"], datasets=data["datasets"],
                   runner_seconds=data["runner_seconds"], kernel_seconds=data["kernel_seconds"],
                   warm_imports=data["warm_imports"], figures=data["figures"], exports=data["exports"],
                   left_out=data["left_out"], replayed=tuple(data["replayed"]))


def notebook_name(spec: AssignmentSpec) -> str:
    """The name the notebook has in the sandbox: the one students were given, as on their own machine."""
    return f"{spec.name}.ipynb"


def input_hints(task: TaskSpec) -> dict[str, list]:
    """The input shape each exported model should have (to describe a subclassed model that never said)."""
    hints = {}
    for check in task.checks:
        if task.exports.get(check.evidence) == "keras_model" and "input_shape" in check.params:
            hints[check.evidence] = list(check.params["input_shape"])
    return hints


def runner_job(prepared: PreparedNotebook, spec: AssignmentSpec, limits: Limits) -> dict[str, Any]:
    return {
        "notebook": f"{INSIDE_WORKDIR}/{notebook_name(spec)}",
        "workdir": INSIDE_WORKDIR,
        "export_dir": INSIDE_EXPORT,
        "cell_timeout_s": limits.cell_timeout_s,
        "notebook_timeout_s": limits.notebook_timeout_s,
        "max_output_bytes": limits.max_output_bytes,
        "tasks": [{"name": t.name, "exports": dict(t.exports), "input_hints": input_hints(t),
                   "after_cell": prepared.last_cell_of_task[t.name], "cells": prepared.cells_of_task(t.name)}
                  for t in spec.tasks],
        "probes": job_probes(spec),
        "warm_imports": notebook_warm_imports(prepared.notebook),
    }


def execute(prepared: PreparedNotebook, spec: AssignmentSpec, handouts: dict[str, str], sandbox: Sandbox,
            limits: Limits, folder: Path) -> tuple[ExecutionSummary, Path]:
    """Run the notebook in ``sandbox``; return the summary and the export folder."""
    return start_execution(prepared, spec, handouts, sandbox, limits, folder).finish()


@dataclass
class StartedExecution:
    """A notebook's files written and its sandbox started, waiting for its job (``finish`` gives it)."""

    sandbox: Sandbox
    run: StartedRun
    export_dir: Path
    prepared: PreparedNotebook
    limits: Limits
    report_bytes: int  # the most the runner's report may take

    @property
    def executed_notebook(self) -> Path:
        """Where the host writes the executed notebook the runner reported (beside the sandbox's folders, out of
        its reach)."""
        return self.export_dir.parent / "executed.ipynb"

    def finish(self) -> tuple[ExecutionSummary, Path]:
        outcome = self.run.go()
        report = decode_report(outcome.report, self.report_bytes) if outcome.report else None
        if report is not None and report.notebook:
            fd = os.open(self.executed_notebook, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600)  # the host's alone: no other user reads a student's outputs
            with os.fdopen(fd, "w", encoding="utf-8") as notebook:
                notebook.write(report.notebook)
        return summarize(self.sandbox.name, outcome, report, self.prepared, self.limits), self.export_dir

    def cancel(self) -> None:
        self.run.cancel()


def start_execution(prepared: PreparedNotebook, spec: AssignmentSpec, handouts: dict[str, str], sandbox: Sandbox,
                    limits: Limits, folder: Path) -> StartedExecution:
    """Write the notebook and its files under ``folder`` and start its sandbox (which waits for the job)."""
    workdir = folder / "work"
    export_dir = folder / "export"
    workdir.mkdir(parents=True)
    export_dir.mkdir(parents=True)
    nbformat.write(prepared.notebook, workdir / notebook_name(spec))
    for name, text in handouts.items():
        (workdir / name).write_text(text)
    job = runner_job(prepared, spec, limits)
    report_bytes = report_limit(prepared, limits)
    run = sandbox.start(SandboxRun(workdir=workdir, export_dir=export_dir, job=job, limits=limits,
                                   report_bytes=report_bytes, evidence_files=evidence_files(spec)))
    return StartedExecution(sandbox, run, export_dir, prepared, limits, report_bytes)


def report_limit(prepared: PreparedNotebook, limits: Limits) -> int:
    """The most the runner's report on this notebook may take."""
    return max_report_bytes(limits.max_output_bytes, len(nbformat.writes(prepared.notebook)))


def _cell_reports(report: RunnerReport, prepared: PreparedNotebook) -> tuple[CellReport, ...]:
    """Each cell as the student knows it: its number among the code cells, its first line, and for a cell that
    raised or was interrupted, the line of it where that happened (from its traceback) and what it did not set."""
    from grader.grading.cell_errors import failing_lines, line_of, unset_names
    from grader.student_text import cut_code

    cells = prepared.notebook.cells
    code_number = {index: number for number, index in
                   enumerate((i for i, cell in enumerate(cells) if cell.cell_type == "code"), start=1)}
    lines = failing_lines(report.notebook, (c.index for c in report.cells if c.status in ("error", "timeout",
                                                                                        "notebook_timeout")))
    reports = []
    for c in report.cells:
        source = cells[c.index].source if 0 <= c.index < len(cells) else ""
        first = next((line.strip() for line in source.splitlines() if line.strip()), "")
        line = lines.get(c.index)
        reports.append(CellReport(
            index=c.index, status=c.status, task=prepared.task_of.get(c.index), ename=c.ename, evalue=c.evalue,
            exit_code=c.exit_code, first_line=cut_code(first, 60), code_cell=code_number.get(c.index), line=line,
            line_text=cut_code(line_of(source, line), 80) if line else "",
            unset=unset_names(source, line) if line and c.status == "error" else ()))
    return tuple(reports)


def summarize(name: str, outcome: SandboxOutcome, report: RunnerReport | None, prepared: PreparedNotebook,
              limits: Limits) -> ExecutionSummary:
    """How the run went: the runner's report (from its own channel, which the student's code cannot write) when
    the sandbox ended by itself, else what the host saw."""
    report = report if outcome.stopped_for is None else None
    problem = None
    if outcome.stopped_for == "disk":
        problem = f"the notebook wrote more than the {limits.disk_mb:,} MB of files it may write, and was stopped"
    elif outcome.stopped_for == "time":
        problem = f"the notebook ran longer than its time limit ({limits.notebook_timeout_s:g} s) and was stopped"
    elif report is None and outcome.exit_code in KILLED_CODES:
        problem = ("the notebook was stopped: the process running it was killed, most likely because it used"
                   f" more memory than the {limits.memory_mb:,} MB allowed, or by the notebook's own code")
    elif report is None and outcome.report is None and outcome.exit_code == 0:
        problem = "the notebook ran, but what it printed was too large for the grader to read back"
    elif report is None:
        problem = ("the notebook could not be run to the end (the process running it stopped"
                   f" with exit code {outcome.exit_code})")
        log.warning("runner failed for a submission: %s", outcome.log_tail[-2000:])
    report = report or RunnerReport()
    return ExecutionSummary(sandbox=name, seconds=outcome.seconds, timed_out=outcome.timed_out,
                            exit_code=outcome.exit_code, cells=_cell_reports(report, prepared),
                            stopped=report.stopped, problem=problem, log_tail=outcome.log_tail[-2000:],
                            truncated_output=bool(report.truncated_output_cells), probes=dict(report.probes),
                            datasets=dict(report.datasets), runner_seconds=_seconds(report.seconds),
                            kernel_seconds=_seconds(report.kernel_seconds), warm_imports=dict(report.warm_imports),
                            figures={k: dict(v) for k, v in report.figures.items()}, exports=dict(report.exports),
                            left_out=dict(outcome.left_out), replayed=report.replayed)


def cell_problem(cell: CellReport, limits: Limits) -> str | None:
    """What went wrong in one cell, in a student's words: the code cell by its number (markdown cells do not count)
    and the line where it happened, else the line it starts with."""
    from grader.grading.cell_errors import names_text, syntax_problem

    where = f"code cell {cell.code_cell}" if cell.code_cell is not None else f"cell {cell.index + 1}"
    if cell.line is not None and cell.line_text:
        where += f", line {cell.line} ({cell.line_text})"
    elif cell.first_line:
        where += f" (starting {cell.first_line})"
    if cell.status == "timeout":
        return f"{where} ran longer than the {limits.cell_timeout_s:g} s a cell may take, and was interrupted"
    if cell.status == "notebook_timeout":
        return (f"{where} was still running when the notebook reached its time limit"
                f" ({limits.notebook_timeout_s:g} s), and was interrupted")
    if cell.status == "kernel_died":
        if cell.exit_code in KILLED_CODES or cell.exit_code is None:
            return (f"the kernel died in {where}, most likely because it used more memory than the"
                    f" {limits.memory_mb:,} MB allowed")
        return (f"the kernel stopped in {where} (exit code {cell.exit_code}): does the code call exit(),"
                " os._exit() or kill its own process?")
    if cell.status == "error":
        if cell.ename == "MemoryError":
            return f"{where} ran out of memory (the limit is {limits.memory_mb:,} MB)"
        if cell.ename == "SystemExit":
            return f"{where} called sys.exit(); the rest of the notebook still ran"
        if cell.ename in ("SyntaxError", "IndentationError", "TabError"):
            return f"{where} is not valid Python ({cell.ename}: {syntax_problem(cell.evalue)}), so none of it ran"
        unset = f", so it did not set {names_text(cell.unset)}" if cell.unset else ""
        return f"{where} raised {cell.ename}: {cell.evalue}{unset}"
    return None


def stop_problem(summary: ExecutionSummary, limits: Limits) -> str | None:
    """Why the notebook stopped early, if it did."""
    if summary.problem:
        return summary.problem
    if summary.stopped == "notebook_timeout":
        return f"the notebook reached its time limit ({limits.notebook_timeout_s:g} s); later cells did not run"
    if summary.stopped == "runner_failed":
        return "the notebook could not be run to the end (the grader's runner failed; an instructor will look at it)"
    if summary.stopped == "stuck_after_timeout":
        return "after a cell timed out the kernel did not respond to an interrupt; later cells did not run"
    if summary.stopped == "kernel_died":
        died = next((c for c in summary.cells if c.status == "kernel_died"), None)
        return cell_problem(died, limits) if died else "the kernel died; later cells did not run"
    return None


def _seconds(value: Any) -> float | None:
    return round(float(value), 2) if isinstance(value, (int, float)) and 0 <= value < 10**6 else None
