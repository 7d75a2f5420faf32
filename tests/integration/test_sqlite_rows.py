"""Multi-row SQLite statements store what ``executemany`` stores, in order, in chunks of any size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from turnout.adapters.db import sqlite_rows
from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.sqlite_rows import insert_many, update_many

COLUMNS = ("id", "name", "count", "ratio", "note", "data")


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE things (seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, name TEXT, "
            '"count" INTEGER, ratio REAL, note TEXT, data JSON)'
        )
    return engine


def _rows(n: int) -> list[tuple[object, ...]]:
    data = '{"k": "값"}'
    return [(f"id-{i:05d}", f"이름 {i} 😀", i * 3, i / 7, None if i % 3 else "메모", data) for i in range(n)]


def _stored(conn: sa.Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {', '.join(COLUMNS)} FROM things ORDER BY seq")]


@pytest.mark.parametrize("count", [1, 2, 7, 500])
def test_insert_many_stores_what_executemany_stores_in_order(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr(sqlite_rows, "MAX_ROWS", 3)  # several statements for one call
    rows = _rows(count)
    with engine.begin() as conn:
        insert_many(conn, "things", COLUMNS, rows)
        assert _stored(conn) == rows
        types = conn.exec_driver_sql('SELECT typeof("count"), typeof(ratio), typeof(note) FROM things').all()
        assert {t[0] for t in types} == {"integer"}
        assert {t[1] for t in types} == {"real"}
        assert {t[2] for t in types} <= {"text", "null"}


def test_insert_many_respects_the_variable_limit(engine: sa.Engine) -> None:
    rows = _rows(20_000)  # 120,000 values: more than one statement may bind
    with engine.begin() as conn:
        insert_many(conn, "things", COLUMNS, rows)
        assert conn.exec_driver_sql("SELECT count(*) FROM things").scalar() == 20_000
        assert _stored(conn)[-1] == rows[-1]


def test_insert_many_refuses_a_short_row_and_inserts_nothing(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="6 values"), engine.begin() as conn:
        insert_many(conn, "things", COLUMNS, [*_rows(2), ("only", "two")])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM things").scalar() == 0


def test_a_duplicate_key_fails_the_whole_statement(engine: sa.Engine) -> None:
    rows = _rows(3)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        insert_many(conn, "things", COLUMNS, [*rows, rows[0]])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM things").scalar() == 0


@pytest.mark.parametrize("count", [1, 5])
def test_update_many_sets_each_row_by_its_key(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr(sqlite_rows, "MAX_ROWS", 2)
    rows = _rows(10)
    with engine.begin() as conn:
        insert_many(conn, "things", COLUMNS, rows)
        changes = [(f"new {i}", i * 100, f"id-{i:05d}") for i in range(0, 2 * count, 2)]
        update_many(conn, "things", ("name", "count"), "id", changes)
        stored = {r[0]: r for r in _stored(conn)}
    for i, row in enumerate(rows):
        expected = (row[0], f"new {i}", i * 100, *row[3:]) if i % 2 == 0 and i < 2 * count else row
        assert stored[row[0]] == expected


def test_update_many_takes_a_repeated_key_with_the_same_values(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        insert_many(conn, "things", COLUMNS, _rows(2))
        update_many(conn, "things", ("note",), "id", [("x", "id-00001"), ("x", "id-00001")])
        assert conn.exec_driver_sql("SELECT note FROM things ORDER BY seq").scalars().all() == ["메모", "x"]


def test_rows_go_in_pieces_of_few_sizes(engine: sa.Engine) -> None:
    """Few distinct statements (each row count is a statement sqlite3 keeps prepared)."""
    seen: list[int] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith('INSERT INTO "things"'):
            seen.append(statement.count("("))

    with engine.begin() as conn:
        insert_many(conn, "things", COLUMNS, _rows(1500))
        insert_many(conn, "things", COLUMNS[:1], [(f"x{i}",) for i in range(37)])
        assert conn.exec_driver_sql("SELECT count(*) FROM things").scalar() == 1537
    # (the column list is one parenthesis; each row another)
    assert [n - 1 for n in seen] == [1024, 256, 128, 92, 36, 1]


def test_the_driver_connection_writes_what_the_sqlalchemy_one_writes(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """A bulk upload's writer thread passes the driver's connection: same statements, same rows."""
    rows = _rows(150)
    other = make_engine(f"sqlite:///{tmp_path / 'driver.sqlite3'}")
    with other.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE things (seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, name TEXT, "
            '"count" INTEGER, ratio REAL, note TEXT, data JSON)'
        )
    with engine.begin() as conn:
        insert_many(conn, "things", COLUMNS, rows)
        update_many(conn, "things", ("note", "count"), "id", [("바뀜", 7, "id-00003"), ("x", 1, "id-00149")])
        update_many(conn, "things", ("note",), "id", [("하나", "id-00000")])
        expected = _stored(conn)
    with other.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        raw.execute("BEGIN IMMEDIATE")
        insert_many(raw, "things", COLUMNS, rows)
        update_many(raw, "things", ("note", "count"), "id", [("바뀜", 7, "id-00003"), ("x", 1, "id-00149")])
        update_many(raw, "things", ("note",), "id", [("하나", "id-00000")])
        raw.execute("COMMIT")
    with other.connect() as conn:
        assert _stored(conn) == expected
    assert expected[3][4] == "바뀜"
    assert expected[0][4] == "하나"
    other.dispose()
