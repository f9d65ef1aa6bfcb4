"""A student's feedback in Markdown and HTML: tasks, points, what each check found, the layers as a table."""
from __future__ import annotations

import json

from grader.reports.feedback import feedback_html, feedback_markdown
from grader.results import CheckResult, SubmissionResult

from .builders import LAYERS, check, result, task


def cnn_result() -> SubmissionResult:
    return result("ben", task("cnn", check("layers of cnn_model", False, 2,
                                           "layer 3: expected Conv2D with 64 filters, found 32", LAYERS),
                              check("accuracy of cnn_model", True, 3, "accuracy 0.91 <script>alert(1)</script>"),
                              notes=("The cells of this task were found by their check() call.",)),
                  task("quiz", check("question 1", True, 1)))


def test_markdown_has_each_task_its_points_each_check_and_the_layer_table():
    text = feedback_markdown(cnn_result(), "Ben Smith")
    assert text.startswith("# by_hand: 4 / 6 points\n")
    assert "## Task cnn: 3 / 5" in text and "## Task quiz: 1 / 1" in text
    assert "| FAIL | layers of cnn_model | 0 / 2 | layer 3: expected Conv2D with 64 filters, found 32 |" in text
    assert "| 3 | Conv2D, 64 filters, kernel 3x3 | Conv2D, 32 filters, kernel 3x3 | **no** |" in text
    assert "| missing (4 of 7) | MaxPooling2D, pool size 2x2 | (none) | **no** |" in text
    assert "- The cells of this task were found by their check() call." in text
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_html_has_the_same_and_escapes_what_a_notebook_wrote():
    page = feedback_html(cnn_result(), "Ben Smith")
    assert '<span class="score">4 / 6</span>' in page
    assert page.count('<tr class="bad">') == 2  # the two wrong layers
    assert "<td>Conv2D, 32 filters, kernel 3x3</td>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_a_result_stored_before_layer_rows_existed_shows_its_message():
    stored = cnn_result().to_dict()
    for task_data in stored["tasks"]:
        for check_data in task_data["checks"]:
            del check_data["details"]
    old = SubmissionResult.from_dict(json.loads(json.dumps(stored)))
    layers = old.tasks[0].checks[0]
    assert isinstance(layers, CheckResult) and layers.details == ()
    assert "Layers for" not in feedback_markdown(old, "Ben") and '<table class="layers">' not in feedback_html(old, "Ben")
    assert "layer 3: expected Conv2D with 64 filters, found 32" in feedback_html(old, "Ben")
    assert SubmissionResult.from_dict(cnn_result().to_dict()) == cnn_result()  # the rows survive the trip to JSON


def test_a_submission_that_could_not_be_graded_says_why():
    failed = result("eve", task("cnn", check("layers", False)), error="the file is not a valid notebook")
    assert "**Your notebook could not be graded:** the file is not a valid notebook" in feedback_markdown(failed, "Eve")
    assert "Your notebook could not be graded: the file is not a valid notebook" in feedback_html(failed, "Eve")


def test_what_students_wrote_cannot_make_markdown_of_its_own():
    """A name, an exception's message, a quoted answer: rendered by a Markdown renderer that lets raw HTML
    through, none becomes a tag, a link, an image, a heading or a table cell."""
    import mistune

    hostile = "Alice <img src=x onerror=\"document.title='XSS'\">\n# Injected heading\n[click](javascript:alert(1))"
    graded = result("eve", task("quiz", check("question 1", False, 1,
                                              "'![t](http://evil.example/t.png)' is not one of the options | a | b\n"
                                              "- # md heading\n<script>alert(2)</script>")),
                    error="RuntimeError: `x` ![i](http://evil.example/i.png)")
    text = feedback_markdown(graded, hostile)
    rendered = mistune.create_markdown(escape=False, plugins=["table"])(text)
    assert "<img" not in rendered and "<script" not in rendered and "<a " not in rendered
    assert rendered.count("<h1>") == 1 and "<h2>" in rendered and "Injected heading</h" not in rendered
    assert "md heading</h" not in rendered
    body = rendered[rendered.index("<tbody>"):]
    assert body.count("<td") == 4  # one row of four cells: the student's "|" split nothing
    assert "evil.example/t.png" in rendered  # shown as text, not fetched


def test_a_reviewer_s_comment_and_the_late_penalty_are_shown_escaped():
    late = "Handed in 2 h late: 10% off <b>1.4</b> points"
    text = feedback_markdown(cnn_result(), "Ben", comment="See me <script>x</script> *now*", late=late)
    assert "**Reviewer's comment:** See me &lt;script&gt;x&lt;/script&gt; \\*now\\*" in text
    assert "Handed in 2 h late: 10% off &lt;b&gt;1.4&lt;/b&gt; points" in text
    page = feedback_html(cnn_result(), "Ben", comment="See me <script>x</script>", late=late)
    assert "<b>Reviewer's comment:</b> See me &lt;script&gt;x&lt;/script&gt;" in page
    assert '<p class="late">Handed in 2 h late: 10% off &lt;b&gt;1.4&lt;/b&gt; points</p>' in page


def test_a_notebook_nothing_of_which_was_graded_says_why_once():
    reason = "the notebook could not be read: not JSON"
    unread = result("eve", task("cnn", check("layers", False, 2, "cnn_model was not exported"), ungraded=reason),
                    task("quiz", check("question 1", False, 1, "q1 was not exported"), ungraded=reason), error=reason)
    for text in (feedback_markdown(unread, "Eve"), feedback_html(unread, "Eve")):
        assert text.count("could not be read") == 1 and "was not exported" not in text
        assert "Task cnn: 0 / 2" in text and "Task quiz: 0 / 1" in text
