"""Import leases on both databases: a runner whose job was claimed again cannot save anything more
(even a runner of the same process: fenced by the lease generation), and a job whose runners keep
dying ends ``failed`` with its reason after a bounded number of attempts."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fakes import FakeClock
from turnout.adapters.db import tables as t
from turnout.adapters.import_cleaning import ParallelRowCleaner
from turnout.adapters.processes import LocalProcesses
from turnout.adapters.readers import Table, TableFiles
from turnout.bootstrap import Turnout
from turnout.domain.imports import ImportJob, ImportStatus
from turnout.services import events as event_service
from turnout.services.import_jobs import ImportTakenOver, claim_next, create_import_job, get_import
from turnout.services.importing import Importer

HEADER = ["이름", "이메일", "개인정보 동의"]


@pytest.fixture
def event_id(turnout: Turnout) -> str:
    with turnout.uow() as uow:
        event = event_service.create_event(
            uow,
            actor="test",
            name="서울 컨퍼런스",
            starts_at=datetime.fromisoformat("2026-06-01T09:00:00+09:00"),
            ends_at=datetime.fromisoformat("2026-06-01T18:00:00+09:00"),
            min_age=0,  # no age rule
        )
        uow.commit()
    return event.id


def write_people(path: Path, n: int) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([HEADER, *([f"참가자{i}", f"p{i}@example.com", "Y"] for i in range(n))])
    path.write_bytes(buffer.getvalue().encode())
    return path


def runner(turnout: Turnout, clock: FakeClock, files: TableFiles | None = None) -> Importer:
    """A runner of this very process (the same ``owner`` as every other one made here)."""
    return Importer(
        uow_factory=turnout.uow,
        clock=clock,
        tickets=turnout.tickets,
        files=files or TableFiles(),
        cleaner=ParallelRowCleaner(workers=0),
        processes=LocalProcesses(),
        batch_size=4,
        max_attempts=3,
    )


def queue(turnout: Turnout, event_id: str, path: Path) -> str:
    with turnout.uow() as uow:
        job = create_import_job(
            uow,
            event_id=event_id,
            path=str(path),
            file=TableFiles().digest(str(path)),
            filename=path.name,
            actor="test",
        )
        uow.commit()
    return job.id


def job_of(turnout: Turnout, import_id: str) -> ImportJob:
    with turnout.uow(readonly=True) as uow:
        return get_import(uow, import_id=import_id)


def participants(turnout: Turnout, event_id: str) -> int:
    with turnout.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(t.participants)
        return int(conn.execute(query.where(t.participants.c.event_id == event_id)).scalar_one())


def test_a_stale_runner_of_the_same_process_saves_nothing_once_its_job_was_claimed_again(
    turnout: Turnout, clock: FakeClock, event_id: str, tmp_path: Path
) -> None:
    import_id = queue(turnout, event_id, write_people(tmp_path / "p.csv", 12))
    stale = runner(turnout, clock)
    reclaimed: list[ImportJob] = []

    def stall_after_the_first_batch(job: ImportJob, position: int) -> None:
        if not reclaimed:
            clock.advance(seconds=61)  # the runner stalls past its lease; its own process claims the job
            with turnout.uow() as uow:
                claimed = claim_next(uow, processes=LocalProcesses())
                uow.commit()
            assert claimed is not None
            reclaimed.append(claimed)

    with turnout.uow() as uow:
        first = claim_next(uow, processes=LocalProcesses())
        uow.commit()
    assert first is not None
    with pytest.raises(ImportTakenOver):
        stale.run_import(import_id=import_id, progress=stall_after_the_first_batch, attempt=first.attempts)
    held = job_of(turnout, import_id)
    assert (held.status, held.attempts, held.summary()["created"]) == (ImportStatus.RUNNING, 2, 4)
    assert participants(turnout, event_id) == 4  # the first batch only

    done = runner(turnout, clock).run_import(import_id=import_id, attempt=reclaimed[0].attempts)
    assert (done.status, done.summary()["created"], done.summary()["duplicates"]) == (
        ImportStatus.DONE,
        12,
        0,
    )
    assert participants(turnout, event_id) == 12


class ProcessDied(BaseException):
    """What the runner's process dying looks like from inside (not an ``Exception``: not caught)."""


class KillingFiles(TableFiles):
    """A file whose reading kills the process reading it (a bomb the checks did not catch)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0

    def open(self, path: str | None, *, filename: str, encoding: str | None) -> Table:
        self.opened += 1
        raise ProcessDied


def test_a_file_that_keeps_killing_its_runner_ends_failed_after_the_bounded_attempts(
    turnout: Turnout, clock: FakeClock, event_id: str, tmp_path: Path
) -> None:
    import_id = queue(turnout, event_id, write_people(tmp_path / "p.csv", 3))
    files = KillingFiles()
    worker = runner(turnout, clock, files)
    for _ in range(3):
        with pytest.raises(ProcessDied):
            worker.run_next_import()
        assert job_of(turnout, import_id).status is ImportStatus.RUNNING
        clock.advance(seconds=61)  # the lease of the dead runner ends
    assert worker.run_next_import() is False  # not claimed a fourth time
    assert files.opened == 3
    failed = job_of(turnout, import_id)
    assert (failed.status, failed.error_code, failed.error_params) == (
        ImportStatus.FAILED,
        "import_attempts_exhausted",
        {"attempts": 3},
    )
    assert failed.finished_at is not None
    assert worker.run_next_import() is False
    assert participants(turnout, event_id) == 0
