"""The late policy: a due date in the instructor's timezone, grace, a penalty per day, zero after a cut-off,
extensions by date or delay, Canvas's LATE mark without a time, and settings that cannot be read named."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from grader.errors import ReportError
from grader.reports.late import LatePolicy, load_policy, policy_from, save_policy


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "late.yml"
    path.write_text("due: 2026-03-01 23:59\ntimezone: Europe/Berlin\ngrace: 15m\nper_day: 10\nmax_penalty: 50\n"
                    "zero_after: 7d\nextensions:\n  '1203': 2026-03-04 12:00\n  Ana@Uni.example: 2d\n")
    return policy_from(path)


def test_a_due_date_without_an_offset_is_in_the_policy_s_timezone(policy):
    assert policy.due == datetime(2026, 3, 1, 22, 59, tzinfo=timezone.utc)
    assert policy.describe() == ("due 2026-03-01T23:59:00+01:00, 15 min grace, 10% a day late (at most 50%),"
                                 " zero after 7 days, 2 extensions")


@pytest.mark.parametrize("submitted, percent, rule", [
    ("2026-03-01T23:59:00+01:00", 0, ""),  # on the minute
    ("2026-03-02T00:10:00+01:00", 0, "11 min late, within the 15 min grace period: no penalty"),
    ("2026-03-02T00:20:00+01:00", 10, "21 min late: 10% (10% a day, at most 50%)"),  # days count from the due date
    ("2026-03-03T23:59:01+01:00", 30, "2.0 days late: 30% (10% a day, at most 50%)"),
    ("2026-03-07T23:59:00+01:00", 50, "6 days late: 50% (10% a day, at most 50%)"),
    ("2026-03-09T00:00:00+01:00", 100, "7.0 days late, more than 7 days: zero"),
])
def test_the_penalty_grows_by_the_day_up_to_its_cap_then_zero_after_the_cut_off(policy, submitted, percent, rule):
    info = policy.apply(["bob"], submitted)
    assert (info.percent, info.rule) == (percent, rule)
    assert info.late == bool(rule) and info.due == "2026-03-01T23:59:00+01:00"


def test_extensions_by_date_or_delay_found_by_any_of_the_student_s_ids(policy):
    by_date = policy.apply(["Jane Doe", "1203"], "2026-03-04T11:00:00+01:00")
    assert (by_date.percent, by_date.late, by_date.extension) == (0, False, "extension to 2026-03-04T12:00:00+01:00")
    by_delay = policy.apply(["ANA@uni.example"], "2026-03-04T10:00:00+01:00")
    assert by_delay.percent == 10 and by_delay.due == "2026-03-03T23:59:00+01:00"
    assert by_delay.extension.startswith("extension of 2 days")


def test_a_late_mark_without_a_time_counts_as_the_policy_s_days(policy):
    marked = policy.apply(["x"], "", marked_late=True)
    assert (marked.percent, marked.late) == (10, True)
    assert "which gives no time: counted as 1 day" in marked.rule
    assert LatePolicy().apply(["x"], "", marked_late=True).rule == "marked late by the download"
    assert LatePolicy().apply(["x"], "2026-03-09T00:00:00+01:00").late is False  # no due date: nothing is late
    times = policy.apply(["x"], "2026-03-01T12:00:00+01:00", marked_late=True)  # the time says on time
    assert (times.late, times.percent) == (False, 0)


def test_options_replace_the_file_s_values_and_the_policy_is_kept_as_given(policy, tmp_path):
    changed = policy_from(tmp_path / "late.yml", per_day=5, extensions={"bob": "2026-03-02 10:00"})
    assert changed.per_day == 5 and changed.grace == timedelta(minutes=15) and len(changed.extensions) == 2
    save_policy(changed, tmp_path)
    assert load_policy(tmp_path) == changed
    assert policy_from(None) is None and load_policy(tmp_path / "nothing") == LatePolicy()
    assert not LatePolicy().penalises


@pytest.mark.parametrize("settings, said", [
    ({"due": "next friday"}, "'next friday' is not a date and time"),
    ({"due": "2026-03-01", "grace": "a while"}, "grace 'a while' is not a duration"),
    ({"per_day": 120}, "per_day 120 is not between 0 and 100"),
    ({"timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
    ({"extensions": {"ana": "2d"}}, "an extension given as a delay needs a due date"),
    ({"penalty": 5}, "unknown settings penalty"),
    ({"late_mark_days": True}, "late_mark_days True is not a whole number"),
])
def test_a_setting_that_cannot_be_read_is_named(settings, said):
    with pytest.raises(ReportError, match=said.replace("(", r"\(").replace(")", r"\)")):
        policy_from(None, **{k: v for k, v in settings.items() if k != "extensions"},
                    extensions=settings.get("extensions"))
