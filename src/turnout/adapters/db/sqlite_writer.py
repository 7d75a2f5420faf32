"""A SQLite writer process: a bulk check-in upload's batches committed on the other core.

Why a process: the deciding thread (Python) and the writing (SQLite's B-trees, the WAL) each need
~0.2-0.3 s of CPU for 10,000 records. On two threads of one process they shared one GIL: every
statement handed it over and back, and each take-back waited out the other thread's switch
interval, so the writing took ~0.35-0.4 s beside the deciding instead of ~0.2 s alone. Here the
writer is ``python -m turnout.adapters.db.sqlite_writer`` (``adapters.child``; it loads neither
SQLAlchemy nor the rest of Turnout), and the deciding thread only pickles each batch's rows
(~0.1 ms) and goes on.

A session is one upload. ``begin`` notes the database's state on the writer's own connection
(``PRAGMA data_version``, which moves when any other connection commits, and the connection's
change count); the caller reads what it needs only after that. Each batch is then written in a
transaction of its own, in order: under the write lock (``BEGIN IMMEDIATE``, after the processes'
writer turn, an ``flock`` beside the database) the state is checked first, and if anything else
has committed since ``begin`` the batch is not written (``moved``): what the caller decided ahead
may stand on stale reads. After a batch that is not written, the rest of the session is
``skipped``, so what was committed is always a prefix of the batches sent.

    ->  ("open", database file, turn lock file or None)
    ->  ("begin",)                        <-  ("begun", None, None)
    ->  ("write", batch, statements)      <-  ("ok" | "moved" | "skipped", batch, None)
                                           <-  ("error", batch, traceback text)
    ->  ("end",)                           <-  ("ended", None, None)

A statement is ``sqlite_rows.Statement`` (an ``insert_many`` or ``update_many`` as data) with rows
of plain values (str, int, float, None): nothing the writer would need Turnout's types to unpickle.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import queue
import sqlite3
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from turnout.adapters.child import Child, ChildStopped, start_pump, write_frame
from turnout.adapters.db.sqlite_pragmas import SQLITE_BUSY_TIMEOUT_MS, configure
from turnout.adapters.db.sqlite_rows import Statement, write_statements

MODULE = "turnout.adapters.db.sqlite_writer"


class WriterStopped(ChildStopped):
    """The writer process ended in the middle of a session: batches sent since its last answer may
    or may not have been committed."""


@dataclass(frozen=True, slots=True)
class Written:
    """What became of one batch: ``ok`` (committed), ``moved`` (something else wrote since
    ``begin``), ``skipped`` (a batch before it was not written), ``error`` (``detail``: why)."""

    outcome: str
    batch: int | None  # None for the answers to ``begin`` and ``end``
    detail: str | None = None

    @property
    def committed(self) -> bool:
        return self.outcome == "ok"


class SqliteWriter:
    """The caller's side of one writer process for one SQLite file. One session at a time: hold
    ``lock`` from ``begin`` to ``end``. ``close`` ends the process."""

    def __init__(self, database: str, turn_path: str | None) -> None:
        self.lock = threading.Lock()
        self._child = Child(MODULE, name="sqlite writer")
        try:
            self._child.send(pickle.dumps(("open", database, turn_path), protocol=pickle.HIGHEST_PROTOCOL))
        except ChildStopped:
            self._child.kill()
            raise
        self._open = False  # in a session
        self._broken = False  # a begin went unanswered: a late answer would be taken for the next

    @property
    def alive(self) -> bool:
        return self._child.alive

    @property
    def pid(self) -> int:
        return self._child.pid

    def wait_ready(self, timeout: float) -> bool:
        """True once the process has started (loaded its modules), within ``timeout`` seconds; False
        at once if it ended first."""
        return self._child.wait_ready(timeout)

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            self._child.send(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        except ChildStopped as exc:
            raise WriterStopped(str(exc)) from exc

    def _next(self, timeout: float) -> Written:
        try:
            answer = self._child.answers.get(timeout=timeout)
        except queue.Empty:
            raise WriterStopped(f"the sqlite writer did not answer within {timeout:.0f} s") from None
        if answer is None:
            self._child.answers.put(None)  # every later wait sees the end too
            raise WriterStopped("the sqlite writer stopped")
        return Written(*answer)

    def begin(self, timeout: float = 30) -> None:
        """Start a session: the database's state is noted now (read what the batches need after).

        Raises ``WriterStopped`` if the writer does not answer in time or answers out of turn; the
        writer is then of no further use (``kill`` it): a late answer would be taken for the next
        one."""
        if self._broken:
            raise WriterStopped("an earlier begin failed: this writer is out of step")
        self._broken = True  # until the answer comes
        self._send(("begin",))
        answer = self._next(timeout)
        if answer.outcome != "begun":
            raise WriterStopped(f"the sqlite writer answered {answer.outcome!r} to begin")
        self._broken = False
        self._open = True

    def write(self, batch: int, statements: Sequence[Statement]) -> None:
        """Send one batch (numbered by the caller) to be committed; its ``Written`` comes later."""
        if not self._open:
            raise RuntimeError("write outside a session (begin first)")
        self._send(("write", batch, statements))

    def next_written(self, timeout: float = 120) -> Written:
        """The next batch's outcome, waiting for it (``timeout`` seconds at most)."""
        return self._next(timeout)

    def written(self) -> list[Written]:
        """The batches' outcomes that have come back so far (without waiting)."""
        outcomes: list[Written] = []
        while True:
            try:
                answer = self._child.answers.get_nowait()
            except queue.Empty:
                return outcomes
            if answer is None:
                self._child.answers.put(None)
                raise WriterStopped("the sqlite writer stopped")
            outcomes.append(Written(*answer))

    def end(self, timeout: float = 120) -> list[Written]:
        """End the session: waits for the outcomes of the batches still being written (each within
        ``timeout`` seconds, else ``WriterStopped``)."""
        self._open = False
        self._send(("end",))
        outcomes: list[Written] = []
        while True:
            answer = self._next(timeout)
            if answer.outcome == "ended":
                return outcomes
            outcomes.append(answer)

    def kill(self) -> None:
        """Stop the process now and wait until it has exited: no batch sent is committed after this
        returns (what it had committed stays)."""
        self._child.kill()

    def close(self) -> None:
        """End the process once it has done what it was sent (its stdin is closed)."""
        self._child.close()


# --- the writer process -----------------------------------------------------------------------------


class _Session:
    """The writer's connection and where the current session stands."""

    def __init__(self, database: str, turn_path: str | None) -> None:
        self.conn = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        configure(self.conn)
        self.turn_fd = os.open(turn_path, os.O_RDWR | os.O_CREAT, 0o600) if turn_path else None
        self.expected: tuple[int, int] | None = None  # (data_version, total_changes) while open

    def state(self) -> tuple[int, int]:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0]), int(self.conn.total_changes)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """The processes' writer turn (``write_turn.WriteTurn``: the same lock file)."""
        if self.turn_fd is None:
            yield
            return
        fcntl.flock(self.turn_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self.turn_fd, fcntl.LOCK_UN)

    def write(self, batch: int, statements: Sequence[Statement]) -> tuple[str, int, str | None]:
        if self.expected is None:
            return ("skipped", batch, None)
        conn = self.conn
        try:
            with self.turn():
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if self.state() != self.expected:
                        conn.rollback()
                        self.expected = None
                        return ("moved", batch, None)
                    write_statements(conn, statements)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.rollback()
                    raise
        except Exception:
            self.expected = None
            return ("error", batch, traceback.format_exc())
        self.expected = (self.expected[0], int(conn.total_changes))
        return ("ok", batch, None)


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    inbox = start_pump(stdin, stdout)
    session: _Session | None = None
    gc.freeze()  # the modules loaded so far are never garbage: collections need not walk them
    while True:
        frame = inbox.get()
        if frame is None:
            return
        request = pickle.loads(frame)  # noqa: S301 - from the process that started us
        kind = request[0]
        gc.disable()  # a batch's rows are acyclic (freed by reference counting)
        try:
            if kind == "open":
                session = _Session(request[1], request[2])
                continue
            if session is None:
                raise RuntimeError("the first request must be open")
            if kind == "begin":
                session.expected = session.state()
                answer: tuple[Any, ...] = ("begun", None, None)
            elif kind == "write":
                answer = session.write(request[1], request[2])
            else:  # end
                session.expected = None
                answer = ("ended", None, None)
            del request, frame
        finally:
            gc.enable()
        write_frame(stdout, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):  # the caller is gone
        serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
