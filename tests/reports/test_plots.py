"""The report's figures: labels whole (wrapped, never cut), grading time labelled by student."""
from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg

from grader.reports import plots
from grader.reports.cohort import cohort
from grader.reports.roster import Roster

from .builders import check, class_results, result, task


def test_grading_time_is_labelled_by_student():
    summary = cohort(class_results(), Roster(), {}, 15)
    figure = plots.grading_times(summary)
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels == ["alice", "carol", "erin", "frank", "bob"]  # fastest at the bottom; bob took 7 s, dave never ran


def test_a_long_label_is_wrapped_whole_and_fits_the_saved_figure():
    title = "the accuracy of the trained model on the held-out test images is above the stated threshold"
    label = plots._label(title)
    assert label.replace("\n", " ") == title and label.count("\n") == 2
    summary = cohort({"a": result("a", task("cnn", check(title, False, 1, "accuracy $0.5$ is below 0.85")))},
                     Roster(), {}, 1)
    figure = plots.pass_rates(summary.checks, "Checks passed")
    renderer = FigureCanvasAgg(figure).get_renderer()
    whole = figure.get_tightbbox(renderer)
    for text in figure.axes[0].get_yticklabels():
        box = text.get_window_extent(renderer).transformed(figure.dpi_scale_trans.inverted())
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1  # the saved image (bbox_inches="tight") holds it
    assert plots.failure_reasons(summary).axes[0].get_yticklabels()[0].get_text().count("\\$") == 2
