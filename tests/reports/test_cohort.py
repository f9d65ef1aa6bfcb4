"""What the instructor's report computes: pass rates, common failures, and who needs a human look."""
from __future__ import annotations

import statistics

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


def test_the_same_failure_worded_differently_is_one_row_under_its_task():
    results = {"a": result("a", task("quiz", check("question 1", False, 1, "the answer 'c' is not one of the options"),
                                      check("question 2", False, 1, 'the answer "e" is not one of the options.'))),
               "b": result("b", task("quiz", check("question 1", False, 1,
                                                   "The answer 'd' is not one of the options"))),
               "c": result("c", task("cnn", check("layers", False, 1, "cnn_model was not exported (the notebook"
                                                  " stopped before this task finished)"))),
               "d": result("d", task("cnn", check("layers", False, 1, "cnn_model was not exported")))}
    rows = {f.task: f for f in common_failures(results, Roster())}
    assert len(rows) == 2 and (rows["Task quiz"].checks, rows["Task quiz"].students) == (("question 1", "question 2"),
                                                                                       ("a", "b"))
    assert rows["Task cnn"].students == ("c", "d")


def test_a_notebook_nothing_of_which_was_graded_is_no_failure_and_no_statistic():
    unread = result("u", task("convolve", check("convolve", False, 4, "convolve was not exported"),
                              ungraded="the notebook could not be read"),
                    task("pool", check("max_pool", False, 3, "max_pool was not exported"),
                         ungraded="the notebook could not be read"), error="the notebook could not be read")
    summary = cohort({**class_results(), "unread": unread}, Roster(), {}, 15)
    assert not any("was not exported" in f.message for f in summary.failures)
    assert summary.graded == 6 and all(t.task.total == 6 for t in summary.stats)
    assert [c.reasons for c in summary.concerns if c.key == "unread"] == [("not graded: the notebook could not"
                                                                           " be read",)]


def test_statistics_of_each_task_with_its_checks_under_it():
    summary = cohort({k: r for k, r in class_results().items() if k != "dave"}, Roster(), {}, 15)
    stats = {t.task.name: t for t in summary.stats}
    assert list(stats) == ["Task convolve", "Task pool", "Task pictures", "Task quiz"]
    convolve = stats["Task convolve"].task  # alice, bob, carol 4; erin, frank 0
    assert (convolve.mean, convolve.low, convolve.high, convolve.full, convolve.total) == (2.4, 0, 4, 3, 5)
    assert round(convolve.spread, 4) == round(statistics.pstdev([4, 4, 4, 0, 0]), 4)
    quiz = stats["Task quiz"]
    assert [c.name for c in quiz.checks] == [f"question {n}" for n in range(1, 6)]
    assert [c.full for c in quiz.checks] == [3, 3, 3, 2, 2]  # carol got three of five
