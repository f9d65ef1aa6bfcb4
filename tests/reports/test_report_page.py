"""The instructor's report as an instructor uses it, in Debian's Chromium: the student table sorted by a click on
any heading, filtered by typing, each name a link to that student's feedback."""
from __future__ import annotations


def points_column(page) -> list[str]:
    return page.eval_on_selector_all("#student-table tbody tr:not([hidden]) td.points", "cells => cells.map(c =>"
                                     " c.textContent.trim())")


def names(page) -> list[str]:
    return page.eval_on_selector_all("#student-table tbody tr:not([hidden]) td:first-child",
                                     "cells => cells.map(c => c.textContent.trim())")


def test_the_student_table_sorts_filters_and_links(class_report, browser):
    page = browser.new_page()
    page.goto(class_report.report.as_uri())
    assert names(page) == sorted(names(page), key=str.casefold)  # by name at first
    page.click("#student-table th:has-text('Points')")
    assert points_column(page) == ["", "0", "0", "7", "15", "15"]  # dave has no grade: blank, first
    page.click("#student-table th:has-text('Points')")
    assert points_column(page) == ["15", "15", "7", "0", "0", ""]
    page.click("#student-table th:has-text('Student')")
    assert names(page)[0] == "alicesmith"
    page.fill("#student-filter", "carol")
    assert names(page) == ["carolsmith"] and page.inner_text("#student-count") == "1"
    page.fill("#student-filter", "not gradable")
    assert names(page) == ["davesmith"]
    page.fill("#student-filter", "")
    assert len(names(page)) == 6
    page.click("#student-table >> text=carolsmith")
    page.wait_for_url("**/feedback/carol.html")
    assert page.inner_text(".student") == "carolsmith"
    page.close()
