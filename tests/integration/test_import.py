"""Importing files end to end through the service, on the real stores (both engines): what is stored,
and the worker processes' results against in-process cleaning. The service's rules (dedup, error
rows, policies, capacity, resuming) are tested on fakes: ``tests/unit/test_importing.py``."""

from __future__ import annotations

import csv
import io
import os
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_consent import participant_consents
from turnout.adapters.db.tables_intake import import_errors
from turnout.adapters.errors_csv import error_report
from turnout.adapters.import_cleaning import ParallelRowCleaner
from turnout.adapters.import_workers import ImportWorkers
from turnout.bootstrap import Turnout
from turnout.domain.imports import ImportJob
from turnout.domain.tickets import TicketClaims, encode_token
from turnout.services import events as event_service

HEADER = ["이름", "이메일", "휴대폰", "생년월일", "소속", "티셔츠"]


def make_event(turnout: Turnout, **overrides: Any) -> str:
    with turnout.uow() as uow:
        event = event_service.create_event(
            uow,
            actor="test",
            name="서울 컨퍼런스",
            starts_at=datetime.fromisoformat("2026-06-01T09:00:00+09:00"),
            ends_at=datetime.fromisoformat("2026-06-01T18:00:00+09:00"),
            **{"min_age": 0, **overrides},  # no age rule unless a test sets one
        )
        uow.commit()
    return event.id


@pytest.fixture
def event_id(turnout: Turnout) -> str:
    return make_event(turnout)


def write_csv(path: Path, rows: list[list[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def people(n: int, start: int = 0) -> list[list[Any]]:
    return [
        [
            f"참가자{i}",
            f"person{i}@example.com",
            f"010-{1000 + i % 9000:04d}-{i % 10000:04d}",
            "1990-01-01",
            "한빛",
            "M",
        ]
        for i in range(start, start + n)
    ]


def run(turnout: Turnout, event_id: str, path: Path, **kwargs: Any) -> ImportJob:
    kwargs.setdefault("consent_basis", "collected_elsewhere")  # these files have no consent column
    return turnout.importer.import_file(
        event_id=event_id, path=str(path), filename=path.name, actor="test", **kwargs
    )


def count_participants(turnout: Turnout, event_id: str) -> int:
    with turnout.uow(readonly=True) as uow:
        return int(
            uow.conn.execute(
                sa.select(sa.func.count())
                .select_from(t.participants)
                .where(t.participants.c.event_id == event_id)
            ).scalar_one()
        )


def outbox_count(turnout: Turnout, message_type: str = "participant.registered") -> int:
    with turnout.uow(readonly=True) as uow:
        return int(
            uow.conn.execute(
                sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.type == message_type)
            ).scalar_one()
        )


def error_codes(turnout: Turnout, job: ImportJob) -> list[tuple[int, str, str]]:
    with turnout.uow(readonly=True) as uow:
        rows = uow.conn.execute(
            sa.select(import_errors).where(import_errors.c.import_id == job.id).order_by(import_errors.c.id)
        )
        return [(r.row, r.column or "", r.code) for r in rows]


def test_import_saves_valid_rows_with_tokens_and_messages_when_file_is_clean(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", [HEADER, *people(25)])
    job = run(turnout, event_id, path)
    assert job.status == "done"
    assert job.summary() == {"total": 25, "created": 25, "updated": 0, "duplicates": 0, "invalid": 0}
    assert count_participants(turnout, event_id) == 25
    assert outbox_count(turnout) == 25
    with turnout.uow(readonly=True) as uow:
        row = uow.conn.execute(
            sa.select(t.participants).where(t.participants.c.email == "person3@example.com")
        ).one()
    assert row.phone == "+821010030003"
    assert row.custom_fields == {"티셔츠": "M"}
    assert row.source == "import"
    assert row.import_id == job.id
    assert len(row.token) == 159
    with turnout.uow(readonly=True) as uow:
        consents = uow.consent.of_participants([row.id])
        saved = uow.conn.execute(sa.select(sa.func.count()).select_from(participant_consents)).scalar_one()
    assert saved == 25  # one consent record per participant, saved with it
    assert (consents[row.id].channel, consents[row.id].basis) == ("import", "collected_elsewhere")


def test_import_queues_one_registered_fact_per_participant_when_rows_saved(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", [HEADER, *people(12)])
    job = run(turnout, event_id, path)
    with turnout.uow(readonly=True) as uow:
        ids = set(
            uow.conn.execute(sa.select(t.participants.c.id).where(t.participants.c.event_id == event_id))
            .scalars()
            .all()
        )
        messages = uow.conn.execute(
            sa.select(t.outbox).where(t.outbox.c.type == "participant.registered").order_by(t.outbox.c.seq)
        ).fetchall()
    assert [m.data for m in messages] == [
        {
            "event_id": event_id,
            "participant_id": m.data["participant_id"],
            "source": "import",
            "import_id": job.id,
        }
        for m in messages
    ]
    assert {m.data["participant_id"] for m in messages} == ids
    assert all(m.key == event_id for m in messages)
    assert [m.id for m in messages] == sorted(m.id for m in messages)


def test_import_stores_each_rows_own_custom_fields_when_values_repeat(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    sizes = ["M", "L", "M", "", "L", "M"]
    rows = [[*row[:5], size] for row, size in zip(people(6), sizes, strict=True)]
    run(turnout, event_id, write_csv(tmp_path / "people.csv", [HEADER, *rows]))
    with turnout.uow(readonly=True) as uow:
        stored = dict(
            uow.conn.execute(
                sa.select(t.participants.c.email, t.participants.c.custom_fields).where(
                    t.participants.c.event_id == event_id
                )
            ).all()
        )
    assert stored == {
        f"person{i}@example.com": ({"티셔츠": size} if size else {}) for i, size in enumerate(sizes)
    }


def test_import_again_creates_nothing_new_when_same_file(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", [HEADER, *people(10)])
    run(turnout, event_id, path)
    again = run(turnout, event_id, path)
    assert again.summary() == {"total": 10, "created": 0, "updated": 0, "duplicates": 10, "invalid": 0}
    assert count_participants(turnout, event_id) == 10
    assert outbox_count(turnout) == 10


def test_import_updates_registered_participants_when_policy_update(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    run(turnout, event_id, write_csv(tmp_path / "a.csv", [HEADER, *people(2)]))
    changed = [HEADER, ["새이름", "person0@example.com", "", "", "새소속", "L"]]
    job = run(turnout, event_id, write_csv(tmp_path / "b.csv", changed), on_duplicate="update")
    assert job.summary() == {"total": 1, "created": 0, "updated": 1, "duplicates": 0, "invalid": 0}
    with turnout.uow(readonly=True) as uow:
        row = uow.conn.execute(
            sa.select(t.participants).where(t.participants.c.email == "person0@example.com")
        ).one()
        audit = uow.audit.for_subject("participant", row.id)
    assert (row.name, row.organization, row.phone) == ("새이름", "새소속", "+821010000000")
    assert row.custom_fields == {"티셔츠": "L"}
    assert audit[-1]["action"] == "participant.updated"
    assert outbox_count(turnout, "participant.updated") == 1


def test_errors_csv_has_original_row_error_columns_and_neutralised_formulas(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    rows = [
        HEADER,
        ['=HYPERLINK("http://x")', "a@example.com", "", "", "", "@SUM(1)"],
        ["박", "b@example.com", "", "", "", "+1"],
    ]
    job = run(turnout, event_id, write_csv(tmp_path / "a.csv", rows))
    with turnout.uow(readonly=True) as uow:
        text = "".join(error_report(uow, import_id=job.id, locale="en"))
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == [*HEADER, "row", "column", "code", "message"]
    assert lines[1][0] == '\'=HYPERLINK("http://x")'
    assert lines[1][5] == "'@SUM(1)"
    assert lines[1][6:9] == ["2", "이름", "formula_not_allowed"]
    assert lines[2][5] == "'+1"
    assert lines[2][8] == "name_too_short"
    assert lines[2][9]


def _mixed_rows() -> list[list[Any]]:
    """Valid rows, bad cells, in-file duplicates, blank and short rows, spread over several batches."""
    rows: list[list[Any]] = []
    for i in range(60):
        row = people(1, i)[0]
        if i % 9 == 4:
            row[1] = "not-an-email"
        if i % 13 == 6:
            row[1] = "person1@example.com"  # an in-file duplicate of row 3
        if i % 17 == 8:
            row[3] = "2030-01-01"
        rows.append(row)
    rows[20] = ["", "", "", "", "", ""]
    rows[31] = ["짧은 행", "short@example.com"]
    return rows


def _import_outcome(turnout: Turnout, event_id: str, job: ImportJob) -> dict[str, Any]:
    with turnout.uow() as uow:
        sign = turnout.tickets.keypair(uow, event_id=event_id).sign
        uow.commit()
    with turnout.uow(readonly=True) as uow:
        stored = uow.conn.execute(
            sa.select(t.participants)
            .where(t.participants.c.event_id == event_id)
            .order_by(t.participants.c.id)
        ).fetchall()
        report = "".join(error_report(uow, import_id=job.id))
    for row in stored:
        claims = TicketClaims(event_id=event_id, participant_id=row.id, version=1)
        assert row.token == encode_token(claims, sign)
    return {
        "summary": job.summary(),
        "participants": [
            (r.name, r.email, r.phone, r.birth_date, r.gender, r.custom_fields, r.status) for r in stored
        ],
        "errors": error_codes(turnout, job),
        "report": report,
    }


def test_import_in_worker_processes_saves_what_in_process_cleaning_saves(
    turnout: Turnout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turnout.importer, "batch_size", 7)
    path = write_csv(tmp_path / "people.csv", [HEADER, *_mixed_rows()])
    outcomes = []
    for threshold in (10**9, 0):  # in this process, then in worker processes
        monkeypatch.setattr(turnout.importer, "cleaner", ParallelRowCleaner(min_bytes=threshold))
        event_id = make_event(turnout)
        outcomes.append(_import_outcome(turnout, event_id, run(turnout, event_id, path)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0]["summary"]["created"] > 0
    assert outcomes[0]["errors"]


def _assert_same_as_in_process(
    turnout: Turnout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: type[ImportWorkers]
) -> None:
    """The mixed file imported in this process, then with ``workers``: the same outcome."""
    monkeypatch.setattr(turnout.importer, "batch_size", 7)
    path = write_csv(tmp_path / "people.csv", [HEADER, *_mixed_rows()])
    monkeypatch.setattr(turnout.importer, "cleaner", ParallelRowCleaner(min_bytes=10**9))
    first = make_event(turnout)
    expected = _import_outcome(turnout, first, run(turnout, first, path))
    monkeypatch.setattr(turnout.importer, "cleaner", ParallelRowCleaner(min_bytes=0, start_workers=workers))
    second = make_event(turnout)
    assert _import_outcome(turnout, second, run(turnout, second, path)) == expected


def test_import_finishes_in_this_process_when_the_workers_stop(
    turnout: Turnout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DyingWorkers(ImportWorkers):
        def start(self, *args: Any) -> None:
            super().start(*args)
            for pid in self.pids:
                os.kill(pid, signal.SIGKILL)

    _assert_same_as_in_process(turnout, tmp_path, monkeypatch, DyingWorkers)


def test_import_runs_in_this_process_when_the_workers_cannot_start(
    turnout: Turnout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DeadWorkers(ImportWorkers):
        def __init__(self, count: int = 2, *, nice: int = 0) -> None:
            super().__init__(count, nice=nice)
            for worker in self._workers:
                worker.process.kill()
                worker.process.wait()

    _assert_same_as_in_process(turnout, tmp_path, monkeypatch, DeadWorkers)
