"""The report's figures, drawn with matplotlib (Agg: no display) and embedded as base64 PNG data URIs."""
from __future__ import annotations

import base64
import io
import logging
import textwrap
from typing import Sequence

import matplotlib

matplotlib.use("Agg")

from markupsafe import Markup  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402 - after choosing the backend
from matplotlib.ticker import MaxNLocator  # noqa: E402

from grader.reports.cohort import Cohort, PassRate  # noqa: E402

log = logging.getLogger(__name__)


def data_uri(figure: Figure) -> Markup:
    """The figure as a data URI: the grader's own markup (a page shows it whole, never cut as a student's text)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return Markup("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))


def _label(text: str, width: int = 45, lines: int = 3) -> str:
    """A label as written, wrapped on words into at most ``lines`` lines (never cut at the figure's edge: the
    figure is saved with its labels' whole extent), its dollar signs escaped (matplotlib reads ``$...$`` as
    mathematics, and a student's answer quoted in a failure's message may hold them)."""
    wrapped = textwrap.wrap(text, width, max_lines=lines, placeholder=" …") or [""]
    return "\n".join(wrapped).replace("$", r"\$")


def _height(labels: Sequence[str]) -> float:
    """A horizontal bar chart's height: room for every line of every label."""
    return 1.0 + 0.22 * sum(label.count("\n") + 1.4 for label in labels)


def score_distribution(cohort: Cohort) -> Figure:
    figure = Figure(figsize=(7, 3.2))
    axes = figure.subplots()
    top = cohort.max_points or 1.0
    axes.hist(cohort.scores, bins=min(20, max(5, int(top))), range=(0, top), color="#3a6ea5", edgecolor="white")
    axes.set_xlabel(f"points (of {top:g})")
    axes.set_ylabel("submissions")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"Score distribution ({len(cohort.scores)} submissions)")
    return figure


def pass_rates(rates: Sequence[PassRate], title: str) -> Figure:
    names = [_label(r.name) for r in rates][::-1]
    figure = Figure(figsize=(7, _height(names)))
    axes = figure.subplots()
    values = [100 * r.rate for r in rates][::-1]
    axes.barh(names, values, color="#4f9a5b")
    for y, (value, rate) in enumerate(zip(values, rates[::-1])):
        axes.text(min(value, 100) + 1, y, f"{rate.passed}/{rate.total}", va="center", fontsize=8)
    axes.set_xlim(0, 115)
    axes.set_xlabel("% of submissions")
    axes.set_title(title)
    return figure


def failure_reasons(cohort: Cohort) -> Figure:
    labels = [_label(f"{f.task}, {f.check}: {f.message}", 60) for f in cohort.failures][::-1]
    figure = Figure(figsize=(8, _height(labels)))
    axes = figure.subplots()
    axes.barh(labels, [len(f.students) for f in cohort.failures][::-1], color="#b5523b")
    axes.set_xlabel("students")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Most common failures")
    return figure


def grading_times(cohort: Cohort) -> Figure:
    """Each student's grading time, one bar a student labelled with their name, the slowest at the top."""
    times = sorted(cohort.times, key=lambda t: (t.notebook_seconds + t.checks_seconds, t.student))
    names = [_label(t.student, 30, 1) for t in times]
    figure = Figure(figsize=(7, _height(names)))
    axes = figure.subplots()
    positions = range(len(times))
    axes.barh(positions, [t.notebook_seconds for t in times], color="#3a6ea5", label="notebook")
    axes.barh(positions, [t.checks_seconds for t in times], left=[t.notebook_seconds for t in times],
              color="#e0a030", label="checks")
    axes.set_yticks(list(positions), names)
    axes.set_xlabel("seconds")
    axes.set_title(f"Grading time per submission ({len(times)})")
    axes.legend(loc="lower right")
    return figure


def figures(cohort: Cohort) -> tuple[dict[str, str], list[str]]:
    """Title -> data URI of each figure of the report, and why any figure could not be drawn (the report is made
    without it)."""
    drawers = {"Score distribution": lambda: score_distribution(cohort),
               "Tasks with full points": lambda: pass_rates(cohort.tasks, "Tasks with full points"),
               "Checks passed": lambda: pass_rates(cohort.checks, "Checks passed")}
    if cohort.failures:
        drawers["Most common failures"] = lambda: failure_reasons(cohort)
    if cohort.times:
        drawers["Grading time per submission"] = lambda: grading_times(cohort)
    drawn: dict[str, str] = {}
    problems: list[str] = []
    for title, draw in drawers.items():
        try:
            drawn[title] = data_uri(draw())
        except Exception as exc:  # noqa: BLE001 - labels come from students' answers: a figure never stops a report
            log.warning("the figure %r could not be drawn", title, exc_info=True)
            problems.append(f"the figure {title!r} could not be drawn ({type(exc).__name__}: {str(exc)[:200]})")
    return drawn, problems
