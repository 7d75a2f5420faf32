"""``SqlCheckInStore``: the check-in store through SQLAlchemy Core (PostgreSQL; any SQLite).

One transaction per batch: the service reads through a ``CoreCheckInReader`` of that transaction
(PostgreSQL locks the participants' rows ``FOR UPDATE``, so every scan of one ticket is serialised
across processes), decides, and the batch's scans, participant updates and outbox facts are written
before the commit. A batch that fails on the database (a nonce another process stored first, a lock
cycle PostgreSQL broke) is tried again from fresh reads, up to ``ATTEMPTS`` times; the second time
the nonce is read as stored and answered from the stored scan.

``SqliteCheckInStore`` (``sqlite_checkin_store``) is the SQLite file's variant.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterator, Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.outbox_rows import outbox_row
from turnout.adapters.db.repositories import event_from_row
from turnout.adapters.db.tables_attendance import scans
from turnout.domain.admission import CheckInStatus, PreviousScan, Result
from turnout.domain.events import Event
from turnout.messages.base import Envelope
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

ATTEMPTS = 3  # a batch's transaction, tried again from fresh reads after a database error
IN_CHUNK = 2_000  # values per ``IN (...)`` look-up at most

p = t.participants
e = t.events

CHECK_IN = {status.value: status for status in CheckInStatus}  # a dict look-up, not Enum's __call__
_SELECT_EVENT = sa.select(e).where(e.c.id == sa.bindparam("event_id"))  # built once
# on PostgreSQL the scan holds the event row in share mode until it commits: closing the event (an
# update of the row) waits for the scans that saw it live, and a scan that comes while the close is
# being committed waits for it and reads the event closed (``services.closing``)
_SELECT_EVENT_SHARED = _SELECT_EVENT.with_for_update(read=True)


class SqlCheckInStore:
    """``ports.CheckInStore`` over an engine (see the module's docstring)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._lock_rows = engine.dialect.name == "postgresql"

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def record(
        self, *, event_id: str, batches: Sequence[BatchT], steps: CheckInSteps[BatchT, LedgerT, DecidedT]
    ) -> Generator[DecidedT, None, None]:
        for batch in batches:
            yield self.record_batch(batch, steps)

    def record_batch(self, batch: BatchT, steps: CheckInSteps[BatchT, LedgerT, DecidedT]) -> DecidedT:
        """One batch in a transaction of its own, tried again from fresh reads after a database error."""
        for attempt in range(ATTEMPTS):
            try:
                with self.transaction() as conn:
                    ledger = steps.ledger()
                    steps.read(self.reader(conn), ledger, [batch])
                    decided = steps.decide(ledger, batch)
                    self.write(conn, decided.writes)
                return decided
            except sa.exc.DBAPIError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def transaction(self) -> AbstractContextManager[sa.Connection]:
        """A read-write transaction: gives the connection, commits on success."""
        return self._engine.begin()

    def reader(self, conn: sa.Connection) -> CheckInReader:
        return CoreCheckInReader(conn, lock_rows=self._lock_rows)

    def write(self, conn: sa.Connection, writes: CheckInWrites) -> None:
        """The batch's rows through SQLAlchemy Core."""
        if writes.scans:
            conn.execute(scans.insert(), [record._asdict() for record in writes.scans])
        if writes.changes:
            conn.execute(
                _UPDATE_PARTICIPANT,
                [
                    {
                        "b_id": change.participant_id,
                        "b_check_in_status": change.check_in_status,
                        "b_first": change.first_checked_in_at,
                        "b_last": change.last_scan_at,
                        "b_now": writes.at,
                    }
                    for change in writes.changes
                ],
            )
        if writes.facts:
            conn.execute(
                t.outbox.insert(),
                [
                    outbox_row(Envelope.wrap(fact, occurred_at, fact_id))
                    for fact_id, occurred_at, fact in writes.facts
                ],
            )


_UPDATE_PARTICIPANT = (
    p.update()
    .where(p.c.id == sa.bindparam("b_id"))
    .values(
        check_in_status=sa.bindparam("b_check_in_status"),
        first_checked_in_at=sa.bindparam("b_first"),
        last_scan_at=sa.bindparam("b_last"),
        updated_at=sa.bindparam("b_now"),
    )
)


def chunks(values: Collection[str], size: int, *, ordered: bool = False) -> Iterator[list[str]]:
    """``values`` in lists of ``size`` at most; ``ordered``: sorted (rows locked in one order by every
    transaction: no lock cycles between two of ours)."""
    listed = sorted(values) if ordered else list(values)
    for start in range(0, len(listed), size):
        yield listed[start : start + size]


class CoreCheckInReader:
    """``ports.CheckInReader`` through SQLAlchemy Core on one connection (its transaction)."""

    def __init__(self, conn: sa.Connection, *, lock_rows: bool = False) -> None:
        self.conn = conn
        self._lock_rows = lock_rows

    def event(self, event_id: str) -> Event | None:
        query = _SELECT_EVENT_SHARED if self._lock_rows else _SELECT_EVENT
        row = self.conn.execute(query, {"event_id": event_id}).first()
        return None if row is None else event_from_row(row)

    def participants(
        self, event_id: str, *, ids: Collection[str] = (), tokens: Collection[str] = ()
    ) -> list[ParticipantCheckIn]:
        # each look-up through its own unique index (primary key, ``token``); the event is checked
        # on the rows, because a condition on ``event_id`` tempts SQLite's planner into scanning it
        found: list[ParticipantCheckIn] = []
        for column, values in ((p.c.id, ids), (p.c.token, tokens)):
            for chunk in chunks(values, IN_CHUNK, ordered=True):
                query = sa.select(*_PARTICIPANT_COLUMNS).where(column.in_(chunk)).order_by(p.c.id)
                if self._lock_rows:
                    query = query.with_for_update()
                for row in self.conn.execute(query):
                    if row.event_id == event_id:
                        found.append(
                            ParticipantCheckIn(
                                row.id,
                                row.name,
                                row.status,
                                CHECK_IN[row.check_in_status],
                                int(row.ticket_version),
                                row.first_checked_in_at,
                                row.last_scan_at,
                                row.token,
                            )
                        )
        return found

    def stored_scans(self, event_id: str, nonces: Collection[str]) -> list[StoredScan]:
        found: list[StoredScan] = []
        for chunk in chunks(nonces, IN_CHUNK):
            query = sa.select(
                scans.c.id, scans.c.nonce, scans.c.result, scans.c.code, scans.c.participant_id
            ).where(scans.c.event_id == event_id, scans.c.nonce.in_(chunk))
            found.extend(StoredScan(*row) for row in self.conn.execute(query))
        return found

    def last_scan_at_gate(self, participant_id: str, gate_id: str) -> PreviousScan | None:
        row = self.conn.execute(
            sa.select(scans.c.id, scans.c.occurred_at, scans.c.result, scans.c.code)
            .where(scans.c.participant_id == participant_id, scans.c.gate_id == gate_id)
            .order_by(scans.c.occurred_at.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return PreviousScan(row.id, row.occurred_at, Result(row.result), row.code)


_PARTICIPANT_COLUMNS = (
    p.c.id,
    p.c.name,
    p.c.status,
    p.c.check_in_status,
    p.c.ticket_version,
    p.c.first_checked_in_at,
    p.c.last_scan_at,
    p.c.token,
    p.c.event_id,
)
