"""The import service against in-memory fakes: dedup (in the file, against the event), error rows,
``on_duplicate`` skip/update/fail, capacity, claiming and resuming jobs. Real small CSV files, read
by the real reader; rows cleaned in this process; no database.
(The same store checks run on SQLite and PostgreSQL: ``tests/integration/test_import_store_contract.py``.)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.fakes_intake import FakeImportStore, FakeProcesses, FakeTicketKeys
from turnout.adapters.import_cleaning import ParallelRowCleaner
from turnout.adapters.readers import Table, TableFiles
from turnout.domain.errors import DomainError
from turnout.domain.events import Event, EventStatus
from turnout.domain.ids import new_id
from turnout.domain.imports import ImportJob, ImportStatus
from turnout.domain.participants import Participant
from turnout.domain.tickets import TicketClaims, encode_token
from turnout.messages.facts import ParticipantRegistered
from turnout.ports import CleanRow
from turnout.services.import_jobs import ImportTakenOver, create_import_job, get_import
from turnout.services.importing import Importer

HEADER = ["이름", "이메일", "휴대폰", "생년월일", "소속", "티셔츠"]


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


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode())
    return path


@pytest.fixture
def uow_factory(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


@pytest.fixture
def processes() -> FakeProcesses:
    return FakeProcesses()


@pytest.fixture
def tickets() -> FakeTicketKeys:
    return FakeTicketKeys()


@pytest.fixture
def importer(
    uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, processes: FakeProcesses, tickets: FakeTicketKeys
) -> Importer:
    return Importer(
        uow_factory=uow_factory,
        clock=clock,
        tickets=tickets,
        files=TableFiles(),
        cleaner=ParallelRowCleaner(workers=0),
        processes=processes,
        batch_size=4,
    )


def make_event(uow_factory: FakeUnitOfWorkFactory, **overrides: Any) -> str:
    overrides.setdefault("min_age", 0)  # no age rule (birth dates optional) unless a test sets one
    event = Event(
        id=new_id(),
        name="서울 컨퍼런스",
        starts_at=datetime.fromisoformat("2026-06-01T09:00:00+09:00"),
        ends_at=datetime.fromisoformat("2026-06-01T18:00:00+09:00"),
        **overrides,
    )
    with uow_factory() as uow:
        uow.events.add(event, now=uow.clock.now())
        uow.commit()
    return event.id


@pytest.fixture
def event_id(uow_factory: FakeUnitOfWorkFactory) -> str:
    return make_event(uow_factory)


def run(importer: Importer, event_id: str, path: Path, **kwargs: Any) -> ImportJob:
    kwargs.setdefault("consent_basis", "collected_elsewhere")  # these files have no consent column
    return importer.import_file(event_id=event_id, path=str(path), filename=path.name, actor="test", **kwargs)


def stored(uow_factory: FakeUnitOfWorkFactory, event_id: str) -> list[Participant]:
    rows: dict[str, Participant] = uow_factory.db.table("participants")
    return sorted((p for p in rows.values() if p.event_id == event_id), key=lambda p: p.id)


def facts(uow_factory: FakeUnitOfWorkFactory, message_type: str = "participant.registered") -> list[Any]:
    return [envelope for envelope in uow_factory.db.outbox if envelope.type == message_type]


def error_codes(uow_factory: FakeUnitOfWorkFactory, job: ImportJob) -> list[tuple[int, str, str]]:
    with uow_factory(readonly=True) as uow:
        return [(e.row, e.column or "", e.code) for e in uow.imports.errors(job.id)]


def audit(uow_factory: FakeUnitOfWorkFactory, subject_type: str, subject_id: str) -> list[dict[str, Any]]:
    with uow_factory(readonly=True) as uow:
        return uow.audit.for_subject(subject_type, subject_id)


def test_import_saves_rows_with_tokens_and_one_registered_fact_each_when_file_is_clean(
    importer: Importer,
    uow_factory: FakeUnitOfWorkFactory,
    event_id: str,
    tickets: FakeTicketKeys,
    tmp_path: Path,
) -> None:
    job = run(importer, event_id, write_csv(tmp_path / "p.csv", [HEADER, *people(10)]))
    assert job.status is ImportStatus.DONE
    assert job.summary() == {"total": 10, "created": 10, "updated": 0, "duplicates": 0, "invalid": 0}
    saved = stored(uow_factory, event_id)
    assert [p.email for p in saved] == [f"person{i}@example.com" for i in range(10)]  # ids sort like rows
    sign = tickets.pairs[event_id].sign
    for participant in saved:
        claims = TicketClaims(event_id=event_id, participant_id=participant.id, version=1)
        assert participant.token == encode_token(claims, sign)
        assert (participant.source.value, participant.import_id) == ("import", job.id)
    assert [e.data for e in facts(uow_factory)] == [
        ParticipantRegistered(
            event_id=event_id, participant_id=p.id, source="import", import_id=job.id
        ).data()
        for p in saved
    ]
    assert saved[3].phone == "+821010030003"
    assert saved[3].custom_fields == {"티셔츠": "M"}


def test_import_reports_each_bad_row_with_row_column_and_code_when_rows_are_refused(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, tmp_path: Path
) -> None:
    rows = [
        HEADER,
        ["김민준", "minjun@example.com", "010-1234-5678", "1990-01-01", "", ""],  # row 2 ok
        ["김", "short@example.com", "", "", "", ""],  # row 3 name_too_short
        ["이서연", "not-an-email", "", "", "", ""],  # row 4 invalid_email
        ["박지훈", "jihoon@example.com", "12345", "", "", ""],  # row 5 invalid_phone
        ["최유진", "yujin@example.com", "", "1990-02-30", "", ""],  # row 6 invalid_birth_date
        ["정하은", "haeun@example.com", "", "2020-01-01", "", ""],  # row 7 under 14: no guardian
        ["김민준", "MINJUN@example.com", "", "", "", ""],  # row 8 duplicate_in_file
        ["", "", "", "", "", ""],  # row 9 blank: skipped
        ["강도윤", "doyun@example.com", "", "", "", ""],  # row 10 ok
        ["", "noname@example.com", "", "", "", ""],  # row 11 missing_field
    ]
    job = run(importer, event_id, write_csv(tmp_path / "p.csv", rows))
    assert job.summary() == {"total": 9, "created": 2, "updated": 0, "duplicates": 1, "invalid": 6}
    assert error_codes(uow_factory, job) == [
        (3, "이름", "name_too_short"),
        (4, "이메일", "invalid_email"),
        (5, "휴대폰", "invalid_phone"),
        (6, "생년월일", "invalid_birth_date"),
        (7, "생년월일", "guardian_consent_required"),
        (8, "이메일", "duplicate_in_file"),
        (11, "이름", "missing_field"),
    ]
    with uow_factory(readonly=True) as uow:
        duplicate = uow.imports.errors(job.id)[5]
        cells = uow.imports.error_rows(job.id, [3, 8, 9])
    assert duplicate.params == {"first_row": 2}
    assert cells == {3: ["김", "short@example.com", "", "", "", ""], 8: rows[7]}  # blank row 9: none


def test_import_names_the_phone_column_when_a_phone_repeats_and_event_dedups_by_phone(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, tmp_path: Path
) -> None:
    event_id = make_event(uow_factory, dedup_by_phone=True)
    rows = [HEADER, people(1)[0], ["다른사람", "other@example.com", people(1)[0][2], "", "", ""]]
    job = run(importer, event_id, write_csv(tmp_path / "p.csv", rows))
    assert job.summary()["duplicates"] == 1
    assert error_codes(uow_factory, job) == [(3, "휴대폰", "duplicate_in_file")]


def test_import_again_creates_nothing_new_when_same_file(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", [HEADER, *people(10)])
    run(importer, event_id, path)
    again = run(importer, event_id, path)
    assert again.summary() == {"total": 10, "created": 0, "updated": 0, "duplicates": 10, "invalid": 0}
    assert len(stored(uow_factory, event_id)) == 10
    assert len(facts(uow_factory)) == 10


def test_import_skips_registered_participants_when_policy_is_the_default(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, tmp_path: Path
) -> None:
    run(importer, event_id, write_csv(tmp_path / "a.csv", [HEADER, *people(3)]))
    job = run(importer, event_id, write_csv(tmp_path / "b.csv", [HEADER, *people(5)]))
    assert job.summary() == {"total": 5, "created": 2, "updated": 0, "duplicates": 3, "invalid": 0}
    assert [code for _r, _c, code in error_codes(uow_factory, job)] == ["already_registered"] * 3


def test_import_updates_registered_participants_when_policy_update(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, tmp_path: Path
) -> None:
    run(importer, event_id, write_csv(tmp_path / "a.csv", [HEADER, *people(2)]))
    changed = [HEADER, ["새이름", "person0@example.com", "", "", "새소속", "L"], people(2)[1]]
    job = run(importer, event_id, write_csv(tmp_path / "b.csv", changed), on_duplicate="update")
    assert job.summary() == {"total": 2, "created": 0, "updated": 2, "duplicates": 0, "invalid": 0}
    first = next(p for p in stored(uow_factory, event_id) if p.email == "person0@example.com")
    assert (first.name, first.organization, first.phone) == ("새이름", "새소속", "+821010000000")
    assert first.custom_fields == {"티셔츠": "L"}
    assert audit(uow_factory, "participant", first.id)[-1]["action"] == "participant.updated"
    updated = facts(uow_factory, "participant.updated")
    assert [e.data for e in updated] == [  # the unchanged second row is counted, not re-emitted
        {
            "event_id": event_id,
            "participant_id": first.id,
            "source": "import",
            "import_id": job.id,
            "fields": ["custom_fields", "name", "organization"],
        }
    ]


def test_import_refuses_whole_file_when_policy_fail_and_duplicates(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, tmp_path: Path
) -> None:
    run(importer, event_id, write_csv(tmp_path / "a.csv", [HEADER, *people(1)]))
    rows = [HEADER, *people(4), people(1, 2)[0]]  # one in the event, one repeated in the file
    job = run(importer, event_id, write_csv(tmp_path / "b.csv", rows), on_duplicate="fail")
    assert job.status is ImportStatus.FAILED
    assert (job.error_code, job.error_params) == ("duplicates_found", {"count": 2})
    assert len(stored(uow_factory, event_id)) == 1


def test_import_saves_everything_when_policy_fail_and_no_duplicates(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, tmp_path: Path
) -> None:
    job = run(importer, event_id, write_csv(tmp_path / "a.csv", [HEADER, *people(6)]), on_duplicate="fail")
    assert (job.status, job.summary()["created"]) == (ImportStatus.DONE, 6)


def test_import_stops_at_capacity_and_reports_the_rest(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, tmp_path: Path
) -> None:
    event_id = make_event(uow_factory, capacity=3)
    job = run(importer, event_id, write_csv(tmp_path / "a.csv", [HEADER, *people(5)]))
    assert job.summary() == {"total": 5, "created": 3, "updated": 0, "duplicates": 0, "invalid": 2}
    assert error_codes(uow_factory, job) == [(5, "", "event_full"), (6, "", "event_full")]


def test_import_is_refused_when_event_closed(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, tmp_path: Path
) -> None:
    event_id = make_event(uow_factory, status=EventStatus.CLOSED)
    with pytest.raises(DomainError) as caught:
        run(importer, event_id, write_csv(tmp_path / "a.csv", [HEADER, *people(1)]))
    assert caught.value.code == "registration_closed"


def test_import_fails_with_the_files_code_and_saves_nothing_when_a_column_is_missing(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, tmp_path: Path
) -> None:
    job = run(importer, event_id, write_csv(tmp_path / "a.csv", [["성명", "전화"], ["김민준", "010"]]))
    assert (job.status, job.error_code) == (ImportStatus.FAILED, "missing_column")
    assert job.error_params is not None
    assert job.error_params["column"] == "email"
    assert stored(uow_factory, event_id) == []
    assert audit(uow_factory, "import", job.id)[-1]["data"]["error"] == "missing_column"


def test_import_fails_with_no_data_rows_when_file_has_only_a_header(
    importer: Importer, event_id: str, tmp_path: Path
) -> None:
    job = run(importer, event_id, write_csv(tmp_path / "a.csv", [HEADER, [""] * 6]))
    assert (job.status, job.error_code) == (ImportStatus.FAILED, "no_data_rows")


def test_progress_is_reported_after_each_saved_batch(
    importer: Importer, event_id: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", [HEADER, *people(10)])
    seen: list[tuple[int, int]] = []
    run(importer, event_id, path, progress=lambda job, position: seen.append((job.rows_processed, position)))
    assert [processed for processed, _position in seen] == [4, 8, 10]
    assert seen[-1][1] == path.stat().st_size


# --- jobs: queueing, claiming, resuming -------------------------------------------------------------


def queue_job(uow_factory: FakeUnitOfWorkFactory, event_id: str, path: Path) -> str:
    with uow_factory() as uow:
        job = create_import_job(
            uow,
            event_id=event_id,
            path=str(path),
            file=TableFiles().digest(str(path)),
            filename=path.name,
            actor="test",
            consent_basis="collected_elsewhere",
        )
        uow.commit()
    return job.id


def get(uow_factory: FakeUnitOfWorkFactory, import_id: str) -> ImportJob:
    with uow_factory(readonly=True) as uow:
        return get_import(uow, import_id=import_id)


def set_running(
    uow_factory: FakeUnitOfWorkFactory, import_id: str, *, owner: str, lease_until: datetime
) -> None:
    jobs: dict[str, ImportJob] = uow_factory.db.table("import_jobs")
    jobs[import_id] = replace(
        jobs[import_id], status=ImportStatus.RUNNING, owner=owner, lease_until=lease_until
    )


def test_worker_resumes_a_job_whose_runner_died_only_after_its_lease(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, clock: FakeClock, tmp_path: Path
) -> None:
    job_id = queue_job(uow_factory, event_id, write_csv(tmp_path / "people.csv", [HEADER, *people(30)]))
    set_running(
        uow_factory, job_id, owner="another-host:4242", lease_until=clock.now() + timedelta(seconds=60)
    )
    assert importer.run_pending() == 0  # the lease still holds
    clock.advance(seconds=61)
    assert importer.run_pending() == 1
    job = get(uow_factory, job_id)
    assert (job.status, job.summary()["created"], job.attempts, job.owner) == (
        ImportStatus.DONE,
        30,
        1,
        "test-host:1",
    )
    assert len(stored(uow_factory, event_id)) == 30


def test_pending_imports_run_in_order_and_each_once(
    importer: Importer, uow_factory: FakeUnitOfWorkFactory, event_id: str, clock: FakeClock, tmp_path: Path
) -> None:
    first = queue_job(uow_factory, event_id, write_csv(tmp_path / "a.csv", [HEADER, *people(5)]))
    clock.advance(seconds=1)
    second = queue_job(uow_factory, event_id, write_csv(tmp_path / "b.csv", [HEADER, *people(5, start=3)]))
    assert importer.run_pending() == 2
    assert importer.run_pending() == 0
    a, b = get(uow_factory, first), get(uow_factory, second)
    assert (a.summary()["created"], b.summary()["created"], b.summary()["duplicates"]) == (5, 3, 2)


def test_run_next_import_answers_false_when_nothing_is_due(importer: Importer) -> None:
    assert importer.run_next_import() is False


def test_import_run_again_resumes_the_killed_job_of_the_same_file_without_duplicates(
    importer: Importer,
    uow_factory: FakeUnitOfWorkFactory,
    event_id: str,
    processes: FakeProcesses,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [HEADER, *people(6), people(1, 1)[0], *people(3, start=6)]  # row 8 repeats row 3
    path = write_csv(tmp_path / "people.csv", rows)

    class Killed(Exception):
        pass

    class DyingStore(FakeImportStore):
        """Saves two batches, then the runner 'dies' (the job stays running, as after SIGKILL)."""

        saves = 0

        def add_participants(
            self, rows: Sequence[CleanRow], *, event_id: str, import_id: str, now: datetime
        ) -> None:
            if DyingStore.saves == 2:
                raise Killed
            DyingStore.saves += 1
            super().add_participants(rows, event_id=event_id, import_id=import_id, now=now)

    monkeypatch.setattr("tests.fakes.FakeImportStore", DyingStore)
    with pytest.raises(Killed):
        run(importer, event_id, path)
    jobs: dict[str, ImportJob] = uow_factory.db.table("import_jobs")
    (killed,) = jobs.values()
    assert (killed.status, killed.rows_processed, killed.created) == (ImportStatus.RUNNING, 8, 7)

    processes.ended.add(processes.name)  # the runner is gone
    processes.name = "test-host:2"
    monkeypatch.undo()
    job = run(importer, event_id, path)
    assert job.id == killed.id
    assert len(jobs) == 1
    assert job.summary() == {"total": 10, "created": 9, "updated": 0, "duplicates": 1, "invalid": 0}
    assert (job.attempts, job.owner) == (2, "test-host:2")
    saved = stored(uow_factory, event_id)
    assert sorted(p.email for p in saved) == sorted(f"person{i}@example.com" for i in range(9))
    assert len(facts(uow_factory)) == 9
    assert error_codes(uow_factory, job) == [(8, "이메일", "duplicate_in_file")]


def test_import_run_again_after_a_kill_decides_the_rest_of_the_file_as_an_unbroken_run_would(
    importer: Importer,
    uow_factory: FakeUnitOfWorkFactory,
    processes: FakeProcesses,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On resume, only the rows that were saved (or were duplicates) before the kill mark their keys
    as seen in the file: a refused row's email does not make a later row a ``duplicate_in_file``."""
    phone = people(1)[0][2]
    rows = [
        HEADER,
        ["김", "x@example.com", "", "1990-01-01", "", ""],  # row 2: name_too_short
        ["홍길동", "y@example.com", "", "1990-01-01", ""],  # row 3: wrong_field_count
        people(1)[0],  # row 4: saved
        ["다른이", "z@example.com", phone, "1990-01-01", "", ""],  # row 5: the phone of row 4
        *people(2, start=1),  # rows 6-7 (the kill comes in their batch)
        ["김민준", "x@example.com", "", "1990-01-01", "", ""],  # rows 8-10: first of their keys
        ["이서연", "y@example.com", "", "1990-01-01", "", ""],
        ["박지훈", "z@example.com", "010-9999-8888", "1990-01-01", "", ""],
    ]
    path = write_csv(tmp_path / "people.csv", rows)
    unbroken_event = make_event(uow_factory, dedup_by_phone=True)
    unbroken = run(importer, unbroken_event, path)

    class Killed(Exception):
        pass

    class DyingStore(FakeImportStore):
        """Saves one batch, then the runner 'dies' (the job stays running, as after SIGKILL)."""

        saves = 0

        def add_participants(
            self, rows: Sequence[CleanRow], *, event_id: str, import_id: str, now: datetime
        ) -> None:
            if DyingStore.saves == 1:
                raise Killed
            DyingStore.saves += 1
            super().add_participants(rows, event_id=event_id, import_id=import_id, now=now)

    event_id = make_event(uow_factory, dedup_by_phone=True)
    monkeypatch.setattr("tests.fakes.FakeImportStore", DyingStore)
    with pytest.raises(Killed):
        run(importer, event_id, path)
    processes.ended.add(processes.name)  # the runner is gone
    processes.name = "test-host:2"
    monkeypatch.undo()
    resumed = run(importer, event_id, path)

    assert resumed.summary() == unbroken.summary()
    assert resumed.summary() == {"total": 9, "created": 6, "updated": 0, "duplicates": 1, "invalid": 2}
    assert error_codes(uow_factory, resumed) == error_codes(uow_factory, unbroken)
    assert sorted(p.email for p in stored(uow_factory, event_id)) == sorted(
        p.email for p in stored(uow_factory, unbroken_event)
    )


def other_runner(uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, tickets: FakeTicketKeys) -> Importer:
    """A second runner (another process) over the same database."""
    return Importer(
        uow_factory=uow_factory,
        clock=clock,
        tickets=tickets,
        files=TableFiles(),
        cleaner=ParallelRowCleaner(workers=0),
        processes=FakeProcesses("test-host:2"),
        batch_size=4,
    )


def test_a_runner_whose_job_was_taken_over_after_its_lease_stops_without_saving_or_ending_it(
    importer: Importer,
    uow_factory: FakeUnitOfWorkFactory,
    event_id: str,
    clock: FakeClock,
    tickets: FakeTicketKeys,
    tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "people.csv", [HEADER, *people(12)])
    other = other_runner(uow_factory, clock, tickets)
    took_over: list[bool] = []

    def stall_after_the_first_batch(job: ImportJob, position: int) -> None:
        if not took_over:
            clock.advance(seconds=61)  # this runner stalls past its lease ...
            took_over.append(other.run_next_import())  # ... and another runs the job to its end

    with pytest.raises(ImportTakenOver):
        run(importer, event_id, path, progress=stall_after_the_first_batch)
    assert took_over == [True]
    (job,) = uow_factory.db.table("import_jobs").values()
    assert (job.status, job.owner, job.attempts) == (ImportStatus.DONE, "test-host:2", 2)
    assert job.summary() == {"total": 12, "created": 12, "updated": 0, "duplicates": 0, "invalid": 0}
    assert error_codes(uow_factory, job) == []
    assert len(stored(uow_factory, event_id)) == 12
    assert len(facts(uow_factory)) == 12


class SlowFiles(TableFiles):
    """Files whose every record takes ``seconds`` of the test clock to read; ``on_row(row)`` is called
    as each record is read."""

    def __init__(self, clock: FakeClock, seconds: float, on_row: Any) -> None:
        self.clock = clock
        self.seconds = seconds
        self.on_row = on_row

    def open(self, path: str | None, *, filename: str, encoding: str | None) -> Table:
        table = super().open(path, filename=filename, encoding=encoding)
        records = table.rows

        def rows() -> Any:
            for record in records():
                self.clock.advance(seconds=self.seconds)
                self.on_row(record.row)
                yield record

        table.rows = rows  # type: ignore[method-assign]
        return table


def test_a_long_check_for_duplicates_keeps_its_lease_when_policy_fail(
    uow_factory: FakeUnitOfWorkFactory,
    event_id: str,
    clock: FakeClock,
    processes: FakeProcesses,
    tickets: FakeTicketKeys,
    tmp_path: Path,
) -> None:
    """``on_duplicate=fail`` reads the whole file before it saves anything: the lease is renewed as it
    reads, so a file that takes longer than the lease to check is not taken over meanwhile."""
    path = write_csv(tmp_path / "people.csv", [HEADER, *people(12)])
    other = other_runner(uow_factory, clock, tickets)
    tries: list[bool] = []

    def on_row(row: int) -> None:
        if row == 13 and not tries:  # the last row of the check, 120 s after the claim
            tries.append(other.run_next_import())

    importer = Importer(
        uow_factory=uow_factory,
        clock=clock,
        tickets=tickets,
        files=SlowFiles(clock, 10, on_row),
        cleaner=ParallelRowCleaner(workers=0),
        processes=processes,
        batch_size=4,
    )
    job = run(importer, event_id, path, on_duplicate="fail")
    assert tries == [False]
    assert (job.status, job.owner, job.attempts) == (ImportStatus.DONE, "test-host:1", 1)
    assert job.summary()["created"] == 12


def test_import_run_again_after_the_attempts_ran_out_is_refused_with_the_reason(
    importer: Importer,
    uow_factory: FakeUnitOfWorkFactory,
    event_id: str,
    processes: FakeProcesses,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    """``turnout import`` of a file whose every run died: not resumed a fourth time, but refused
    (exit 1) with ``import_attempts_exhausted``, and the job ends failed with that reason."""
    path = write_csv(tmp_path / "people.csv", [HEADER, *people(3)])
    job_id = queue_job(uow_factory, event_id, path)
    jobs: dict[str, ImportJob] = uow_factory.db.table("import_jobs")
    jobs[job_id] = replace(
        jobs[job_id], status=ImportStatus.RUNNING, owner="test-host:99", lease_until=None, attempts=3
    )
    processes.ended.add("test-host:99")
    with pytest.raises(DomainError) as refused:
        run(importer, event_id, path)
    assert (refused.value.code, refused.value.params) == ("import_attempts_exhausted", {"attempts": 3})
    job = get(uow_factory, job_id)
    assert (job.status, job.error_code) == (ImportStatus.FAILED, "import_attempts_exhausted")
    assert stored(uow_factory, event_id) == []
