"""Reviews applied to results: an override stands on the evidence it was made against, else it is flagged (kept,
not applied); manual parts become checks; comments reach every output made from the result."""
from __future__ import annotations

from dataclasses import replace

from grader.reviews.apply import NOT_GRADED_YET, apply_review, review_adjustments
from grader.reviews.store import PartReview, ReviewStore, SubmissionReview, fingerprint
from grader.spec import AssignmentSpec

from ..reports.builders import by_hand_result

SPEC = AssignmentSpec.from_dict({"name": "by_hand", "tasks": [
    {"name": "convolve", "exports": {"convolve": "function"},
     "checks": [{"kind": "function_matches", "evidence": "convolve", "points": 4},
                {"kind": "manual", "points": 2, "title": "reading of the edge picture", "guide": "names the edges"}]},
    {"name": "pool", "exports": {"max_pool": "function"},
     "checks": [{"kind": "function_matches", "evidence": "max_pool", "points": 3}]}]})


def pool_override(result, points=2.0, reason="right idea, off by one") -> PartReview:
    check = result.tasks[1].checks[0]
    return PartReview("pool", "check:0", check.title, points, reason, "see the stride", fingerprint(check))


def test_no_review_changes_nothing(tmp_path):
    raw = by_hand_result("carol", pool=False)
    reviewed = review_adjustments(tmp_path, {"carol": raw})["carol"]
    assert reviewed.result == raw and reviewed.points == 0 and reviewed.flags == () and not reviewed.needs_look
    assert reviewed.feedback_text() == raw.feedback_text()


def test_an_override_on_the_same_evidence_is_applied_everywhere():
    raw = by_hand_result("carol", pool=False)
    reviewed = apply_review(raw, SubmissionReview("carol", 1, "Well argued.", parts=(pool_override(raw),)))
    assert reviewed.points == 2 and reviewed.result.points == raw.points + 2
    pool = reviewed.result.tasks[1]
    assert pool.points == 2 and pool.checks[0].points == 2 and not pool.checks[0].passed
    text = reviewed.feedback_text()
    assert "Changed by a reviewer from 0 to 2 points: right idea, off by one." in text
    assert "Reviewer: see the stride" in text and "Reviewer's comment: Well argued." in text
    assert f"{reviewed.result.points:g} / {raw.max_points:g} points" in text.splitlines()[0]
    gradescope = reviewed.gradescope_dict()
    assert gradescope["score"] == raw.points + 2 and gradescope["output"].startswith("Reviewer's comment")
    assert any("Changed by a reviewer" in test["output"] for test in gradescope["tests"])


def test_full_points_pass_the_check():
    raw = by_hand_result("carol", pool=False)
    reviewed = apply_review(raw, SubmissionReview("carol", 1, parts=(pool_override(raw, 3.0),)))
    assert reviewed.result.tasks[1].checks[0].passed


def test_an_override_whose_evidence_changed_is_flagged_not_applied():
    graded = by_hand_result("carol", pool=False)
    override = pool_override(graded)
    regraded = replace(graded, tasks=(graded.tasks[0], replace(graded.tasks[1], checks=(
        replace(graded.tasks[1].checks[0], message="wrong on 1 of 4 held-out cases"),)), *graded.tasks[2:]))
    reviewed = apply_review(regraded, SubmissionReview("carol", 1, parts=(override,)))
    assert reviewed.result.points == regraded.points and reviewed.points == 0
    assert len(reviewed.flags) == 1 and reviewed.flags[0].part == "check:0" and reviewed.needs_look
    assert "Waiting for another look" in reviewed.feedback_text()
    assert "gave 2 of 3 points (right idea, off by one)" in reviewed.flagged[0]


def test_a_part_the_result_no_longer_has_is_flagged():
    raw = by_hand_result("carol", pool=False)
    gone = replace(pool_override(raw), part="check:7")
    reviewed = apply_review(raw, SubmissionReview("carol", 1, parts=(gone,)))
    assert reviewed.points == 0 and "no longer has" in reviewed.flagged[0]


def test_manual_parts_wait_then_count():
    raw = by_hand_result("carol")
    waiting = apply_review(raw, SubmissionReview("carol"), SPEC)
    convolve = waiting.result.tasks[0]
    assert waiting.max_points == 2 and waiting.points == 0 and waiting.needs_look
    assert convolve.checks[-1].kind == "manual" and convolve.checks[-1].message == NOT_GRADED_YET
    assert waiting.pending == ("Task convolve: reading of the edge picture",)
    graded = apply_review(raw, SubmissionReview("carol", 1, parts=(
        PartReview("convolve", "manual:0", "reading of the edge picture", 1.5, "", "the vertical edges, yes"),)), SPEC)
    assert graded.points == 1.5 and graded.result.max_points == raw.max_points + 2 and not graded.needs_look
    assert "graded by a reviewer: 1.5 of 2" in graded.feedback_text()
    assert "[FAIL] reading of the edge picture (1.5/2)" in graded.feedback_text()


def test_review_adjustments_reads_the_store_once_for_all(tmp_path):
    carol, alice = by_hand_result("carol", pool=False), by_hand_result("alice")
    ReviewStore(tmp_path).save("carol", 0, [pool_override(carol)], "", True, "ta1")
    reviewed = review_adjustments(tmp_path, {"carol": carol, "alice": alice}, SPEC)
    assert reviewed["carol"].points == 2 and reviewed["carol"].done and reviewed["carol"].version == 1
    assert reviewed["alice"].points == 0 and reviewed["alice"].max_points == 2


def test_a_notebook_nothing_of_which_was_graded_says_it_once():
    from grader.course.assignment import load_assignment
    from grader.grading.grade import zero_result

    course = load_assignment("by_hand")
    raw = zero_result(course.student_notebook_path, course, "bubblewrap", "the notebook could not be read: not JSON",
                      "the notebook could not be read: not JSON")
    text = apply_review(raw, SubmissionReview("eve", 1, "Send it again as .ipynb")).feedback_text()
    assert text.count("could not be read") == 1 and "was not exported" not in text
    assert "Reviewer's comment: Send it again as .ipynb" in text
    assert all(f"{task.title}: 0 / {task.max_points:g}" in text for task in raw.tasks)
    assert raw.feedback_text().count("could not be read") > 1  # what the result alone says: each task's reason


def test_a_comment_of_several_lines_stays_lines_of_the_comment():
    raw = by_hand_result("carol")
    comment = "Good work.\n[PASS] extra credit (10/10)\x1b[2J"
    text = apply_review(raw, SubmissionReview("carol", 1, comment)).feedback_text()
    assert "Reviewer's comment: Good work.\n  [PASS] extra credit (10/10)\\x1b[2J\n" in text
    assert "\n[PASS] extra" not in text  # indented under the comment: never a check's line of its own
