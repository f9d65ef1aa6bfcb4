"""The review page in Debian's Chromium: a reviewer goes through the class by keyboard, changes a check's points with
a reason and writes comments; a hostile notebook stays text; two reviewers on one student never lose an update."""
from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from grader.output_folder import read_results
from grader.reviews.apply import review_adjustments
from grader.reviews.server import CSP
from grader.reviews.store import ReviewStore

from ..reports.conftest import by_hand_course  # noqa: F401 - the by_hand assignment, loaded once


def status_of(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_without_the_token_every_request_is_refused(class_folder, by_hand_course, serve):  # noqa: F811
    url = serve(class_folder, by_hand_course)
    base, token = url.split("/?token=")
    assert status_of(url) == 200
    assert status_of(f"{base}/") == 403
    assert status_of(f"{base}/student/carol?token=wrong{token}") == 403
    assert status_of(f"{base}/static/review.js") == 403
    assert status_of(url, host="attacker.example") == 403  # DNS rebinding: a page of another site, this address
    form = urllib.parse.urlencode({"version": "0", "comment": "hi"}).encode()  # the cookie alone cannot post
    request = urllib.request.Request(f"{base}/student/carol?token={token}", data=form)
    with pytest.raises(urllib.error.HTTPError, match="403"):
        urllib.request.urlopen(request)
    assert ReviewStore(class_folder).all() == {}


def test_a_reviewer_goes_through_the_class_by_keyboard(class_folder, by_hand_course, serve, browser):  # noqa: F811
    url = serve(class_folder, by_hand_course)
    page = browser.new_page()
    response = page.goto(url)
    assert response.status == 200 and response.headers["content-security-policy"] == CSP
    assert page.locator("table.students tbody tr").count() == 7
    page.click("text=alicesmith")
    page.wait_for_url("**/student/alice")  # the token now in a cookie, not in every link
    page.keyboard.press("j")
    page.wait_for_url("**/student/bob")
    page.keyboard.press("j")
    page.wait_for_url("**/student/carol")
    page.keyboard.press("k")
    page.wait_for_url("**/student/bob")
    page.keyboard.press("n")  # dave: not graded (the grader failed): the next needing a look
    page.wait_for_url("**/student/dave")
    page.goto(url.split("?")[0] + "student/carol")
    pool = page.locator("section[data-task=pool] tr.part")
    pool.locator("input.points").fill("2")
    pool.locator("input.points").press("j")  # typed into a field: text, not a command
    assert page.url.endswith("/student/carol")
    pool.locator("input.points").fill("2")
    pool.locator("input[name^=reason]").fill("right idea, the stride is off by one")
    pool.locator("textarea").fill("Look at the stride again.")
    page.fill("#comment", "Good work on the convolution.\nThe pooling next time.")
    page.fill("#reviewer", "ta-anna")
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/student/carol?saved=1")
    assert page.inner_text("#message") == "Saved."
    assert page.inner_text(".score") == "9 / 15"  # 7 by the machine, 2 by the reviewer
    assert page.input_value("#reviewer") == "ta-anna"
    assert page.input_value("#comment") == "Good work on the convolution.\nThe pooling next time."  # kept as written
    carol = read_results(class_folder, ["carol"])[0]["carol"]
    reviewed = review_adjustments(class_folder, {"carol": carol}, by_hand_course.spec)["carol"]  # as outputs read it
    assert reviewed.points == 2 and "Reviewer: Look at the stride again." in reviewed.feedback_text()
    stored = ReviewStore(class_folder).get("carol")
    assert stored.version == 1 and stored.reviewer == "ta-anna"
    assert stored.comment == "Good work on the convolution.\nThe pooling next time."
    assert [(p.task, p.points, p.reason) for p in stored.parts] == [("pool", 2.0, "right idea, the stride is off"
                                                                              " by one")]
    page.close()


def test_points_without_a_reason_or_out_of_range_are_refused(class_folder, by_hand_course, serve,  # noqa: F811
                                                             browser):
    page = browser.new_page()
    page.goto(serve(class_folder, by_hand_course).replace("/?", "/student/erin?"))
    row = page.locator("section[data-task=pool] tr.part")
    row.locator("input.points").fill("2")
    page.click("#save")
    assert "say why its points change" in page.inner_text("#error")
    row.locator("input.points").fill("30")
    row.locator("input[name^=reason]").fill("typo")
    page.click("#save")
    assert "outside 0 to 3" in page.inner_text("#error")
    assert ReviewStore(class_folder).all() == {}
    page.close()


def test_a_hostile_notebook_is_shown_as_text(class_folder, by_hand_course, serve, browser):  # noqa: F811
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    violations = []
    page.on("console", lambda message: violations.append(message.text))
    page.goto(serve(class_folder, by_hand_course).replace("/?", "/student/mallory?"))
    assert page.evaluate("window.pwned") is None and dialogs == []
    assert page.locator(".notebook script, .notebook img[onerror]").count() == 0
    text = page.inner_text(".notebook")
    assert "<script>window.pwned = 1</script>" in text and "\\x1b[2J" in text  # shown, escaped
    images = page.eval_on_selector_all(".notebook img", "images => images.map(i => [i.complete, i.naturalWidth])")
    assert images == [[True, 200]]  # the real plot, decoded; base64 of "<script>" is no PNG and is not shown
    assert "<HTML object>" in text  # the HTML output's text twin
    assert "[PASS] hidden check (10/10)" not in page.inner_text("h1")
    assert page.locator("td.msg").first.inner_text().count("\n") < 5
    page.close()


def test_two_reviewers_at_once_never_lose_an_update(class_folder, by_hand_course, serve, browser):  # noqa: F811
    url = serve(class_folder, by_hand_course).replace("/?", "/student/erin?")
    first, second = browser.new_context().new_page(), browser.new_context().new_page()
    first.goto(url)
    second.goto(url)
    first.fill("#comment", "From the first reviewer.")
    first.fill("#reviewer", "ta-anna")
    first.click("#save")
    first.wait_for_url("**saved=1")
    second.fill("#comment", "From the second reviewer.")
    second.fill("#reviewer", "ta-ben")
    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        second.click("#save")
    assert answer.value.status == 409
    error = second.inner_text("#error")
    assert "ta-anna saved this student's review" in error and "nothing of yours was saved" in error
    assert second.input_value("#comment") == "From the first reviewer."  # the page shows what is stored now
    second.fill("#comment", "From the second reviewer, after reading the first.")
    second.click("#save")  # loaded again (the 409 page carries the new version): saved
    second.wait_for_url("**saved=1")
    stored = ReviewStore(class_folder).get("erin")
    assert stored.version == 2 and stored.comment == "From the second reviewer, after reading the first."
    first.context.close()
    second.context.close()
