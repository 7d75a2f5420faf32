"""The writer turn of a SQLite file: the processes' check-in writers take turns through an ``flock``
on a file beside the database before ``BEGIN IMMEDIATE``.

The next waiter wakes the moment the lock is released, where SQLite's busy handler would poll with
sleeps of up to 100 ms (that was the scan p99). ``flock`` is per open file: the threads of one
process queue on a ``threading.Lock`` first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Self

import sqlalchemy as sa

from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.ports import Clock


class WriteTurn:
    """One SQLite file's writer turn (``path``: the lock file, ``<database>-checkin.lock``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._threads = threading.Lock()

    @classmethod
    def beside(cls, database: str) -> WriteTurn:
        return cls(f"{database}-checkin.lock")

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            assert self._fd is not None
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        """Close the lock file, once no thread of this process holds the turn (an ``acquire`` after
        this opens it again)."""
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()


class TurnTakingUnitOfWork(SqlUnitOfWork):
    """A unit of work whose read-write transactions take the writer turn first (check-in's own
    writes outside its store: the event's signing key, made on first use). Without the turn,
    SQLite's busy handler can lose to the other processes' turns for seconds."""

    def __init__(self, engine: sa.Engine, clock: Clock, turn: WriteTurn, *, readonly: bool = False) -> None:
        super().__init__(engine, clock, readonly=readonly)
        self._turn = turn
        self._holding = False

    def __enter__(self) -> Self:
        if not self.readonly:
            self._turn.acquire()
            self._holding = True
        try:
            return super().__enter__()
        except BaseException:
            self._let_go()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            self._let_go()

    def _let_go(self) -> None:
        if self._holding:
            self._holding = False
            self._turn.release()
