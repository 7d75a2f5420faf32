"""``SqliteCheckInStore`` on a SQLite file: bulk uploads through the writer process (decided ahead,
committed a batch behind), its fallbacks to batch by batch, and its life (start, close, a writer
that dies or stops answering). The rules of check-in are the service tests' (``tests/unit``); what
every store does is the contract suite's."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from tests.attendance_support import add_gate, add_participants, live_event, set_participant
from turnout.adapters.db import tables as t
from turnout.adapters.db.engine import sqlite_file
from turnout.adapters.db.sqlite_checkin_store import WRITER_IN_FLIGHT, SqliteCheckInStore
from turnout.adapters.db.sqlite_writer import SqliteWriter, WriterStopped, Written
from turnout.adapters.db.tables_attendance import scans
from turnout.bootstrap import Turnout, bootstrap, build_checkin
from turnout.config import Settings
from turnout.domain.admission import Direction
from turnout.ports import TicketKeys
from turnout.services.checkin import CheckIn, ScanInput

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
STORE_LOG = "turnout.adapters.db.sqlite_checkin_store"


def count(turnout: Turnout, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with turnout.uow(readonly=True) as uow:
        return int(uow.conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def checkin_on(
    wired: Turnout, *, pipeline: bool = True, on_recorded: Callable[[str], None] | None = None
) -> tuple[CheckIn, SqliteCheckInStore]:
    """A check-in service of its own on ``wired``'s database, with its ``SqliteCheckInStore``
    (``pipeline=False``: no writer process, batch by batch)."""
    store = SqliteCheckInStore(
        wired.engine, database=sqlite_file(wired.settings.database_url), pipeline=pipeline
    )
    checkin = build_checkin(
        settings=wired.settings,
        engine=wired.engine,
        clock=wired.clock,
        tickets=cast(TicketKeys, wired.tickets),
        on_recorded=on_recorded,
        store=store,
    )
    wired.on_close.append(checkin.close)
    return checkin, store


def warm_key(checkin: CheckIn, event_id: str) -> None:
    """The event's signing key fetched (made) now, before a test takes the write lock elsewhere."""
    checkin.verify(event_id=event_id, token="warm-up")


@pytest.fixture
def wired(sqlite_template: Path, tmp_path: Path) -> Iterator[Turnout]:
    """SQLite only, on a file (so that bulk uploads can take the pipelined path, with a writer process)."""
    with _own_database(sqlite_template, tmp_path, "turnout") as turnout:
        yield turnout


@contextlib.contextmanager
def _own_database(sqlite_template: Path, tmp_path: Path, name: str) -> Iterator[Turnout]:
    """Wired on a copy of the migrated SQLite template of its own (``name``: the file's)."""
    path = tmp_path / f"{name}.sqlite3"
    shutil.copyfile(sqlite_template, path)
    settings = Settings(
        database_url=f"sqlite:///{path}", var_dir=tmp_path / "var", secret_key="k", _env_file=None
    )
    turnout = bootstrap(settings)
    try:
        yield turnout
    finally:
        turnout.close()


def _enter_then_leave(turnout: Turnout) -> tuple[str, str, str, list[ScanInput]]:
    """Two participants enter (nonces 1, 2), then leave an hour later (3, 4): one batch each."""
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    [(pid, token), (other_pid, other_token)] = add_participants(turnout, event_id, 2)
    records = [
        ScanInput(gate_id=gate_id, token=token, direction=Direction.IN, occurred_at=T0, nonce="1"),
        ScanInput(gate_id=gate_id, token=other_token, direction=Direction.IN, occurred_at=T0, nonce="2"),
        ScanInput(
            gate_id=gate_id,
            token=token,
            direction=Direction.OUT,
            occurred_at=T0 + timedelta(hours=1),
            nonce="3",
        ),
        ScanInput(
            gate_id=gate_id,
            token=other_token,
            direction=Direction.OUT,
            occurred_at=T0 + timedelta(hours=1),
            nonce="4",
        ),
    ]
    return event_id, pid, other_pid, records


def _statuses(turnout: Turnout) -> dict[str, str]:
    with turnout.uow(readonly=True) as uow:
        return dict(uow.conn.execute(sa.select(t.participants.c.id, t.participants.c.check_in_status)).all())


@pytest.fixture
def before_batch_is_sent(monkeypatch: pytest.MonkeyPatch, wired: Turnout) -> Callable[..., None]:
    """``(event_id, batch, committed_scans, action)``: run ``action`` (once) on the deciding thread
    just before batch ``batch`` goes to the writer process, after waiting until the batches before it
    are committed (``committed_scans`` scan rows stored): a write from elsewhere at an exact point
    of a pipelined upload."""
    planned: dict[int, tuple[str, int, Callable[[], None]]] = {}
    original = SqliteWriter.write

    def write(self: SqliteWriter, batch: int, statements: Any) -> None:
        if batch in planned:
            event_id, stored, action = planned.pop(batch)
            deadline = time.monotonic() + 30
            while count(wired, scans, scans.c.event_id == event_id) < stored:
                assert time.monotonic() < deadline, "the batches before were not committed"
                time.sleep(0.005)
            action()
        original(self, batch, statements)

    monkeypatch.setattr(SqliteWriter, "write", write)

    def plan(event_id: str, batch: int, committed_scans: int, action: Callable[[], None]) -> None:
        planned[batch] = (event_id, committed_scans, action)

    return plan


def test_a_write_while_batches_are_decided_ahead_is_seen_by_the_next_batch(
    wired: Turnout, before_batch_is_sent: Callable[..., None], calls: list[str]
) -> None:
    """Pipelined (SQLite): the third batch was decided ahead on what was read before a gate cancelled
    the participant; the writer finds that something else committed and does not write it, and the
    batch is decided again, batch by batch, on what is stored now."""
    event_id, pid, other_pid, records = _enter_then_leave(wired)
    before_batch_is_sent(event_id, 2, 2, lambda: set_participant(wired, pid, status="cancelled"))
    checkin, _ = checkin_on(wired)
    result = checkin.bulk(event_id=event_id, records=records, batch_size=1)
    assert [(e.index, e.code) for e in result.errors] == [(2, "participant_cancelled")]
    assert result.successful == 3
    assert calls == ["batch", "batch"]  # the two batches from the third on went one by one
    assert _statuses(wired) == {pid: "inside", other_pid: "exited"}


def test_later_batches_do_not_read_again_what_nobody_changed(wired: Turnout) -> None:
    """SQLite: with nothing else writing, the participants are read once for the whole upload (one
    look-up before the first batch is decided), not once per batch."""
    event_id = live_event(wired)
    gate_id = add_gate(wired, event_id)
    people = add_participants(wired, event_id, 2)
    records = [
        ScanInput(gate_id=gate_id, token=tok, direction=direction, occurred_at=T0 + timedelta(minutes=m + i))
        for m, direction in ((0, Direction.IN), (10, Direction.OUT), (20, Direction.IN))
        for i, (_, tok) in enumerate(people)
    ]
    looked_up: list[str] = []

    @sa_event.listens_for(wired.engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("SELECT id, name, status") and "FROM participants" in statement:
            looked_up.append(statement)

    checkin, _ = checkin_on(wired)
    result = checkin.bulk(event_id=event_id, records=records, batch_size=1)
    assert (result.successful, result.failed) == (6, 0)
    assert len(looked_up) == 1  # every participant the upload names, at once, then nothing


def _mixed_upload(wired: Turnout) -> tuple[str, list[ScanInput]]:
    """An upload with every kind of answer: entries, exits uploaded before their entries, repeats,
    a cancelled participant, an unknown token, a nonce given twice."""
    event_id = live_event(wired)
    gate_id = add_gate(wired, event_id)
    people = add_participants(wired, event_id, 40)
    set_participant(wired, people[3][0], status="cancelled")
    records: list[ScanInput] = []
    for i, (_, token) in enumerate(people):
        records.append(
            ScanInput(
                gate_id=gate_id,
                token=token,
                direction=Direction.OUT,
                occurred_at=T0 + timedelta(hours=1, seconds=i),
                nonce=f"o{i}",
            )
        )
        records.append(
            ScanInput(
                gate_id=gate_id,
                token=token,
                direction=Direction.IN,
                occurred_at=T0 + timedelta(seconds=i),
                nonce=f"i{i}",
            )
        )
        if i % 5 == 0:  # entered twice
            records.append(
                ScanInput(
                    gate_id=gate_id,
                    token=token,
                    direction=Direction.IN,
                    occurred_at=T0 + timedelta(minutes=5, seconds=i),
                )
            )
    records.append(ScanInput(gate_id=gate_id, token="A" * 150, occurred_at=T0))
    records.append(records[0])  # the same nonce again
    return event_id, records


def _outcome(wired: Turnout, event_id: str, result: Any) -> tuple[Any, ...]:
    with wired.uow(readonly=True) as uow:
        stored = sorted(
            (r.nonce or "", r.result, r.code or "", r.stay_seconds or 0)
            for r in uow.conn.execute(sa.select(scans).where(scans.c.event_id == event_id))
        )
        statuses = sorted(
            r[0]
            for r in uow.conn.execute(
                sa.select(t.participants.c.check_in_status).where(t.participants.c.event_id == event_id)
            )
        )
        facts = uow.conn.execute(
            sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.type == "attendance.recorded")
        ).scalar_one()
    errors = [(e.index, e.code) for e in result.errors]
    return (result.total_processed, result.successful, result.failed, errors, stored, statuses, facts)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each batch that went the batch-by-batch path (``SqliteCheckInStore.record_batch``), as it goes."""
    seen: list[str] = []
    original = SqliteCheckInStore.record_batch

    def counted(self: SqliteCheckInStore, batch: Any, steps: Any) -> Any:
        seen.append("batch")
        return original(self, batch, steps)

    monkeypatch.setattr(SqliteCheckInStore, "record_batch", counted)
    return seen


def test_decided_ahead_or_batch_by_batch_the_upload_ends_the_same(
    sqlite_template: Path, tmp_path: Path, calls: list[str]
) -> None:
    """SQLite: the pipelined path (batches decided while the one before is written) and the plain
    batch-by-batch path give the same answers, rows and participant states."""
    outcomes = []
    for pipelined in (True, False):
        with _own_database(sqlite_template, tmp_path, f"{pipelined}") as wired:
            event_id, records = _mixed_upload(wired)
            checkin, _ = checkin_on(wired, pipeline=pipelined)  # without: no writer process
            calls.clear()
            result = checkin.bulk(event_id=event_id, records=records, batch_size=7)
            assert (len(calls) == 0) is pipelined  # nothing else wrote: the pipeline did every batch
            outcomes.append(_outcome(wired, event_id, result))
    assert outcomes[0] == outcomes[1]
    total, successful, failed, errors, _stored, statuses, _facts = outcomes[0]
    # 39 entries and exits, and the repeated nonce's stored answer; 8 second entries, the cancelled
    # participant's 2 records and the unknown token refused
    assert (total, successful, failed) == (90, 79, 11)
    assert sorted({code for _, code in errors}) == [
        "already_admitted",
        "malformed_token",
        "participant_cancelled",
    ]
    assert statuses.count("exited") == 39


def test_a_write_from_elsewhere_hands_the_rest_to_the_batch_by_batch_path(
    wired: Turnout, calls: list[str], before_batch_is_sent: Callable[..., None]
) -> None:
    event_id, records = _mixed_upload(wired)
    counted: list[str] = []
    checkin, _ = checkin_on(wired, on_recorded=counted.append)

    def rename() -> None:  # another connection writes while the upload is under way
        with wired.uow() as uow:
            uow.conn.execute(t.events.update().where(t.events.c.id == event_id).values(name="이름 변경"))
            uow.commit()

    before_batch_is_sent(event_id, 3, 21, rename)  # three batches of 7 stored, then the write
    result = checkin.bulk(event_id=event_id, records=records, batch_size=7)
    assert len(counted) == 13  # every batch counted once (90 records / 7)
    assert len(calls) == 10  # the pipeline committed three batches, the rest went one by one
    errors = [(e.index, e.code) for e in result.errors]
    assert _outcome(wired, event_id, result)[:4] == (90, 79, 11, errors)


def test_a_failing_statistics_callback_mid_pipeline_is_raised_not_hung(
    wired: Turnout, calls: list[str]
) -> None:
    """Committed batches are counted (and statistics signalled) as the writer process reports them;
    if the callback raises, the upload stops: the writer's session is ended and the error reaches
    the caller. Batches committed by then stay, and a retry answers them by nonce."""
    event_id, records = _mixed_upload(wired)
    checkin, store = checkin_on(wired)
    signalled: list[str] = []

    def after_batch(_event_id: str) -> None:
        signalled.append(_event_id)
        if len(signalled) == 2:
            raise RuntimeError("statistics are down")

    checkin.on_recorded = after_batch
    writer = store.start_writer()
    assert writer is not None
    with pytest.raises(RuntimeError, match="statistics are down"):
        checkin.bulk(event_id=event_id, records=records, batch_size=3)
    assert not writer.alive  # stopped where it was, not left to finish what it had been sent
    assert store.writer is None
    assert calls == []  # nothing went on batch by batch after the error
    assert len(signalled) == 2
    stored = count(wired, scans, scans.c.event_id == event_id)
    # the two batches counted, and at most the batches then in flight: the writer was stopped there
    assert 6 <= stored <= (2 + WRITER_IN_FLIGHT) * 3 < 90
    time.sleep(0.3)
    assert count(wired, scans, scans.c.event_id == event_id) == stored  # nothing written after
    checkin.on_recorded = None
    again = checkin.bulk(event_id=event_id, records=records, batch_size=3)
    assert again.total_processed == 90
    assert _nonces_stored(wired, event_id) == 80  # each nonce once: replayed, not recorded again


def _nonces_stored(wired: Turnout, event_id: str) -> int:
    """Scans stored with a nonce (the mixed upload has 80 distinct nonces)."""
    return count(wired, scans, scans.c.event_id == event_id, scans.c.nonce.is_not(None))


def test_a_writer_process_that_dies_mid_upload_loses_nothing(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer process is killed after the sixth batch is sent: the batches it committed are
    found (their first scan row is stored) and counted, the rest go batch by batch, and the upload
    ends exactly as it does with no writer at all. The next upload starts a new writer."""
    original = SqliteWriter.write

    def write_then_die(self: SqliteWriter, batch: int, statements: Any) -> None:
        original(self, batch, statements)
        if batch == 5:
            os.kill(self.pid, signal.SIGKILL)

    outcomes = []
    for with_writer in (True, False):
        with _own_database(sqlite_template, tmp_path, f"{with_writer}") as wired:
            event_id, records = _mixed_upload(wired)
            checkin, store = checkin_on(wired, pipeline=with_writer)
            if with_writer:
                monkeypatch.setattr(SqliteWriter, "write", write_then_die)
                killed = store.start_writer()
                assert killed is not None
            with caplog.at_level(logging.WARNING, logger=STORE_LOG):
                result = checkin.bulk(event_id=event_id, records=records, batch_size=7)
            outcomes.append(_outcome(wired, event_id, result))
            if with_writer:
                assert "finding what it committed" in caplog.text
                monkeypatch.setattr(SqliteWriter, "write", original)
                checkin.bulk(event_id=event_id, records=records, batch_size=7)
                assert _nonces_stored(wired, event_id) == 80  # each nonce once: replayed, not recorded again
                assert store.start_writer() is not killed  # a new process took over
    assert outcomes[0] == outcomes[1]


def test_a_writer_that_stops_answering_is_stopped_before_its_batches_are_looked_for(
    wired: Turnout, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer stops answering (a broken pipe, a timeout) while it still has batches to commit:
    it is killed before the upload looks for what it committed, so nothing it was sent is committed
    after the look, and no batch is written twice (entries without nonces would be)."""
    event_id = live_event(wired)
    gate_id = add_gate(wired, event_id)
    people = add_participants(wired, event_id, 6)
    records = [
        ScanInput(gate_id=gate_id, token=token, direction=Direction.IN, occurred_at=T0 + timedelta(seconds=i))
        for i, (_, token) in enumerate(people)
    ]
    checkin, store = checkin_on(wired)
    warm_key(checkin, event_id)
    database = wired.settings.database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # the writer waits for the write lock: it commits nothing yet
    original = SqliteWriter.write

    def write_then_lose(self: SqliteWriter, batch: int, statements: Any) -> None:
        original(self, batch, statements)
        if batch == 2:
            threading.Timer(0.5, blocker.rollback).start()  # then the writer could go on
            raise WriterStopped("the pipe broke")

    committed = SqliteCheckInStore._committed
    looked: list[bool] = []

    def look(self: SqliteCheckInStore, first_scan_id: str | None) -> bool:
        writer = self.writer
        looked.append(writer is None or not writer.alive)  # stopped before the look
        return committed(self, first_scan_id)

    monkeypatch.setattr(SqliteWriter, "write", write_then_lose)
    monkeypatch.setattr(SqliteCheckInStore, "_committed", look)
    writer = store.start_writer()
    assert writer is not None
    with caplog.at_level(logging.WARNING, logger=STORE_LOG):
        result = checkin.bulk(event_id=event_id, records=records, batch_size=1)
    assert "finding what it committed" in caplog.text
    assert looked
    assert all(looked)
    assert not writer.alive
    assert (result.successful, result.failed) == (6, 0)
    time.sleep(0.5)
    assert count(wired, scans, scans.c.event_id == event_id) == 6
    blocker.close()


def test_the_upload_runs_at_most_a_few_batches_ahead_of_the_writer(
    wired: Turnout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded: memory, and what an error mid-upload can leave committed beyond what was counted.
    The writer is held back (another connection has the write lock) while the upload decides."""
    event_id, records = _mixed_upload(wired)
    checkin, _ = checkin_on(wired)
    warm_key(checkin, event_id)
    database = wired.settings.database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            blocker.rollback()

    safety = threading.Timer(10, release)  # should the limit never be reached
    safety.start()
    ahead: list[int] = []
    reported = [0]
    write, written, next_written = SqliteWriter.write, SqliteWriter.written, SqliteWriter.next_written

    def counted_write(self: SqliteWriter, batch: int, statements: Any) -> None:
        ahead.append(batch + 1 - reported[0])  # sent and not reported, this one included
        write(self, batch, statements)

    def counted_written(self: SqliteWriter) -> list[Written]:
        outcomes = written(self)
        reported[0] += len(outcomes)
        return outcomes

    def counted_next(self: SqliteWriter, timeout: float = 120) -> Written:
        release()  # the upload waits for the writer: the limit is reached; let the writer go on
        reported[0] += 1
        return next_written(self, timeout)

    monkeypatch.setattr(SqliteWriter, "write", counted_write)
    monkeypatch.setattr(SqliteWriter, "written", counted_written)
    monkeypatch.setattr(SqliteWriter, "next_written", counted_next)
    result = checkin.bulk(event_id=event_id, records=records, batch_size=3)
    safety.cancel()
    blocker.close()
    assert (result.successful, result.failed) == (79, 11)
    assert len(ahead) == 30 > WRITER_IN_FLIGHT
    assert max(ahead) == WRITER_IN_FLIGHT


def test_an_upload_while_another_has_the_writer_goes_batch_by_batch(wired: Turnout, calls: list[str]) -> None:
    event_id, records = _mixed_upload(wired)
    checkin, store = checkin_on(wired)
    writer = store.start_writer()
    assert writer is not None
    with writer.lock:  # another upload is using it
        result = checkin.bulk(event_id=event_id, records=records, batch_size=7)
    assert len(calls) == 13
    assert (result.successful, result.failed) == (79, 11)


def test_closing_while_an_upload_uses_the_writer_waits_for_it(
    wired: Turnout, caplog: pytest.LogCaptureFixture
) -> None:
    """A server shutting down (the lifespan closes check-in) lets a running upload finish first."""
    event_id, records = _mixed_upload(wired)
    checkin, store = checkin_on(wired)
    writer = store.start_writer()
    assert writer is not None
    warm_key(checkin, event_id)
    database = wired.settings.database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # holds the writer up for a while
    results: list[Any] = []
    upload = threading.Thread(
        target=lambda: results.append(checkin.bulk(event_id=event_id, records=records, batch_size=7))
    )
    upload.start()
    deadline = time.monotonic() + 10
    while not writer.lock.locked():  # the upload has the writer
        assert time.monotonic() < deadline
        time.sleep(0.001)
    threading.Timer(0.3, blocker.rollback).start()
    with caplog.at_level(logging.WARNING, logger=STORE_LOG):
        checkin.close()
        upload.join(30)
    assert "bulk writer" not in caplog.text  # the writer was not taken from under the upload
    blocker.close()
    assert not writer.alive
    [result] = results
    assert (result.successful, result.failed) == (79, 11)
    assert _nonces_stored(wired, event_id) == 80


def test_no_writer_is_started_after_the_store_is_closed(wired: Turnout, calls: list[str]) -> None:
    """A server shutting down: an upload that still comes goes batch by batch, and leaves no process."""
    event_id, records = _mixed_upload(wired)
    checkin, store = checkin_on(wired)
    checkin.close()
    assert store.start_writer() is None
    result = checkin.bulk(event_id=event_id, records=records, batch_size=7)
    assert (result.successful, result.failed) == (79, 11)
    assert len(calls) == 13


def test_closing_turnout_ends_the_writer_process(sqlite_template: Path, tmp_path: Path) -> None:
    with _own_database(sqlite_template, tmp_path, "closing") as wired:  # closed on the way out
        wired.checkin.start()  # as a server does at start-up
        store = wired.checkin.store
        assert isinstance(store, SqliteCheckInStore)
        writer = store.writer
        assert writer is not None
        assert writer.wait_ready(10)
    assert not writer.alive


def test_look_ups_stay_within_a_low_sqlite_variable_limit(wired: Turnout) -> None:
    """Reading ahead names hundreds of tokens and nonces at once; on a SQLite built with a low
    variable limit (999 before 3.32) the look-ups are cut to fit."""
    import sqlite3

    event_id = live_event(wired)
    gate_id = add_gate(wired, event_id)
    people = add_participants(wired, event_id, 60)

    @sa_event.listens_for(wired.engine, "connect")
    def _low_limit(raw: Any, _record: Any) -> None:
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)

    wired.engine.dispose()  # new connections, each with the low limit
    records = [
        ScanInput(gate_id=gate_id, token=token, occurred_at=T0 + timedelta(seconds=i), nonce=f"n{i}")
        for i, (_, token) in enumerate(people)
    ]
    checkin, _ = checkin_on(wired)
    result = checkin.bulk(event_id=event_id, records=records, batch_size=10)
    assert (result.successful, result.failed) == (60, 0)
    assert count(wired, scans, scans.c.event_id == event_id) == 60


def _open_files() -> set[str]:
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc")
    found = set()
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            found.add(os.readlink(fd))
    return found


def test_closing_turnout_lets_go_of_the_writer_turn_file(sqlite_template: Path, tmp_path: Path) -> None:
    """The writer turn's lock file, opened by the first check-in write, is closed with the store: a
    process that wires and closes Turnout again and again (tests, commands) keeps no descriptor."""
    with _own_database(sqlite_template, tmp_path, "turn") as wired:
        event_id = live_event(wired)
        gate_id = add_gate(wired, event_id)
        [(_, token)] = add_participants(wired, event_id, 1)
        answer = wired.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
        assert answer.accepted
        lock_file = f"{sqlite_file(wired.settings.database_url)}-checkin.lock"
        assert lock_file in _open_files()
    assert lock_file not in _open_files()
