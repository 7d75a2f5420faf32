"""Many rows in few SQLite statements: multi-row ``VALUES`` lists instead of ``executemany``.

Why not the driver's ``executemany``: Python's ``sqlite3`` releases the GIL around every
``sqlite3_step`` and takes it back afterwards, and ``executemany`` steps once a row. A writer thread
therefore hands the GIL over and back thousands of times a batch; whenever another thread of the
process is running Python (the import's file reader, the server's event loop), each take-back
waits out that thread's switch interval (5 ms). Measured on the 2-core machine, 100,000 four-column
rows in 20 transactions: ``executemany`` 0.34 s alone and 144 s beside one busy thread; multi-row
``VALUES`` (as many rows a statement as SQLite's variable limit allows) 0.21 s and 0.51 s. The rows
bind exactly as ``executemany`` binds them, so the stored values are the same.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # not imported at run time: a bulk upload's writer process loads no SQLAlchemy
    import sqlalchemy as sa

#: ``UPDATE ... FROM`` (SQLite 3.33+); before that, one ``UPDATE`` a row
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)
#: rows a statement at most (the variable limit usually bounds it first)
MAX_ROWS = 1024
_DEFAULT_VARIABLES = 999  # SQLite's limit before 3.32 (32766 since)


#: what the functions below write through: a SQLAlchemy connection, or the driver's own (a bulk
#: upload's writer process has no SQLAlchemy)
Target: TypeAlias = "sa.Connection | sqlite3.Connection"


def _driver(conn: Target) -> Any:
    return conn if isinstance(conn, sqlite3.Connection) else conn.connection.dbapi_connection


def _execute(conn: Target, sql: str, params: Any) -> None:
    if isinstance(conn, sqlite3.Connection):
        if isinstance(params, list):
            conn.executemany(sql, params)
        else:
            conn.execute(sql, params)
    else:
        conn.exec_driver_sql(sql, params)


def _quote(name: str) -> str:
    """An identifier, always quoted (``"key"``, ``"metadata"``: SQLite keywords among the columns)."""
    return '"' + name.replace('"', '""') + '"'


def variable_limit(conn: Target) -> int:
    """How many ``?`` one statement may bind on this connection's SQLite."""
    raw = _driver(conn)
    getlimit = getattr(raw, "getlimit", None)  # Python 3.11+
    if getlimit is None:
        return _DEFAULT_VARIABLES
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def _piece_size(left: int, most: int) -> int:
    """The next piece: a power of two from 128 rows up, else a multiple of 4, else what is left."""
    if left >= 128 and most >= 128:
        return 1 << (min(left, most).bit_length() - 1)
    if left >= 4 and most >= 4:
        return min(left, most) // 4 * 4
    return max(1, min(left, most))


def _chunks(conn: Target, width: int, rows: Sequence[Sequence[Any]]) -> list[Sequence[Sequence[Any]]]:
    """``rows`` in pieces of few distinct sizes, each within SQLite's variable limit.

    Python's ``sqlite3`` keeps the last 128 distinct statements prepared, and a multi-row statement is
    prepared per row count: a 2,000-row insert of 20 columns is ~2.7 MB prepared. With any size
    allowed, nearly every import batch brings a new one (an import grew by ~40 MB) and a server's
    group commits of 1 to 64 scans evict each other. Pieces of 128 rows and more are powers of two,
    smaller ones a multiple of 4 and then fewer than 4: at most ~40 sizes a statement (three kinds of
    statement fit the cache), and a batch of 100 rows is one statement.
    """
    most = max(1, min(MAX_ROWS, variable_limit(conn) // max(width, 1)))
    pieces: list[Sequence[Sequence[Any]]] = []
    start = 0
    while start < len(rows):
        size = _piece_size(len(rows) - start, most)
        pieces.append(rows[start : start + size])
        start += size
    return pieces


@functools.lru_cache(maxsize=256)
def _values(width: int, count: int) -> str:
    one = "(" + ", ".join("?" * width) + ")"
    return ", ".join([one] * count)


def insert_many(conn: Target, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``INSERT INTO table (columns)`` each row (values in ``columns`` order), in the rows' order."""
    if not rows:
        return
    names = ", ".join(_quote(c) for c in columns)
    width = len(columns)
    for chunk in _chunks(conn, width, rows):
        params = tuple(itertools.chain.from_iterable(chunk))
        if len(params) != width * len(chunk):
            raise ValueError(f"every row needs {width} values")
        _execute(conn, f"INSERT INTO {_quote(table)} ({names}) VALUES {_values(width, len(chunk))}", params)


def update_many(
    conn: Target, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[Any]]
) -> None:
    """``UPDATE table SET columns... WHERE key = ...`` for each row ``(*values, key_value)``.

    A key given twice must come with the same values both times (one of the rows is applied).
    """
    if not rows:
        return
    names = [_quote(c) for c in columns]
    key_name = _quote(key)
    width = len(columns) + 1
    if not _UPDATE_FROM or len(rows) == 1:
        sets = ", ".join(f"{name} = ?" for name in names)
        _execute(conn, f"UPDATE {_quote(table)} SET {sets} WHERE {key_name} = ?", [tuple(r) for r in rows])
        return
    # a VALUES list's columns are column1, column2, ...
    sets = ", ".join(f"{name} = src.column{i + 1}" for i, name in enumerate(names))
    for chunk in _chunks(conn, width, rows):
        params = tuple(itertools.chain.from_iterable(chunk))
        if len(params) != width * len(chunk):
            raise ValueError(f"every row needs {width} values")
        _execute(
            conn,
            f"UPDATE {_quote(table)} SET {sets} FROM (VALUES {_values(width, len(chunk))}) AS src "
            f"WHERE {_quote(table)}.{key_name} = src.column{width}",
            params,
        )


#: ``("insert", table, columns, rows)`` or ``("update", table, columns, key, rows)``: one
#: ``insert_many`` or ``update_many``, as data (a bulk upload's writer process receives them)
Statement = tuple[Any, ...]


def write_statements(conn: Target, statements: Sequence[Statement]) -> None:
    """Each statement in order (``insert_many`` / ``update_many``)."""
    for statement in statements:
        kind = statement[0]
        if kind == "insert":
            insert_many(conn, statement[1], statement[2], statement[3])
        elif kind == "update":
            update_many(conn, statement[1], statement[2], statement[3], statement[4])
        else:
            raise ValueError(f"not a statement: {kind!r}")
