"""``SqliteCheckInStore``: the check-in store on SQLite, built for speed.

What it adds to ``SqlCheckInStore`` (one transaction per batch, tried again after a database error):

* **driver rows**: participants and stored nonces are read with plain driver statements (SQLAlchemy's
  result processing would cost more than the look-up itself), and each batch is written as
  multi-row statements (``sqlite_rows``) of values prepared here, exactly what SQLAlchemy's types
  would store (``UTCDateTime``: naive UTC text, through ``TimeTexts`` once per moment; ``JSON``: the
  same JSON, by orjson); outbox rows through ``outbox_rows.fact_rows``;
* **the writer turn** (on a file): every check-in transaction takes ``WriteTurn`` before
  ``BEGIN IMMEDIATE``;
* **the writer process** (on a file, for an upload of more than one batch): batch k is committed by
  a SQLite writer process (``sqlite_writer``) while this thread decides batch k+1. This thread
  reads through its own read transactions, ``READ_AHEAD_BATCHES`` batches at a time, after the
  writer's session has begun, into one ledger for the whole upload (what the upload's batches
  changed is held in memory and not read again); the writer commits each batch in a transaction of
  its own after checking, under the write lock, that nothing else has written since the session
  began, so every decision made ahead stands on the state it assumed. Committed batches are
  yielded as the writer reports them. When a batch is not written (another connection wrote; an
  error; the writer died and did not commit it), the rest goes batch by batch from there. Another
  upload using the writer, or a writer that does not start: all batch by batch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Collection, Generator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from turnout.adapters.child import ChildStopped
from turnout.adapters.db.checkin_store import CHECK_IN, IN_CHUNK, CoreCheckInReader, SqlCheckInStore, chunks
from turnout.adapters.db.outbox_rows import OUTBOX_COLUMNS, fact_rows
from turnout.adapters.db.sqlite_rows import Statement, variable_limit, write_statements
from turnout.adapters.db.sqlite_writer import SqliteWriter, WriterStopped, Written
from turnout.adapters.db.tables_attendance import scans
from turnout.adapters.db.write_turn import WriteTurn
from turnout.ports import (
    BatchT,
    CheckInReader,
    CheckInSteps,
    CheckInWrites,
    DecidedT,
    LedgerT,
    ParticipantCheckIn,
    StoredScan,
)

READ_AHEAD_BATCHES = 10  # a pipelined upload reads for this many batches at a time
WRITER_START_SECONDS = 10.0  # an upload waits this long at most for the writer process to start
WRITER_CLOSE_WAIT_SECONDS = 30.0  # closing waits this long at most for an upload using the writer
# batches sent to the writer and not yet reported at most: enough to keep it busy; and what an error
# in the middle of an upload can leave committed beyond what was counted
WRITER_IN_FLIGHT = 16

log = logging.getLogger(__name__)

SCAN_COLUMNS = (
    "id",
    "event_id",
    "participant_id",
    "gate_id",
    "method",
    "direction",
    "result",
    "code",
    "occurred_at",
    "recorded_at",
    "nonce",
    "stay_seconds",
    "actor",
    "device",
    "location",
    "metadata",
)  # ``ports.ScanRecord``'s order
_PARTICIPANT_SCAN_COLUMNS = ("check_in_status", "first_checked_in_at", "last_scan_at", "updated_at")
_SELECT_PEOPLE = (
    "SELECT id, name, status, check_in_status, ticket_version, first_checked_in_at, last_scan_at, "
    "token, event_id FROM participants WHERE {column} IN ({marks})"
)
_SELECT_NONCES = (
    "SELECT id, nonce, result, code, participant_id FROM scans WHERE event_id = ? AND nonce IN ({marks})"
)


class SqliteCheckInStore(SqlCheckInStore):
    """``ports.CheckInStore`` on SQLite (see the module's docstring). ``database``: the file (None
    for an in-memory database: no writer turn, no writer process); ``turn``: the file's writer
    turn, shared with the other check-in writers of this process."""

    def __init__(
        self, engine: sa.Engine, *, database: str | None, turn: WriteTurn | None = None, pipeline: bool = True
    ) -> None:
        super().__init__(engine)
        self._database = database
        self.turn = turn if turn is not None or database is None else WriteTurn.beside(database)
        self.pipeline = pipeline and database is not None
        self.writer: SqliteWriter | None = None
        self._lock = threading.Lock()
        self._closed = False

    # --- batch by batch ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with contextlib.ExitStack() as stack:
            if self.turn is not None:
                stack.enter_context(self.turn.held())
            yield stack.enter_context(self._engine.begin())

    def reader(self, conn: sa.Connection) -> CheckInReader:
        return SqliteCheckInReader(conn)

    def write(self, conn: sa.Connection, writes: CheckInWrites) -> None:
        write_statements(conn, statements(writes, TimeTexts()))

    def record(
        self, *, event_id: str, batches: Sequence[BatchT], steps: CheckInSteps[BatchT, LedgerT, DecidedT]
    ) -> Generator[DecidedT, None, None]:
        done = 0
        if self.pipeline and len(batches) > 1:
            for decided in self._pipelined(batches, steps):
                done += 1
                yield decided
        for batch in batches[done:]:  # all of them, or those after the pipeline stopped
            yield self.record_batch(batch, steps)

    # --- the writer process ------------------------------------------------------------------------

    def start(self) -> None:
        self.start_writer()

    def start_writer(self) -> SqliteWriter | None:
        """The writer process (SQLite file only, else None), started if it is not running."""
        if not self.pipeline or self._database is None:
            return None
        with self._lock:
            if self._closed:  # shutting down: no new writer (uploads go batch by batch)
                return None
            if self.writer is None or not self.writer.alive:
                if self.writer is not None:
                    self.writer.close()
                    self.writer = None
                try:
                    self.writer = SqliteWriter(self._database, self.turn.path if self.turn else None)
                except (OSError, ChildStopped):
                    log.warning(
                        "the bulk writer process did not start; uploads go batch by batch", exc_info=True
                    )
                    return None
            return self.writer

    def close(self) -> None:
        """End the writer process, if one was started, after the upload using it (if any) ends; no
        other is started after this. The writer turn's lock file is closed too."""
        with self._lock:
            self._closed = True
            writer, self.writer = self.writer, None
        try:
            if writer is not None:
                taken = writer.lock.acquire(timeout=WRITER_CLOSE_WAIT_SECONDS)
                try:
                    writer.close()
                finally:
                    if taken:
                        writer.lock.release()
        finally:
            if self.turn is not None:
                self.turn.close()

    def _drop(self, writer: SqliteWriter) -> None:
        """Kill a writer that failed or may be out of step (nothing it was sent is done after), and
        forget it: the next upload starts another."""
        writer.kill()
        with self._lock:
            if self.writer is writer:
                self.writer = None

    def _pipelined(
        self, batches: Sequence[BatchT], steps: CheckInSteps[BatchT, LedgerT, DecidedT]
    ) -> Iterator[DecidedT]:
        """The batches the writer process committed, from the first, as it reports them."""
        writer = self.start_writer()
        if writer is None:
            return
        if not writer.wait_ready(WRITER_START_SECONDS):
            log.warning("the bulk writer did not start in time; this upload goes batch by batch")
            self._drop(writer)
            return
        if not writer.lock.acquire(blocking=False):  # another upload is using it
            return
        try:
            yield from self._pipeline(writer, batches, steps)
        finally:
            writer.lock.release()

    def _pipeline(
        self, writer: SqliteWriter, batches: Sequence[BatchT], steps: CheckInSteps[BatchT, LedgerT, DecidedT]
    ) -> Iterator[DecidedT]:
        sent: dict[int, tuple[DecidedT, str | None]] = {}  # batch -> decided, its first scan id
        settled = 0  # batches committed and yielded (always a prefix)
        unwritten = len(batches)  # the first batch the writer reported not written
        stopped = False

        def take(outcomes: list[Written]) -> None:
            nonlocal stopped, unwritten
            for outcome in outcomes:
                if outcome.batch is None or not outcome.committed:
                    if outcome.outcome == "error":
                        log.warning("bulk writer: batch %s not written:\n%s", outcome.batch, outcome.detail)
                    if outcome.batch is not None:
                        unwritten = min(unwritten, outcome.batch)
                    stopped = True

        def committed_so_far() -> Iterator[DecidedT]:
            nonlocal settled
            while settled < unwritten and settled in sent and settled in reported:
                decided, _ = sent.pop(settled)
                settled += 1
                yield decided

        reported: set[int] = set()

        def outcomes(found: list[Written]) -> list[Written]:
            reported.update(o.batch for o in found if o.batch is not None and o.committed)
            take(found)
            return found

        try:
            writer.begin()
        except WriterStopped:
            log.warning("bulk writer did not begin; this upload goes batch by batch", exc_info=True)
            self._drop(writer)
            return
        lost = False
        texts = TimeTexts()  # shared by the upload's batches
        try:
            ledger = steps.ledger()
            for k, batch in enumerate(batches):
                outcomes(writer.written())
                yield from committed_so_far()
                if stopped:
                    break
                if k % READ_AHEAD_BATCHES == 0:  # what the next batches need, in one read transaction
                    with self._read_transaction() as conn:
                        steps.read(SqliteCheckInReader(conn), ledger, batches[k : k + READ_AHEAD_BATCHES])
                decided = steps.decide(ledger, batch)
                while len(sent) >= WRITER_IN_FLIGHT and not stopped:  # far enough ahead: wait
                    outcomes([writer.next_written()])
                    yield from committed_so_far()
                if stopped:
                    break
                writes = decided.writes
                sent[k] = (decided, writes.scans[0].id if writes.scans else None)
                writer.write(k, statements(writes, texts))
            outcomes(writer.end())  # the outcomes still to come, and the session closed
            yield from committed_so_far()
        except WriterStopped:
            lost = True
        except BaseException:
            # e.g. the caller stopped over an error of its own: stop the writer where it is (batches
            # it has committed stay, and a retry answers them by nonce); nothing more is written
            self._drop(writer)
            raise
        if lost:  # the writer died or stopped answering: which of the batches sent did it commit?
            log.warning("bulk writer stopped mid-upload; finding what it committed")
            self._drop(writer)  # first: a writer still alive could commit more while we look
            for k in sorted(sent):
                if k >= unwritten or not self._committed(sent[k][1]):
                    break
                reported.add(k)
            yield from committed_so_far()

    def _read_transaction(self) -> _ReadTransaction:
        """A read-only (deferred) transaction of its own, rolled back at the end."""
        return _ReadTransaction(self._engine.connect().execution_options(turnout_readonly=True))

    def _committed(self, first_scan_id: str | None) -> bool:
        """Whether a batch sent to a writer that died was committed: its first scan row is stored
        (a batch is one transaction). A batch with no rows to write (every record a replay) is."""
        if first_scan_id is None:
            return True
        with self._read_transaction() as conn:
            found = conn.execute(sa.select(scans.c.id).where(scans.c.id == first_scan_id)).first()
        return found is not None


class _ReadTransaction:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sa.Connection:
        self._conn.begin()
        return self._conn

    def __exit__(self, *_: object) -> None:
        try:
            self._conn.rollback()
        finally:
            self._conn.close()


class SqliteCheckInReader(CoreCheckInReader):
    """Participants and stored nonces through plain driver statements, the driver's rows as they are."""

    def __init__(self, conn: sa.Connection) -> None:
        super().__init__(conn)
        self._chunk = max(1, min(IN_CHUNK, variable_limit(conn) - 1))  # one variable: the event id

    def participants(
        self, event_id: str, *, ids: Collection[str] = (), tokens: Collection[str] = ()
    ) -> list[ParticipantCheckIn]:
        found: list[ParticipantCheckIn] = []
        seen: set[str] = set()
        for column, values in (("id", ids), ("token", tokens)):
            for chunk in chunks(values, self._chunk):  # no row locks here: any order
                sql = _SELECT_PEOPLE.format(column=column, marks=", ".join("?" * len(chunk)))
                for (
                    pid,
                    name,
                    status,
                    check_in,
                    version,
                    first,
                    last,
                    token,
                    row_event,
                ) in self.conn.exec_driver_sql(sql, tuple(chunk)).all():
                    if row_event != event_id or pid in seen:
                        continue
                    seen.add(pid)
                    found.append(
                        ParticipantCheckIn(
                            pid,
                            name,
                            status,
                            CHECK_IN[check_in],
                            int(version),
                            _utc(first),
                            _utc(last),
                            token,
                        )
                    )
        return found

    def stored_scans(self, event_id: str, nonces: Collection[str]) -> list[StoredScan]:
        found: list[StoredScan] = []
        for chunk in chunks(nonces, self._chunk):
            sql = _SELECT_NONCES.format(marks=", ".join("?" * len(chunk)))
            found.extend(StoredScan(*row) for row in self.conn.exec_driver_sql(sql, (event_id, *chunk)).all())
        return found


def _utc(text: str | None) -> datetime | None:
    """A stored ``UTCDateTime`` (naive UTC text on SQLite) as an aware datetime."""
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def sqlite_time(moment: datetime | None) -> str | None:
    """What ``UTCDateTime`` stores on SQLite: ``strftime("%Y-%m-%d %H:%M:%S.%f")`` of the moment in
    UTC, at a third of the cost."""
    if moment is None:
        return None
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"a time without a timezone: {moment}")
    if offset:
        moment -= offset  # the same wall time as UTC's (the offset written after it is cut off)
    return moment.isoformat(" ", "microseconds")[:26]


class TimeTexts(dict[datetime | None, str | None]):
    """``sqlite_time`` of each moment, computed once: a batch's scan rows, facts and participant
    updates share their ``occurred_at`` and ``recorded_at``."""

    def __missing__(self, moment: datetime | None) -> str | None:
        text = self[moment] = sqlite_time(moment)
        return text


def json_text(value: Any) -> str:
    """The JSON text SQLAlchemy's ``JSON`` type stores (written by orjson)."""
    if not value:
        return "{}"
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (integers beyond 64 bits): the standard library's text
        return json.dumps(value)


def statements(writes: CheckInWrites, texts: TimeTexts) -> list[Statement]:
    """A batch's writes as ``sqlite_rows`` statements (scans, participant updates, outbox facts), each
    row built once here, with the values SQLite stores. Plain values only (str, int, None): a writer
    process unpickles them without Turnout's types."""
    at = texts[writes.at]
    scan_rows = [
        (
            scan_id,
            event_id,
            participant_id,
            gate_id,
            method,
            direction,
            result,
            code,
            texts[occurred_at],
            at,
            nonce,
            stay,
            actor,
            json_text(device) if device else "{}",
            json_text(location) if location else "{}",
            json_text(metadata) if metadata else "{}",
        )
        for (
            scan_id,
            event_id,
            participant_id,
            gate_id,
            method,
            direction,
            result,
            code,
            occurred_at,
            _recorded_at,
            nonce,
            stay,
            actor,
            device,
            location,
            metadata,
        ) in writes.scans
    ]
    changes = [(status, texts[first], texts[last], at, pid) for pid, status, first, last in writes.changes]
    return [
        ("insert", "scans", SCAN_COLUMNS, scan_rows),
        ("update", "participants", _PARTICIPANT_SCAN_COLUMNS, "id", changes),
        (
            "insert",
            "outbox",
            OUTBOX_COLUMNS,
            fact_rows(writes.facts, time=texts.__getitem__),
        ),
    ]
