"""The reviews' SQLite store: transactions with a version check, WAL, a schema version, a consistent backup."""
from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from grader.reviews.store import (
    BACKUP,
    DATABASE,
    SCHEMA_VERSION,
    PartReview,
    ReviewConflict,
    ReviewError,
    ReviewStore,
    backup_reviews,
)


def part(points=2.0, reason="partly right", comment="", task="pool", name="check:0"):
    return PartReview(task, name, "max_pool on held-out images", points, reason, comment, "f" * 16)


def test_reading_creates_nothing(tmp_path):
    store = ReviewStore(tmp_path)
    assert store.all() == {} and store.get("carol").version == 0
    assert not (tmp_path / DATABASE).exists()


def test_a_save_is_read_back_with_its_version_and_history(tmp_path):
    store = ReviewStore(tmp_path)
    saved = store.save("carol", 0, [part(comment="look at the stride")], "Good work", True, "ta1")
    assert saved.version == 1 and saved.comment == "Good work" and saved.done and saved.reviewer == "ta1"
    assert saved.parts[0].points == 2.0 and saved.parts[0].comment == "look at the stride"
    assert saved.parts[0].reviewer == "ta1" and saved.parts[0].fingerprint == "f" * 16
    again = store.save("carol", 1, [part(points=None, reason="", comment="")], "Good work", False, "ta2")
    assert again.version == 2 and again.parts == ()  # an empty part removes its row
    with closing(sqlite3.connect(tmp_path / DATABASE)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [row[0] for row in db.execute("SELECT reviewer FROM history ORDER BY id")] == ["ta1", "ta2"]


def test_a_stale_version_is_a_conflict_and_changes_nothing(tmp_path):
    store = ReviewStore(tmp_path)
    store.save("carol", 0, [part()], "first", False, "ta1")
    with pytest.raises(ReviewConflict, match="ta1 saved this student's review"):
        store.save("carol", 0, [part(points=3.0)], "second", False, "ta2")
    kept = store.get("carol")
    assert kept.version == 1 and kept.comment == "first" and kept.parts[0].points == 2.0


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    store = ReviewStore(tmp_path)
    store.save("carol", 0, [part()], "", False, "ta1")
    with pytest.raises(ReviewError, match="at most"):
        store.save("carol", 1, [part(comment="x" * 6000)], "", False, "ta1")
    with pytest.raises(ReviewError, match="unknown part"):
        store.save("carol", 1, [part(name="drop table")], "", False, "ta1")
    assert store.get("carol").version == 1


def test_a_database_of_a_newer_grader_is_refused(tmp_path):
    ReviewStore(tmp_path).save("carol", 0, [part()], "", False, "ta1")
    with closing(sqlite3.connect(tmp_path / DATABASE)) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(ReviewError, match="newer grader"):
        ReviewStore(tmp_path).all()


def test_a_damaged_file_is_named_with_its_backup(tmp_path):
    (tmp_path / DATABASE).write_bytes(b"not a database at all" * 100)
    with pytest.raises(ReviewError, match="reviews.backup.sqlite"):
        ReviewStore(tmp_path).all()


def test_the_backup_is_a_database_with_every_review(tmp_path):
    assert backup_reviews(tmp_path) is None
    store = ReviewStore(tmp_path)
    store.save("carol", 0, [part()], "Good work", False, "ta1")
    copy = backup_reviews(tmp_path)
    assert copy == tmp_path / BACKUP
    restored = tmp_path / "restored"
    restored.mkdir()
    (restored / DATABASE).write_bytes(copy.read_bytes())
    assert ReviewStore(restored).get("carol") == store.get("carol")
