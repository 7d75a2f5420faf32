"""The import store's contract: the same checks on ``FakeImportStore`` and on ``SqlImportStore`` (SQLite
and PostgreSQL), so that the service tests on the fake mean what they say."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import fresh_database_url
from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.adapters.db import tables as t
from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.domain.columns import ColumnsRefused
from turnout.domain.errors import FieldError
from turnout.domain.events import Event
from turnout.domain.ids import new_id, sequential_ids
from turnout.domain.imports import MAX_ERROR_CELL, ImportCounts, ImportJob, ImportStatus, OnDuplicate
from turnout.domain.participants import ParticipantInput, ParticipantStatus, Source
from turnout.messages.base import Envelope
from turnout.messages.facts import ParticipantRegistered
from turnout.ports import CleanRow, SaveConflict, UnitOfWork


@dataclass
class Stores:
    """One implementation under test: its unit of work, and what it put in the outbox."""

    kind: str
    uow: Callable[..., UnitOfWork]
    outbox: Callable[[], list[Envelope]]
    dialect: str | None = None


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stores(
    request: pytest.FixtureRequest,
    clock: FakeClock,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_server_url: str | None,
) -> Iterator[Stores]:
    if request.param == "fake":
        fake = FakeUnitOfWorkFactory(clock)
        yield Stores("fake", fake, lambda: list(fake.db.outbox))
        return
    database_url = fresh_database_url(
        request,
        request.param,
        tmp_path=tmp_path,
        sqlite_template=sqlite_template,
        postgres_server_url=postgres_server_url,
    )
    engine = make_engine(database_url)

    def outbox() -> list[Envelope]:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t.outbox).order_by(t.outbox.c.seq)).fetchall()
        return [
            Envelope(
                id=r.id, type=r.type, occurred_at=r.occurred_at, key=r.key, data=r.data, version=r.version
            )
            for r in rows
        ]

    yield Stores(
        "sql",
        lambda readonly=False: SqlUnitOfWork(engine, clock, readonly=readonly),
        outbox,
        engine.dialect.name,
    )
    engine.dispose()


def add_event(stores: Stores) -> str:
    event = Event(
        id=new_id(),
        name="계약 시험",
        starts_at=datetime.fromisoformat("2026-06-01T09:00:00+09:00"),
        ends_at=datetime.fromisoformat("2026-06-01T18:00:00+09:00"),
    )
    with stores.uow() as uow:
        uow.events.add(event, now=uow.clock.now())
        uow.commit()
    return event.id


def new_job(event_id: str, clock: FakeClock, **changes: Any) -> ImportJob:
    job = ImportJob(
        id=new_id(),
        event_id=event_id,
        status=ImportStatus.QUEUED,
        filename="참가자.csv",
        file_path="/var/imports/x.csv",
        file_sha256="ab" * 32,
        file_size=1234,
        on_duplicate=OnDuplicate.SKIP,
        mapping={"연락처": "phone"},
        encoding=None,
        actor="test",
        created_at=clock.now(),
    )
    return replace(job, **changes)


def add_jobs(stores: Stores, *jobs: ImportJob) -> None:
    with stores.uow() as uow:
        for job in jobs:
            uow.imports.add(job)
        uow.commit()


def get(stores: Stores, import_id: str) -> ImportJob:
    with stores.uow(readonly=True) as uow:
        job = uow.imports.get(import_id)
    assert job is not None
    return job


def test_a_job_reads_back_as_added_when_stored(stores: Stores, clock: FakeClock) -> None:
    event_id = add_event(stores)
    job = new_job(event_id, clock, filename="x" * 400, encoding="cp949")
    add_jobs(stores, job)
    assert get(stores, job.id) == replace(job, filename="x" * 300)
    with stores.uow(readonly=True) as uow:
        assert uow.imports.get(new_id()) is None


def test_claim_takes_a_job_once_when_two_runners_read_it_alike(stores: Stores, clock: FakeClock) -> None:
    job = new_job(add_event(stores), clock)
    add_jobs(stores, job)
    lease = clock.now() + timedelta(seconds=60)
    with stores.uow() as uow:
        assert uow.imports.claim(job, owner="a:1", lease_until=lease, now=clock.now())
        uow.commit()
    with stores.uow() as uow:
        assert not uow.imports.claim(job, owner="b:2", lease_until=lease, now=clock.now())  # as read before
        uow.commit()
    claimed = get(stores, job.id)
    assert (claimed.status, claimed.owner, claimed.attempts) == (ImportStatus.RUNNING, "a:1", 1)
    assert (claimed.lease_until, claimed.started_at) == (lease, clock.now())
    started = clock.now()
    clock.advance(seconds=90)
    with stores.uow() as uow:
        assert uow.imports.claim(claimed, owner="b:2", lease_until=clock.now(), now=clock.now())
        uow.commit()
    again = get(stores, job.id)
    assert (again.owner, again.attempts, again.started_at) == ("b:2", 2, started)


def test_due_lists_queued_and_lapsed_jobs_oldest_first(stores: Stores, clock: FakeClock) -> None:
    event_id = add_event(stores)
    jobs = []
    for _ in range(5):
        jobs.append(new_job(event_id, clock))
        clock.advance(seconds=1)
    add_jobs(stores, *jobs)
    lapsed, held, finished = jobs[0], jobs[2], jobs[3]
    with stores.uow() as uow:
        uow.imports.claim(
            lapsed, owner="a:1", lease_until=clock.now() - timedelta(seconds=1), now=clock.now()
        )
        uow.imports.claim(held, owner="a:1", lease_until=clock.now() + timedelta(seconds=60), now=clock.now())
        uow.imports.claim(finished, owner="a:1", lease_until=clock.now(), now=clock.now())
        uow.imports.finish(finished.id, owner="a:1", attempt=1, status=ImportStatus.DONE, now=clock.now())
        uow.commit()
    with stores.uow(readonly=True) as uow:
        assert [j.id for j in uow.imports.due(now=clock.now(), limit=5)] == [
            jobs[0].id,
            jobs[1].id,
            jobs[4].id,
        ]
        assert [j.id for j in uow.imports.due(now=clock.now(), limit=2)] == [jobs[0].id, jobs[1].id]


def test_unfinished_lists_the_same_files_open_jobs_oldest_first(stores: Stores, clock: FakeClock) -> None:
    event_id = add_event(stores)
    first = new_job(event_id, clock)
    clock.advance(seconds=1)
    second = new_job(event_id, clock)
    other_file = new_job(event_id, clock, file_sha256="cd" * 32)
    other_policy = new_job(event_id, clock, on_duplicate=OnDuplicate.UPDATE)
    other_event = new_job(add_event(stores), clock)
    done = new_job(event_id, clock)
    add_jobs(stores, second, first, other_file, other_policy, other_event, done)
    with stores.uow() as uow:
        uow.imports.claim(second, owner="a:1", lease_until=clock.now(), now=clock.now())
        uow.imports.claim(done, owner="a:1", lease_until=clock.now(), now=clock.now())
        uow.imports.finish(done.id, owner="a:1", attempt=1, status=ImportStatus.DONE, now=clock.now())
        uow.commit()
    with stores.uow(readonly=True) as uow:
        found = uow.imports.unfinished(event_id=event_id, sha256="ab" * 32, on_duplicate=OnDuplicate.SKIP)
    assert [(j.id, j.status) for j in found] == [
        (first.id, ImportStatus.QUEUED),
        (second.id, ImportStatus.RUNNING),
    ]


def test_header_progress_and_finish_are_kept(stores: Stores, clock: FakeClock) -> None:
    job = new_job(add_event(stores), clock)
    add_jobs(stores, job)
    lease = clock.now() + timedelta(seconds=60)
    with stores.uow() as uow:
        assert uow.imports.claim(job, owner="a:1", lease_until=clock.now(), now=clock.now())
        assert uow.imports.header(job.id) == []
        assert uow.imports.set_header(
            job.id, header=["이름", "이메일"], encoding="cp949", owner="a:1", attempt=1
        )
        assert uow.imports.record_progress(
            job.id,
            ImportCounts(total=10, created=6, updated=1, duplicates=2, invalid=1, rows_processed=12),
            owner="a:1",
            attempt=1,
            lease_until=lease,
        )
        uow.commit()
    with stores.uow(readonly=True) as uow:
        assert uow.imports.header(job.id) == ["이름", "이메일"]
    running = get(stores, job.id)
    assert running.detected_encoding == "cp949"
    assert (running.rows_read, running.rows_processed, running.lease_until) == (12, 12, lease)
    assert running.summary() == {"total": 10, "created": 6, "updated": 1, "duplicates": 2, "invalid": 1}
    error = ColumnsRefused("missing_column", column="email", found=["a"], count=2)
    with stores.uow() as uow:
        assert uow.imports.finish(
            job.id, owner="a:1", attempt=1, status=ImportStatus.FAILED, now=clock.now(), error=error
        )
        uow.commit()
    failed = get(stores, job.id)
    assert (failed.status, failed.finished_at, failed.lease_until) == (ImportStatus.FAILED, clock.now(), None)
    assert (failed.error_code, failed.error_params) == ("missing_column", {"column": "email", "count": 2})


def test_progress_and_finish_are_refused_when_another_runner_holds_the_job(
    stores: Stores, clock: FakeClock
) -> None:
    job = new_job(add_event(stores), clock)
    add_jobs(stores, job)
    counts = ImportCounts(total=4, created=4, rows_processed=4)
    later = clock.now() + timedelta(seconds=60)
    with stores.uow() as uow:
        assert not uow.imports.record_progress(
            job.id, counts, owner="a:1", attempt=1, lease_until=later
        )  # queued
        assert uow.imports.claim(job, owner="a:1", lease_until=clock.now(), now=clock.now())
        uow.commit()
    clock.advance(seconds=90)
    taken = get(stores, job.id)
    with stores.uow() as uow:
        assert uow.imports.claim(taken, owner="b:2", lease_until=later, now=clock.now())
        uow.commit()
    with stores.uow() as uow:  # the first runner, back after its lease ended
        assert not uow.imports.record_progress(job.id, counts, owner="a:1", attempt=1, lease_until=later)
        assert not uow.imports.finish(
            job.id, owner="a:1", attempt=1, status=ImportStatus.DONE, now=clock.now()
        )
        uow.commit()
    held = get(stores, job.id)
    assert (held.status, held.owner, held.lease_until, held.summary()["created"]) == (
        ImportStatus.RUNNING,
        "b:2",
        later,
        0,
    )
    with stores.uow() as uow:
        assert uow.imports.finish(job.id, owner="b:2", attempt=2, status=ImportStatus.DONE, now=clock.now())
        uow.commit()
    with stores.uow() as uow:  # finished: nobody records progress or finishes it again
        assert not uow.imports.record_progress(job.id, counts, owner="b:2", attempt=2, lease_until=later)
        assert not uow.imports.finish(
            job.id, owner="b:2", attempt=2, status=ImportStatus.FAILED, now=clock.now()
        )
        uow.commit()
    assert get(stores, job.id).status is ImportStatus.DONE


def test_a_stale_run_of_the_same_owner_is_fenced_off_by_the_lease_generation(
    stores: Stores, clock: FakeClock
) -> None:
    """One process claims a job, stalls past its lease, and claims it again (its worker loop): the
    first run's writes (same ``owner``, older generation) are all refused."""
    job = new_job(add_event(stores), clock)
    add_jobs(stores, job)
    counts = ImportCounts(total=4, created=4, rows_processed=4)
    later = clock.now() + timedelta(seconds=600)
    with stores.uow() as uow:
        assert uow.imports.claim(job, owner="a:1", lease_until=clock.now(), now=clock.now())
        uow.commit()
    clock.advance(seconds=90)
    with stores.uow() as uow:
        assert uow.imports.claim(get(stores, job.id), owner="a:1", lease_until=later, now=clock.now())
        uow.commit()
    with stores.uow() as uow:  # the first run, generation 1
        assert not uow.imports.set_header(job.id, header=["x"], encoding="latin-1", owner="a:1", attempt=1)
        assert not uow.imports.record_progress(job.id, counts, owner="a:1", attempt=1, lease_until=later)
        assert not uow.imports.finish(
            job.id, owner="a:1", attempt=1, status=ImportStatus.DONE, now=clock.now()
        )
        uow.commit()
    held = get(stores, job.id)
    assert (held.status, held.attempts, held.summary()["created"], held.detected_encoding) == (
        ImportStatus.RUNNING,
        2,
        0,
        None,
    )
    with stores.uow() as uow:  # the current run, generation 2
        assert uow.imports.record_progress(job.id, counts, owner="a:1", attempt=2, lease_until=later)
        assert uow.imports.finish(job.id, owner="a:1", attempt=2, status=ImportStatus.DONE, now=clock.now())
        uow.commit()
    assert get(stores, job.id).summary()["created"] == 4


def test_abandon_fails_a_job_once_and_only_as_read(stores: Stores, clock: FakeClock) -> None:
    from turnout.domain.errors import DomainError

    job = new_job(add_event(stores), clock)
    add_jobs(stores, job)
    with stores.uow() as uow:
        assert uow.imports.claim(job, owner="a:1", lease_until=clock.now(), now=clock.now())
        uow.commit()
    running = get(stores, job.id)
    error = DomainError("import_attempts_exhausted", attempts=1)
    with stores.uow() as uow:
        assert not uow.imports.abandon(job, now=clock.now(), error=error)  # read before the claim
        assert uow.imports.abandon(running, now=clock.now(), error=error)
        uow.commit()
    failed = get(stores, job.id)
    assert (failed.status, failed.error_code, failed.error_params, failed.lease_until) == (
        ImportStatus.FAILED,
        "import_attempts_exhausted",
        {"attempts": 1},
        None,
    )
    with stores.uow() as uow:
        assert not uow.imports.abandon(running, now=clock.now(), error=error)
        assert not uow.imports.record_progress(
            job.id, ImportCounts(), owner="a:1", attempt=1, lease_until=clock.now()
        )
        uow.commit()


def test_errors_read_back_in_order_with_their_rows_cells(stores: Stores, clock: FakeClock) -> None:
    event_id = add_event(stores)
    job, other = new_job(event_id, clock), new_job(event_id, clock)
    add_jobs(stores, job, other)
    errors = [
        FieldError("이름", "name_too_short", params={"min": 2, "bad": object()}, value="김", row=3),
        FieldError("", "wrong_field_count", params={"expected": 6, "got": 2}, row=4),
        FieldError("메모", "cell_too_long", value="가" * (MAX_ERROR_CELL + 5), row=4),
        FieldError("열" * 300, "formula_not_allowed", value=12.0, row=9),
    ]
    with stores.uow() as uow:
        uow.imports.add_errors(job.id, errors[:2], {3: ["김", "a@example.com"], 4: ["x", "y"]})
        uow.imports.add_errors(other.id, [FieldError("", "encoding_error", row=2)], {2: ["?"]})
        uow.imports.add_errors(job.id, errors[2:], {9: ["=1+2", 12]})
        uow.commit()
    with stores.uow(readonly=True) as uow:
        stored = uow.imports.errors(job.id)
        assert [e.id for e in uow.imports.errors(job.id, after_id=stored[1].id, limit=1)] == [stored[2].id]
        cells = uow.imports.error_rows(job.id, [3, 9, 5])
    assert [(e.row, e.column, e.code, e.value, e.params) for e in stored] == [
        (3, "이름", "name_too_short", "김", {"min": 2}),
        (4, None, "wrong_field_count", None, {"expected": 6, "got": 2}),
        (4, "메모", "cell_too_long", "가" * MAX_ERROR_CELL + "…", {}),
        (9, "열" * 200, "formula_not_allowed", "12", {}),
    ]
    assert cells == {3: ["김", "a@example.com"], 9: ["=1+2", 12]}


def clean_rows(event_id: str, import_id: str, emails: list[str]) -> list[CleanRow]:
    ids = sequential_ids(len(emails))
    message_ids = sequential_ids(len(emails))
    return [
        CleanRow(
            row=2 + i,
            cells=[],
            data=ParticipantInput(
                name=f"참가자{i}",
                email=email,
                phone=f"+8210{i:08d}",
                birth_date=date(1990, 1, 1 + i),
                region="서울",
                organization=None,
                gender="male",
                locale=None,
                custom_fields={"티셔츠": "M"} if i % 2 else {},
            ),
            participant_id=ids[i],
            token=f"TOKEN{i}-{ids[i]}",
            registered=ParticipantRegistered(
                event_id=event_id, participant_id=ids[i], source="import", import_id=import_id
            ),
            message_id=message_ids[i],
        )
        for i, email in enumerate(emails)
    ]


def test_new_participants_are_stored_with_tokens_and_their_registered_facts(
    stores: Stores, clock: FakeClock
) -> None:
    event_id = add_event(stores)
    job = new_job(event_id, clock)
    add_jobs(stores, job)
    rows = clean_rows(event_id, job.id, ["a@example.com", "b@example.com", "c@example.com"])
    moment = clock.now()
    with stores.uow() as uow:
        uow.imports.add_participants(rows, event_id=event_id, import_id=job.id, now=moment)
        uow.commit()
    clock.advance(seconds=5)
    with stores.uow(readonly=True) as uow:
        found = uow.imports.participants([r.participant_id for r in rows] + [new_id()])
        by_email = uow.participants.ids_by_email(event_id, ["a@example.com", "c@example.com"])
        active = uow.participants.count_active(event_id)
    assert by_email == {"a@example.com": rows[0].participant_id, "c@example.com": rows[2].participant_id}
    assert active == 3
    for row in rows:
        p = found[row.participant_id]
        assert (p.name, p.email, p.phone, p.birth_date, p.region, p.organization, p.gender, p.locale) == (
            row.data.name, row.data.email, row.data.phone, row.data.birth_date, "서울", None, "male", None,
        )  # fmt: skip
        assert p.custom_fields == row.data.custom_fields
        assert (p.status, p.ticket_version, p.token, p.email_status) == (
            ParticipantStatus.REGISTERED,
            1,
            row.token,
            "none",
        )
        assert (p.source, p.import_id, p.created_at, p.updated_at) == (Source.IMPORT, job.id, moment, moment)
    assert stores.outbox() == [Envelope.wrap(r.registered, moment, r.message_id) for r in rows]


def test_new_participants_are_refused_together_when_the_event_has_one_already(
    stores: Stores, clock: FakeClock
) -> None:
    event_id = add_event(stores)
    job = new_job(event_id, clock)
    add_jobs(stores, job)
    with stores.uow() as uow:
        uow.imports.add_participants(
            clean_rows(event_id, job.id, ["b@example.com"]),
            event_id=event_id,
            import_id=job.id,
            now=clock.now(),
        )
        uow.commit()
    rows = clean_rows(event_id, job.id, ["a@example.com", "b@example.com"])
    with stores.uow() as uow, pytest.raises(SaveConflict):
        uow.imports.add_participants(rows, event_id=event_id, import_id=job.id, now=clock.now())
    with stores.uow(readonly=True) as uow:
        assert uow.participants.count_active(event_id) == 1
        assert uow.imports.participants([r.participant_id for r in rows]) == {}
    assert len(stores.outbox()) == 1


def test_for_event_lists_the_events_imports_newest_first_with_what_they_counted(
    stores: Stores, clock: FakeClock
) -> None:
    event_id = add_event(stores)
    jobs = []
    for number in range(4):
        jobs.append(new_job(event_id, clock, rows_expected=number * 100 or None))
        clock.advance(seconds=1)
    other = new_job(add_event(stores), clock)
    add_jobs(stores, *jobs, other)
    with stores.uow(readonly=True) as uow:
        listed = uow.imports.for_event(event_id)
        assert [j.id for j in listed] == [j.id for j in reversed(jobs)]
        assert [j.rows_expected for j in listed] == [300, 200, 100, None]
        assert listed[0] == jobs[3]
        assert [j.id for j in uow.imports.for_event(event_id, limit=2)] == [jobs[3].id, jobs[2].id]
        assert uow.imports.for_event(new_id()) == []


def test_for_event_shows_a_jobs_progress_and_end(stores: Stores, clock: FakeClock) -> None:
    event_id = add_event(stores)
    job = new_job(event_id, clock, rows_expected=10)
    add_jobs(stores, job)
    with stores.uow() as uow:
        uow.imports.claim(job, owner="a:1", lease_until=clock.now() + timedelta(seconds=60), now=clock.now())
        uow.imports.record_progress(
            job.id,
            ImportCounts(total=4, created=3, invalid=1, rows_processed=4),
            owner="a:1",
            attempt=1,
            lease_until=clock.now() + timedelta(seconds=60),
        )
        uow.imports.finish(job.id, owner="a:1", attempt=1, status=ImportStatus.DONE, now=clock.now())
        uow.commit()
    with stores.uow(readonly=True) as uow:
        (listed,) = uow.imports.for_event(event_id)
    assert (listed.status, listed.rows_processed, listed.rows_expected) == (ImportStatus.DONE, 4, 10)
    assert listed.summary() == {"total": 4, "created": 3, "updated": 0, "duplicates": 0, "invalid": 1}
