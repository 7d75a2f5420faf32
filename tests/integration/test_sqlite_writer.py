"""The SQLite writer process (``adapters.db.sqlite_writer``) on a real database file."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from turnout.adapters.db import sqlite_writer
from turnout.adapters.db.sqlite_rows import write_statements
from turnout.adapters.db.sqlite_writer import SqliteWriter, WriterStopped, Written

SCHEMA = "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, size INTEGER)"


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "things.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA)
    return str(path)


@pytest.fixture
def writer(database: str) -> Iterator[SqliteWriter]:
    started = SqliteWriter(database, f"{database}-checkin.lock")
    assert started.wait_ready(10)
    try:
        yield started
    finally:
        started.close()


def insert(*rows: tuple[int, str, int]) -> list[tuple[object, ...]]:
    return [("insert", "things", ("id", "name", "size"), list(rows))]


def stored(database: str) -> list[tuple[int, str, int]]:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT id, name, size FROM things ORDER BY id").fetchall()


def test_batches_are_committed_in_order_and_reported(writer: SqliteWriter, database: str) -> None:
    writer.begin()
    writer.write(0, insert((1, "a", 10), (2, "b", 20)))
    writer.write(1, [*insert((3, "c", 30)), ("update", "things", ("size",), "id", [(11, 1), (21, 2)])])
    assert writer.end() == [Written("ok", 0), Written("ok", 1)]
    assert stored(database) == [(1, "a", 11), (2, "b", 21), (3, "c", 30)]


def test_outcomes_come_back_while_the_session_goes_on(writer: SqliteWriter) -> None:
    writer.begin()
    writer.write(0, insert((1, "a", 1)))
    deadline = time.monotonic() + 10
    seen: list[Written] = []
    while not seen:
        assert time.monotonic() < deadline
        seen = writer.written()
        time.sleep(0.001)
    assert seen == [Written("ok", 0)]
    assert writer.end() == []


def test_a_commit_from_elsewhere_stops_the_session(writer: SqliteWriter, database: str) -> None:
    """What the caller decided after ``begin`` may stand on stale reads: once another connection has
    committed, no batch of the session is written, and the caller learns which one stopped."""
    writer.begin()
    writer.write(0, insert((1, "a", 1)))
    assert writer.end() == [Written("ok", 0)]
    writer.begin()
    writer.write(0, insert((2, "b", 2)))
    assert writer.next_written(10) == Written("ok", 0)  # committed before the other connection writes
    with sqlite3.connect(database) as other:
        other.execute("UPDATE things SET size = 100 WHERE id = 1")
    writer.write(1, insert((3, "c", 3)))
    writer.write(2, insert((4, "d", 4)))
    assert writer.end() == [Written("moved", 1), Written("skipped", 2)]
    assert stored(database) == [(1, "a", 100), (2, "b", 2)]
    writer.begin()  # a new session starts from what is stored now
    writer.write(0, insert((3, "c", 3)))
    assert writer.end() == [Written("ok", 0)]


def test_a_failing_batch_is_rolled_back_and_the_rest_skipped(writer: SqliteWriter, database: str) -> None:
    writer.begin()
    writer.write(0, insert((1, "a", 1)))
    writer.write(1, insert((2, "b", 2), (3, "a", 3)))  # "a" again: UNIQUE fails on the second row
    writer.write(2, insert((4, "d", 4)))
    ok, failed, skipped = writer.end()
    assert (ok, skipped) == (Written("ok", 0), Written("skipped", 2))
    assert (failed.outcome, failed.batch) == ("error", 1)
    assert failed.detail is not None
    assert "UNIQUE constraint failed: things.name" in failed.detail
    assert stored(database) == [(1, "a", 1)]  # batch 1 entirely rolled back


def test_batches_are_written_only_in_a_session(writer: SqliteWriter, database: str) -> None:
    with pytest.raises(RuntimeError, match="outside a session"):
        writer.write(0, insert((1, "a", 1)))
    writer.begin()
    writer.write(0, insert((1, "a", 1)))
    assert writer.end() == [Written("ok", 0)]
    with pytest.raises(RuntimeError, match="outside a session"):
        writer.write(1, insert((2, "b", 2)))
    assert stored(database) == [(1, "a", 1)]


def test_the_writer_takes_the_processes_writer_turn(writer: SqliteWriter, database: str) -> None:
    """It waits for the ``flock`` that the check-in writers of every process take in turn."""
    import fcntl

    fd = os.open(f"{database}-checkin.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        writer.begin()
        writer.write(0, insert((1, "a", 1)))
        time.sleep(0.3)
        assert writer.written() == []  # still waiting for its turn
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert writer.end() == [Written("ok", 0)]
    finally:
        os.close(fd)


def test_a_killed_writer_is_reported(writer: SqliteWriter) -> None:
    writer.begin()
    writer.write(0, insert((1, "a", 1)))
    os.kill(writer.pid, signal.SIGKILL)
    with pytest.raises(WriterStopped):
        writer.end()  # the pipe breaks, or the end of its answers is read
    assert not writer.alive


def test_a_writer_whose_database_cannot_be_opened_stops(tmp_path: Path) -> None:
    broken = SqliteWriter(str(tmp_path / "missing" / "dir" / "x.sqlite3"), None)
    try:
        with pytest.raises(WriterStopped):
            broken.begin(timeout=10)
    finally:
        broken.close()


def test_a_writer_that_ends_before_it_is_ready_is_known_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writer, "MODULE", "turnout.no_such_module")
    started = time.monotonic()
    broken = SqliteWriter(str(tmp_path / "x.sqlite3"), None)
    try:
        assert not broken.wait_ready(10)
    finally:
        broken.close()
    assert time.monotonic() - started < 5  # not the whole wait


def test_a_writer_whose_begin_went_unanswered_is_not_used_again(database: str) -> None:
    """A late answer to that begin would be taken for the next one (and the session would start
    before the writer noted the database's state)."""
    writer = SqliteWriter(database, None)
    try:
        assert writer.wait_ready(10)
        os.kill(writer.pid, signal.SIGSTOP)  # it cannot answer in time
        try:
            with pytest.raises(WriterStopped, match="did not answer"):
                writer.begin(timeout=0.1)
        finally:
            os.kill(writer.pid, signal.SIGCONT)
        with pytest.raises(WriterStopped, match="out of step"):
            writer.begin()
    finally:
        writer.kill()
    assert not writer.alive


def test_statements_are_only_inserts_and_updates(database: str) -> None:
    with sqlite3.connect(database) as conn, pytest.raises(ValueError, match="not a statement"):
        write_statements(conn, [("delete", "things", ("id",), [(1,)])])
