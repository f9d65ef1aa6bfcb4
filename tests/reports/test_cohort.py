"""What the instructor's report computes: pass rates, common failures, and who needs a human look."""
from __future__ import annotations

from grader.reports.cohort import cohort, common_failures, concerns_of
from grader.reports.roster import Roster

from .builders import GRADER_FAILED, check, class_results, result, task


def test_pass_rates_and_scores():
    summary = cohort(class_results(), Roster(), {}, 15)
    rates = {r.name: (r.passed, r.total) for r in summary.tasks}
    assert rates["Task convolve"] == (3, 6) and rates["Task pool"] == (2, 6) and rates["Task quiz"] == (2, 6)
    assert sorted(summary.scores) == [0, 0, 0, 7, 15, 15] and summary.max_points == 15
    assert {t.student for t in summary.times} == {"alice", "bob", "carol", "erin", "frank"}  # dave never ran


def test_failures_group_messages_that_differ_only_in_numbers():
    results = {k: result(k, task("cnn", check("accuracy", False, 3, f"accuracy {acc}, expected at least 0.85")))
               for k, acc in (("a", 0.51), ("b", 0.62), ("c", 0.7))}
    results["d"] = result("d", task("cnn", check("accuracy", False, 3, "the model was never trained")))
    first, second = common_failures(results, Roster())
    assert (first.check, first.students) == ("accuracy", ("a", "b", "c"))
    assert first.message == "accuracy 0.51, expected at least 0.85" and second.students == ("d",)


def test_who_needs_a_human_look():
    summary = cohort(class_results(), Roster(), {"erin": "return image * 0", "alice": "x = 1"}, 15)
    concerns = {c.key: c.reasons for c in summary.concerns}
    assert sorted(concerns) == ["dave", "erin"]  # frank's zero is an untouched notebook
    assert concerns["dave"][0].startswith("grader failure: " + GRADER_FAILED)
    assert concerns["erin"] == ("zero points with 1 lines of answer code",)
    late = result("x", task("cnn", check("layers", True), ungraded="the kernel died in this task's cells"))
    crashed = result("y", task("t", check("shapes", False, 1, "cnn_model could not be checked (ValueError: bad)")))
    assert concerns_of(late, 3) == ("Task cnn not graded in full: the kernel died in this task's cells",)
    assert concerns_of(crashed, 0) == ("a check could not run: shapes: cnn_model could not be checked"
                                       " (ValueError: bad)",)
