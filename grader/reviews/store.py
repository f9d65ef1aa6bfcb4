"""The reviews of a batch: what people decided, the one thing in an output folder that cannot be made again.

One SQLite file in the output folder (``reviews.sqlite``), in WAL mode; every write is one transaction that
first checks the submission's version (optimistic locking: two reviewers on the same student never overwrite each
other without knowing; the second gets ``ReviewConflict``). ``PRAGMA user_version`` holds the schema's version.
``backup_reviews`` copies it with SQLite's backup API (a consistent copy while the page writes).

A part is ``check:<i>`` (the i-th check of a task's result, from 0) or ``manual:<j>`` (the j-th manual part of the
task in the spec). An override stores the fingerprint of the check's result when it was made; ``apply`` compares it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from grader.errors import GraderError
from grader.results import CheckResult

log = logging.getLogger(__name__)
DATABASE = "reviews.sqlite"
BACKUP = "reviews.backup.sqlite"
SCHEMA_VERSION = 1
MAX_TEXT = 5000  # characters of a reason or a comment
SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 0,
    comment TEXT NOT NULL DEFAULT '',
    done INTEGER NOT NULL DEFAULT 0,
    reviewer TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS parts (
    key TEXT NOT NULL REFERENCES submissions(key),
    task TEXT NOT NULL,
    part TEXT NOT NULL,
    title TEXT NOT NULL,
    points REAL,
    reason TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (key, task, part)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL,
    change TEXT NOT NULL
);
"""


class ReviewError(GraderError):
    """A review cannot be stored or read as asked (bad points, a database of a newer grader, a damaged file)."""


class ReviewConflict(ReviewError):
    """Someone else saved this submission's review since the reviewer loaded it."""


@dataclass(frozen=True)
class PartReview:
    """What a person decided about one part of a task: its points (None: the machine's stand), why, a comment for
    the student, and the fingerprint of the check's result they saw."""

    task: str
    part: str
    title: str
    points: float | None = None
    reason: str = ""
    comment: str = ""
    fingerprint: str = ""
    reviewer: str = ""
    updated_at: str = ""

    @property
    def empty(self) -> bool:
        return self.points is None and not self.reason and not self.comment


@dataclass(frozen=True)
class SubmissionReview:
    key: str
    version: int = 0
    comment: str = ""
    done: bool = False
    reviewer: str = ""
    updated_at: str = ""
    parts: tuple[PartReview, ...] = ()

    def part(self, task: str, part: str) -> PartReview | None:
        return next((p for p in self.parts if p.task == task and p.part == part), None)


def fingerprint(check: CheckResult) -> str:
    """What an override was made against: the check's title, verdict, points and message."""
    text = json.dumps([check.title, check.passed, round(check.points, 6), check.max_points, check.message])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_part(index: int) -> str:
    return f"check:{index}"


def manual_part(index: int) -> str:
    return f"manual:{index}"


def database_path(out_dir: Path) -> Path:
    return out_dir / DATABASE


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=15, isolation_level=None)  # transactions opened explicitly
    connection.row_factory = sqlite3.Row
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA synchronous=FULL")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ReviewError(f"{path} was written by a newer grader (schema {version}, this one knows"
                              f" {SCHEMA_VERSION}): update the grader before reviewing")
        if version < SCHEMA_VERSION:
            with _transaction(connection):
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise ReviewError(f"{path} cannot be read as the batch's reviews ({exc}); its backup is"
                          f" {path.with_name(BACKUP)}") from None
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")  # the write lock at once: the version read is the one written over
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class ReviewStore:
    """The reviews of one output folder. Each call opens its own connection (the page serves threads)."""

    def __init__(self, out_dir: Path) -> None:
        self.path = database_path(out_dir)

    def exists(self) -> bool:
        return self.path.is_file()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with closing(_connect(self.path)) as connection:
            yield connection

    def all(self) -> dict[str, SubmissionReview]:
        """Every submission's review (none without the file: reading never creates it)."""
        if not self.exists():
            return {}
        with self._connection() as db:
            parts: dict[str, list[PartReview]] = {}
            for row in db.execute("SELECT * FROM parts ORDER BY key, task, part"):
                parts.setdefault(row["key"], []).append(_part(row))
            return {row["key"]: SubmissionReview(row["key"], row["version"], row["comment"], bool(row["done"]),
                                                 row["reviewer"], row["updated_at"],
                                                 tuple(parts.get(row["key"], ())))
                    for row in db.execute("SELECT * FROM submissions")}

    def get(self, key: str) -> SubmissionReview:
        return self.all().get(key, SubmissionReview(key))

    def save(self, key: str, expected_version: int, parts: Sequence[PartReview], comment: str, done: bool,
             reviewer: str) -> SubmissionReview:
        """Store a submission's review in one transaction, if nobody saved it since ``expected_version``: the
        given parts replace the stored ones of the same (task, part); an empty part removes its row."""
        comment = _text(comment, "the comment")
        for part in parts:
            _valid(part)
        now = _now()
        with self._connection() as db, _transaction(db):
            row = db.execute("SELECT version, reviewer, updated_at FROM submissions WHERE key = ?",
                             (key,)).fetchone()
            current = row["version"] if row else 0
            if current != expected_version:
                raise ReviewConflict(f"{row['reviewer'] or 'another reviewer'} saved this student's review at"
                                     f" {row['updated_at']} while you were looking at it (version {current}, you"
                                     f" loaded {expected_version}): nothing of yours was saved. Load the page again"
                                     " to see their changes, then make yours.")
            version = current + 1
            db.execute("INSERT INTO submissions (key, version, comment, done, reviewer, updated_at)"
                       " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET version = excluded.version,"
                       " comment = excluded.comment, done = excluded.done, reviewer = excluded.reviewer,"
                       " updated_at = excluded.updated_at", (key, version, comment, int(done), reviewer, now))
            for part in parts:
                db.execute("DELETE FROM parts WHERE key = ? AND task = ? AND part = ?", (key, part.task, part.part))
                if not part.empty:
                    db.execute("INSERT INTO parts (key, task, part, title, points, reason, comment, fingerprint,"
                               " reviewer, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               (key, part.task, part.part, part.title, part.points, part.reason, part.comment,
                                part.fingerprint, reviewer, now))
            change = {"comment": comment, "done": done,
                      "parts": [{"task": p.task, "part": p.part, "points": p.points, "reason": p.reason,
                                 "comment": p.comment} for p in parts]}
            db.execute("INSERT INTO history (key, version, reviewer, at, change) VALUES (?, ?, ?, ?, ?)",
                       (key, version, reviewer, now, json.dumps(change)))
        log.info("review of %s saved (version %d) by %s", key, version, reviewer)
        return self.get(key)


def _part(row: Mapping) -> PartReview:
    return PartReview(task=row["task"], part=row["part"], title=row["title"], points=row["points"],
                      reason=row["reason"], comment=row["comment"], fingerprint=row["fingerprint"],
                      reviewer=row["reviewer"], updated_at=row["updated_at"])


def _text(text: str, what: str) -> str:
    if len(text) > MAX_TEXT:
        raise ReviewError(f"{what} is {len(text)} characters long; at most {MAX_TEXT}")
    return text.replace("\r\n", "\n")


def _valid(part: PartReview) -> None:
    _text(part.reason, "a reason")
    _text(part.comment, "a comment")
    if not (part.part.startswith("check:") or part.part.startswith("manual:")):
        raise ReviewError(f"unknown part {part.part!r}")
    if part.points is not None and part.points != part.points:  # NaN
        raise ReviewError(f"{part.title}: points must be a number")


def backup_reviews(out_dir: Path) -> Path | None:
    """Copy the reviews to ``reviews.backup.sqlite`` beside them with SQLite's backup API (consistent while the
    page writes), written apart and renamed into place; None when there are no reviews."""
    source = database_path(out_dir)
    if not source.is_file():
        return None
    target = out_dir / BACKUP
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(_connect(source)) as db, closing(sqlite3.connect(partial)) as copy:
        db.backup(copy)
    os.replace(partial, target)
    return target
