"""Late work: the instructor's late policy, and what it does to one submission.

The policy comes from a YAML (or JSON) file (``grader batch --late-policy FILE``) and/or the command's options
(``--due``, ``--grace``, ``--late-per-day``, ``--zero-after``, ``--extension WHO=WHEN``; an option replaces the
file's value). A batch keeps the policy it was given in ``OUT/late_policy.json`` so that ``grader report`` and a
later ``batch --only`` apply the same one::

    due: 2026-03-01 23:59          # a time without an offset is in `timezone`
    timezone: Europe/Berlin        # default UTC
    grace: 15m                     # late by at most this: no penalty
    per_day: 10                    # percent of the points, per day or part of a day late (counted from the due date)
    max_penalty: 100               # percent, at most
    zero_after: 7d                 # late by more than this: zero
    late_mark_days: 1              # a submission the download marks LATE without its time (Canvas): days late
    extensions:                    # per student (user id, SIS id, email, name or result key): a due date or a delay
      "1203": 2026-03-04 23:59
      ana@uni.example: 2d

Where the download gives the submission time (Gradescope's ``submission_metadata.yml``) it is compared with the
student's due date (an extension moves it); Canvas's download gives only its LATE mark (Canvas computed it with its
own due dates and extensions), counted as ``late_mark_days`` days late. The penalty is a share of the points the
submission earned (its review adjustments included), never more than them.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from grader.errors import ReportError
from grader.files import atomic_write_text

POLICY_FILE = "late_policy.json"
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|day|days|h|hour|hours|m|min|minutes?|s|sec|seconds?)?\s*$",
                      re.IGNORECASE)
UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DAY = 86400.0
MAX_POLICY_BYTES = 1 << 20


@dataclass(frozen=True)
class LateInfo:
    """What is known of one submission's timing, and what the policy made of it (for people: ``rule``)."""

    submitted_at: str = ""  # ISO 8601, "" when the download does not say
    due: str = ""  # the student's due date (their extension included), ISO 8601; "" when no due date is set
    marked_late: bool = False  # the download marks it late (Canvas's LATE), or the times show it
    late_seconds: float = 0.0  # after the due date (0 when on time or unknown)
    extension: str = ""  # "extension to 2026-03-04T23:59:00+01:00" where the student has one
    percent: float = 0.0  # the penalty, as a share of the points
    rule: str = ""  # what the policy did: "2 days late: 20% (10% a day)"

    @property
    def late(self) -> bool:
        return self.marked_late or self.late_seconds > 0

    def label(self) -> str:
        """One cell's worth: "" on time, else "late" and what the policy did."""
        if not self.late:
            return ""
        return f"late: {self.rule}" if self.rule else "late"


def duration(value: Any, what: str) -> timedelta:
    """``15m``, ``2d``, ``36h``, ``90s`` or a number of seconds."""
    if isinstance(value, bool):
        raise ReportError(f"late policy: {what} {value!r} is not a duration (write 15m, 2d, 36h)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = DURATION.match(str(value))
        if not match:
            raise ReportError(f"late policy: {what} {value!r} is not a duration (write 15m, 2d, 36h)")
        seconds = float(match[1]) * UNITS[(match[2] or "s")[0].lower()]
    if not math.isfinite(seconds) or seconds < 0 or seconds > 3650 * DAY:
        raise ReportError(f"late policy: {what} {value!r} is not a duration between 0 and 10 years")
    return timedelta(seconds=seconds)


def moment(value: Any, zone: timezone | ZoneInfo, what: str) -> datetime:
    """A date and time (ISO 8601, ``2026-03-01 23:59``, YAML's own date or datetime); without an offset it is in
    ``zone``; a date alone is the end of that day."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, date):
        stamp = datetime.combine(value, datetime.max.time().replace(microsecond=0))
    else:
        text = str(value).strip()
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise ReportError(f"late policy: {what} {value!r} is not a date and time (write 2026-03-01 23:59, or"
                              " 2026-03-01T23:59:00+01:00)") from None
        if len(text) == 10:  # a date alone
            stamp = stamp.replace(hour=23, minute=59, second=59)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=zone)


def _percent(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ReportError(f"late policy: {what} {value!r} is not a percentage")
    try:
        number = float(str(value).strip().removesuffix("%"))
    except ValueError:
        raise ReportError(f"late policy: {what} {value!r} is not a percentage") from None
    if not 0 <= number <= 100:
        raise ReportError(f"late policy: {what} {value!r} is not between 0 and 100")
    return number


@dataclass(frozen=True)
class LatePolicy:
    """A due date, a grace period, a penalty per day (percent), a cut-off after which the work gets zero, and the
    students' extensions (a due date of their own, by user id, SIS id, email, name or key, lower case)."""

    due: datetime | None = None
    grace: timedelta = timedelta(0)
    per_day: float = 0.0
    max_penalty: float = 100.0
    zero_after: timedelta | None = None
    late_mark_days: int = 1
    extensions: Mapping[str, datetime] = field(default_factory=dict)
    delays: Mapping[str, timedelta] = field(default_factory=dict)  # extensions given as a delay after `due`
    zone: str = "UTC"

    @property
    def penalises(self) -> bool:
        return self.per_day > 0 or self.zero_after is not None

    def due_for(self, identities: Iterable[str]) -> tuple[datetime | None, str]:
        """The student's due date (their extension, else the class's), and how it was extended."""
        for identity in identities:
            who = identity.strip().lower()
            if not who:
                continue
            if who in self.extensions:
                return self.extensions[who], f"extension to {self.extensions[who].isoformat()}"
            if who in self.delays and self.due is not None:
                moved = self.due + self.delays[who]
                return moved, f"extension of {_days(self.delays[who].total_seconds())} to {moved.isoformat()}"
        return self.due, ""

    def apply(self, identities: Iterable[str], submitted_at: str = "", marked_late: bool = False) -> LateInfo:
        """What the policy makes of one submission: handed in at ``submitted_at`` (ISO 8601, "" unknown), marked
        late by the download or not, by the student known as ``identities``."""
        due, extension = self.due_for(list(identities))
        when = _parse_iso(submitted_at)
        info = LateInfo(submitted_at=when.isoformat() if when else "", due=due.isoformat() if due else "",
                        marked_late=marked_late, extension=extension)
        if when is not None and due is not None:
            late = (when - due).total_seconds()
            if late <= 0:
                return replace(info, marked_late=False)  # the times say it was on time
            if late <= self.grace.total_seconds():
                return replace(info, late_seconds=late, rule=f"{_days(late)} late, within the"
                               f" {_days(self.grace.total_seconds())} grace period: no penalty")
            days = math.ceil(late / DAY)
            if self.zero_after is not None and late > self.zero_after.total_seconds():
                return replace(info, late_seconds=late, percent=100.0,
                               rule=f"{_days(late)} late, more than {_days(self.zero_after.total_seconds())}: zero")
            return self._per_day(info, days, f"{_days(late)} late", late)
        if marked_late:
            if not self.penalises:
                return replace(info, rule="marked late by the download")
            return self._per_day(info, self.late_mark_days, f"marked LATE by the download, which gives no time:"
                                 f" counted as {self.late_mark_days} day{'s' * (self.late_mark_days != 1)}", 0.0)
        return info

    def _per_day(self, info: LateInfo, days: int, said: str, late: float) -> LateInfo:
        percent = min(self.max_penalty, days * self.per_day)
        rule = f"{said}: {percent:g}% ({self.per_day:g}% a day" + \
            (f", at most {self.max_penalty:g}%" if self.max_penalty < 100 else "") + ")" \
            if self.per_day else f"{said}: no penalty before the cut-off"
        return replace(info, late_seconds=late, percent=percent, rule=rule)

    def describe(self) -> str:
        if self.due is None and not self.penalises:
            return "no due date set"
        parts = [f"due {self.due.isoformat()}" if self.due else "no due date (only the download's LATE marks)"]
        if self.grace:
            parts.append(f"{_days(self.grace.total_seconds())} grace")
        if self.per_day:
            parts.append(f"{self.per_day:g}% a day late" + (f" (at most {self.max_penalty:g}%)"
                                                             if self.max_penalty < 100 else ""))
        if self.zero_after is not None:
            parts.append(f"zero after {_days(self.zero_after.total_seconds())}")
        if self.extensions or self.delays:
            parts.append(f"{len(self.extensions) + len(self.delays)} extensions")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"due": self.due.isoformat() if self.due else None, "timezone": self.zone,
                "grace": f"{self.grace.total_seconds():g}s", "per_day": self.per_day,
                "max_penalty": self.max_penalty,
                "zero_after": f"{self.zero_after.total_seconds():g}s" if self.zero_after is not None else None,
                "late_mark_days": self.late_mark_days,
                "extensions": {**{k: v.isoformat() for k, v in self.extensions.items()},
                               **{k: f"{v.total_seconds():g}s" for k, v in self.delays.items()}}}

    @classmethod
    def from_dict(cls, data: Any) -> "LatePolicy":
        if not isinstance(data, Mapping):
            raise ReportError("late policy: it is not a mapping of settings (due, grace, per_day, ...)")
        known = {"due", "timezone", "grace", "per_day", "max_penalty", "zero_after", "late_mark_days", "extensions"}
        if unknown := sorted(str(k) for k in data if k not in known):
            raise ReportError(f"late policy: unknown settings {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        name = str(data.get("timezone") or "UTC")
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ReportError(f"late policy: unknown timezone {name!r} (write an IANA name: Europe/Berlin,"
                              " America/New_York, UTC)") from None
        due = moment(data["due"], zone, "due") if data.get("due") not in (None, "") else None
        extensions, delays = {}, {}
        given = data.get("extensions") or {}
        if not isinstance(given, Mapping):
            raise ReportError("late policy: extensions is not a mapping of student to due date or delay")
        for who, when in given.items():
            key = str(who).strip().lower()
            if isinstance(when, (int, float)) or (isinstance(when, str) and DURATION.match(when)):
                delays[key] = duration(when, f"the extension of {who}")
            else:
                extensions[key] = moment(when, zone, f"the extension of {who}")
        if delays and due is None:
            raise ReportError("late policy: an extension given as a delay needs a due date")
        days = data.get("late_mark_days", 1)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
            raise ReportError(f"late policy: late_mark_days {days!r} is not a whole number of days (0 to 365)")
        return cls(due=due, grace=duration(data.get("grace") or 0, "grace"),
                   per_day=_percent(data.get("per_day") or 0, "per_day"),
                   max_penalty=_percent(data.get("max_penalty", 100), "max_penalty"),
                   zero_after=duration(data["zero_after"], "zero_after")
                   if data.get("zero_after") not in (None, "") else None,
                   late_mark_days=days, extensions=extensions, delays=delays, zone=name)


def _parse_iso(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return stamp if stamp is None or stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _days(seconds: float) -> str:
    if seconds >= DAY:
        days = seconds / DAY
        return f"{days:.1f} days" if days % 1 else f"{days:g} day{'s' * (days != 1)}"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{max(seconds / 60, 0):.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def read_policy_file(path: Path) -> dict[str, Any]:
    """The settings of a policy file (YAML or JSON), checked by ``LatePolicy.from_dict`` once merged."""
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise ReportError(f"late policy {path}: larger than {MAX_POLICY_BYTES >> 10} KB")
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ReportError(f"late policy {path} cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(data, Mapping):
        raise ReportError(f"late policy {path}: it is not a mapping of settings (due, grace, per_day, ...)")
    return dict(data)


def policy_from(file: Path | None = None, **options: Any) -> LatePolicy | None:
    """The policy of a file and the command's options (an option given replaces the file's value; ``extensions``
    are added to the file's); None when neither says anything."""
    data = read_policy_file(file) if file else {}
    extra = dict(options.pop("extensions", None) or {})
    given = {k: v for k, v in options.items() if v is not None}
    if not data and not given and not extra:
        return None
    data.update(given)
    if extra:
        data["extensions"] = {**(data.get("extensions") or {}), **extra}
    return LatePolicy.from_dict(data)


def save_policy(policy: LatePolicy, out_dir: Path) -> None:
    atomic_write_text(out_dir / POLICY_FILE, json.dumps(policy.to_dict(), indent=1))


def load_policy(out_dir: Path) -> LatePolicy:
    """The policy a batch of ``out_dir`` was given; no policy (nothing late is penalised) where there is none."""
    path = out_dir / POLICY_FILE
    if not path.is_file():
        return LatePolicy()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise ReportError(f"{path} cannot be read ({type(exc).__name__}): give the late policy again") from None
    return LatePolicy.from_dict(data)
