"""Storage on SQLite and PostgreSQL: migrations, unit of work, outbox atomicity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from turnout.adapters.db import tables as t
from turnout.adapters.db.migrate import is_current
from turnout.adapters.db.schema import metadata, modelled
from turnout.bootstrap import Turnout
from turnout.domain.events import EventStatus
from turnout.services.events import change_status, create_event

STARTS = datetime(2026, 6, 1, 9, 0)
ENDS = datetime(2026, 6, 1, 18, 0)


def outbox_types(turnout: Turnout) -> list[str]:
    with turnout.engine.connect() as conn:
        return [r.type for r in conn.execute(sa.select(t.outbox.c.type).order_by(t.outbox.c.seq))]


def test_migrations_match_table_definitions(turnout: Turnout, database_url: str) -> None:
    assert is_current(database_url)
    with turnout.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": False, "include_name": modelled}), metadata
        )
    assert diff == []


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_url: str) -> None:
    from turnout.adapters.db.engine import make_engine

    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        busy_timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy_timeout is not None
        assert busy_timeout > 0
    engine.dispose()


def test_naive_times_are_read_in_event_timezone_and_stored_as_utc(turnout: Turnout) -> None:
    with turnout.uow() as uow:
        event = create_event(uow, actor="t", name="행사", starts_at=STARTS, ends_at=ENDS)
        uow.commit()
    with turnout.uow(readonly=True) as uow:
        stored = uow.events.get(event.id)
    assert stored is not None
    assert stored.starts_at == datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    assert stored.timezone == "Asia/Seoul"


def test_committed_change_leaves_exactly_one_message(turnout: Turnout) -> None:
    with turnout.uow() as uow:
        event = create_event(uow, actor="t", name="행사", starts_at=STARTS, ends_at=ENDS)
        uow.commit()
    with turnout.uow() as uow:
        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="t")
        uow.commit()
    assert outbox_types(turnout) == ["event.created", "event.status.changed"]
    with turnout.engine.connect() as conn:
        row = conn.execute(sa.select(t.outbox).where(t.outbox.c.type == "event.status.changed")).one()
        audit = conn.execute(
            sa.select(t.audit_log).where(t.audit_log.c.action == "event.status.changed")
        ).one()
    assert row.key == event.id
    assert row.data == {
        "event_id": event.id,
        "previous": "draft",
        "status": "open",
        "actor": "t",
        "saga_id": None,  # set when the closing saga closes an event
    }
    assert audit.data == {"previous": "draft", "status": "open"}


def test_rolled_back_change_leaves_no_message_and_no_audit(turnout: Turnout) -> None:
    with turnout.uow() as uow:
        event = create_event(uow, actor="t", name="행사", starts_at=STARTS, ends_at=ENDS)
        uow.commit()
    with turnout.uow() as uow:
        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="t")
        # leaving without commit rolls back

    def fail_midway() -> None:
        with turnout.uow() as uow:
            change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="t")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert outbox_types(turnout) == ["event.created"]
    with turnout.uow(readonly=True) as uow:
        stored = uow.events.get(event.id)
        assert stored is not None
        assert stored.status is EventStatus.DRAFT
        assert [a["action"] for a in uow.audit.for_subject("event", event.id)] == ["event.created"]


def test_after_commit_callbacks_run_only_on_commit(turnout: Turnout) -> None:
    ran: list[str] = []
    with turnout.uow() as uow:
        uow.after_commit(lambda: ran.append("rolled back"))
    with turnout.uow() as uow:
        uow.after_commit(lambda: ran.append("committed"))
        uow.commit()
    assert ran == ["committed"]
