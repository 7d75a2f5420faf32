"""Test doubles (``Fake*``) of the ports. Only ports are faked, never our own database: the store
contract suites (``tests/integration/test_*_contract.py``) run the same checks on these fakes and
on the real stores, on SQLite and PostgreSQL, so a service test on fakes means what it says.

``FakeUnitOfWork`` keeps its state in a ``FakeDatabase`` (plain dicts and lists); each transaction
works on it directly and a rollback puts back the copy taken when the transaction began.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from tests.fakes_consent import FakeConsentStore
from tests.fakes_crowd import FakeCrowdAlarms
from tests.fakes_export import FakeParticipantExport
from tests.fakes_intake import FakeImportStore
from tests.fakes_integrations import FakeIntegrationStore, FakeOutboundStore
from tests.fakes_mail import FakeEmailQueue, FakeMailTemplateStore
from tests.fakes_sagas import FakeAlertStore, FakeSagaStore
from tests.fakes_spine import FakeMessageStore, FakeRateLimits, FakeStatistics
from tests.fakes_tickets import FakeTicketStore
from turnout.domain.access import Principal, Role
from turnout.domain.events import Event, EventStatus, Gate
from turnout.domain.participants import (
    CheckInStatus,
    Participant,
    ParticipantFilter,
    ParticipantStatus,
    Source,
)
from turnout.domain.privacy import BirthDateBand, ErasureRequest, erased_email
from turnout.messages.base import Envelope, Message
from turnout.ports import AuditEntry, KeyInfo, ParticipantFeedRow, PersonScan


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 5, 1, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)

    def set(self, moment: datetime) -> None:
        self.current = moment


@dataclass
class FakeDatabase:
    """What the fake stores hold. Each store keeps its rows under its own key of ``tables``."""

    tables: dict[str, Any] = field(default_factory=dict)
    outbox: list[Envelope] = field(default_factory=list)

    def table(self, name: str) -> Any:
        """The rows a store keeps under ``name`` (a dict by key unless the store made it otherwise).
        Stores look their rows up on every call: a rollback replaces them."""
        return self.tables.setdefault(name, {})


class FakeEvents:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[str, Event]:
        rows: dict[str, Event] = self._db.table("events")
        return rows

    def add(self, event: Event, *, now: datetime) -> None:
        if event.id in self._rows:
            raise KeyError(f"event {event.id} exists")
        self._rows[event.id] = event

    def get(self, event_id: str, *, for_update: bool = False) -> Event | None:
        return self._rows.get(event_id)

    def set_status(self, event_id: str, status: EventStatus, *, now: datetime) -> None:
        self._rows[event_id] = replace(self._rows[event_id], status=status)

    def update(self, event: Event, *, now: datetime) -> None:
        self._rows[event.id] = replace(event, status=self._rows[event.id].status)

    def list(self, *, after_id: str | None, limit: int, only_ids: Sequence[str] | None = None) -> list[Event]:
        events = sorted(self._rows.values(), key=lambda event: event.id)
        return [
            event
            for event in events
            if (after_id is None or event.id > after_id) and (only_ids is None or event.id in only_ids)
        ][:limit]


class FakeGates:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[str, Gate]:
        rows: dict[str, Gate] = self._db.table("gates")
        return rows

    def add(self, gate: Gate, *, now: datetime) -> None:
        self._rows[gate.id] = gate

    def get(self, gate_id: str) -> Gate | None:
        return self._rows.get(gate_id)

    def list_for_event(self, event_id: str, *, after_id: str | None = None, limit: int = 1000) -> list[Gate]:
        gates = sorted((g for g in self._rows.values() if g.event_id == event_id), key=lambda g: g.id)
        return [g for g in gates if after_id is None or g.id > after_id][:limit]

    def update(self, gate: Gate) -> bool:
        stored = self._rows.get(gate.id)
        if stored is None:
            return False
        self._rows[gate.id] = replace(gate, event_id=stored.event_id)
        return True


class FakeApiKeys:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = self._db.table("api_keys")
        return rows

    def add(
        self,
        *,
        key_id: str,
        secret_hash: str,
        name: str,
        role: Role,
        event_id: str | None,
        gate_id: str | None,
        now: datetime,
    ) -> None:
        self._rows[key_id] = {
            "id": key_id,
            "secret_hash": secret_hash,
            "name": name,
            "role": role.value,
            "event_id": event_id,
            "gate_id": gate_id,
            "created_at": now,
            "revoked_at": None,
        }

    def find(self, key_id: str) -> tuple[str, Principal] | None:
        row = self._rows.get(key_id)
        if row is None or row["revoked_at"] is not None:
            return None
        principal = Principal(
            key_id=key_id,
            name=row["name"],
            role=Role(row["role"]),
            event_id=row["event_id"],
            gate_id=row["gate_id"],
        )
        return row["secret_hash"], principal

    def count(self) -> int:
        return len(self._rows)

    def add_session(self, *, id_hash: str, key_id: str, now: datetime, expires_at: datetime) -> None:
        self._db.table("console_sessions")[id_hash] = {"key_id": key_id, "expires_at": expires_at}

    def find_session(self, id_hash: str, *, now: datetime) -> tuple[datetime, Principal] | None:
        row = self._db.table("console_sessions").get(id_hash)
        if row is None or row["expires_at"] <= now:
            return None
        found = self.find(row["key_id"])
        return None if found is None else (row["expires_at"], found[1])

    def delete_session(self, id_hash: str) -> None:
        self._db.table("console_sessions").pop(id_hash, None)

    def delete_expired_sessions(self, *, now: datetime) -> int:
        rows = self._db.table("console_sessions")
        gone = [h for h, row in rows.items() if row["expires_at"] <= now]
        for id_hash in gone:
            del rows[id_hash]
        return len(gone)

    def list_all(self) -> list[dict[str, Any]]:
        rows = sorted(self._rows.values(), key=lambda row: row["created_at"])
        return [{k: v for k, v in row.items() if k != "secret_hash"} for row in rows]

    def revoke(self, key_id: str, *, now: datetime) -> bool:
        row = self._rows.get(key_id)
        if row is None or row["revoked_at"] is not None:
            return False
        row["revoked_at"] = now
        return True

    @staticmethod
    def _info(row: dict[str, Any]) -> KeyInfo:
        return KeyInfo(
            key_id=row["id"],
            name=row["name"],
            role=Role(row["role"]),
            event_id=row["event_id"],
            gate_id=row["gate_id"],
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
        )

    def describe(self, key_id: str) -> KeyInfo | None:
        row = self._rows.get(key_id)
        return None if row is None else self._info(row)

    def list_for_event(self, event_id: str) -> list[KeyInfo]:
        rows = sorted(
            (row for row in self._rows.values() if row["event_id"] == event_id),
            key=lambda row: (row["created_at"], row["id"]),
        )
        return [self._info(row) for row in rows]


class FakeAuditLog:
    def __init__(self, db: FakeDatabase, clock: FakeClock) -> None:
        self._db = db
        self._clock = clock

    @property
    def _rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._db.tables.setdefault("audit_log", [])
        return rows

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        event_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self._rows.append(
            {
                "id": len(self._rows) + 1,
                "at": self._clock.now(),
                "actor": actor,
                "action": action,
                "event_id": event_id,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "data": data or {},
            }
        )

    def record_many(self, entries: Sequence[AuditEntry]) -> None:
        for e in entries:
            self.record(
                actor=e.actor,
                action=e.action,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                event_id=e.event_id,
                data=e.data,
            )

    def for_subject(self, subject_type: str, subject_id: str) -> list[dict[str, Any]]:
        return [
            dict(row)
            for row in self._rows
            if row["subject_type"] == subject_type and row["subject_id"] == subject_id
        ]


class FakeIdempotencyStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[tuple[str, str], tuple[str, int, Any]]:
        rows: dict[tuple[str, str], tuple[str, int, Any]] = self._db.table("idempotency_keys")
        return rows

    def get(self, scope: str, key: str) -> tuple[str, int, Any] | None:
        return self._rows.get((scope, key))

    def put(
        self, scope: str, key: str, *, request_hash: str, status_code: int, response: Any, now: datetime
    ) -> None:
        if (scope, key) in self._rows:
            raise KeyError("idempotency key stored already")
        self._rows[(scope, key)] = (request_hash, status_code, response)


_PARTICIPANT_ENUMS: dict[str, Any] = {
    "status": ParticipantStatus,
    "check_in_status": CheckInStatus,
    "source": Source,
}


class FakeParticipantStore:
    """``ports.ParticipantStore`` over participants kept as ``Participant`` records by id."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[str, Participant]:
        rows: dict[str, Participant] = self._db.table("participants")
        return rows

    def _typed(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: _PARTICIPANT_ENUMS[k](v) if k in _PARTICIPANT_ENUMS else v for k, v in values.items()}

    def get(self, participant_id: str, *, for_update: bool = False) -> Participant | None:
        return self._rows.get(participant_id)

    def get_many(self, participant_ids: Sequence[str], *, for_update: bool = False) -> dict[str, Participant]:
        return {pid: self._rows[pid] for pid in participant_ids if pid in self._rows}

    def insert_many(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            participant = Participant(**self._typed(record))
            if participant.id in self._rows:
                raise KeyError(f"participant {participant.id} exists")
            if any(
                p.event_id == participant.event_id and p.email == participant.email
                for p in self._rows.values()
            ):
                raise KeyError(f"{participant.email} is registered already")
            if participant.token and any(p.token == participant.token for p in self._rows.values()):
                raise KeyError("token exists")
            self._rows[participant.id] = participant

    def update_fields(self, participant_id: str, values: dict[str, Any]) -> None:
        self._rows[participant_id] = replace(self._rows[participant_id], **self._typed(values))

    def delete(self, participant_id: str) -> None:
        self._rows.pop(participant_id, None)
        self._db.table("participant_consents").pop(participant_id, None)  # ON DELETE CASCADE

    def count_active(self, event_id: str) -> int:
        return sum(
            1
            for p in self._rows.values()
            if p.event_id == event_id
            and p.status in (ParticipantStatus.REGISTERED, ParticipantStatus.TRANSFERRING)
        )

    def ids_by_email(self, event_id: str, emails: Sequence[str]) -> dict[str, str]:
        wanted = set(emails)
        return {p.email: p.id for p in self._rows.values() if p.event_id == event_id and p.email in wanted}

    def ids_by_phone(self, event_id: str, phones: Sequence[str]) -> dict[str, str]:
        wanted = set(phones)
        return {
            p.phone: p.id
            for p in self._rows.values()
            if p.event_id == event_id and p.phone is not None and p.phone in wanted
        }

    def search(
        self,
        *,
        event_id: str,
        where: ParticipantFilter = ParticipantFilter(),
        after_id: str | None = None,
        limit: int = 100,
        many: bool = False,
    ) -> list[Participant]:
        found = sorted(
            (
                p
                for p in self._rows.values()
                if p.event_id == event_id and (after_id is None or p.id > after_id) and where.matches(p)
            ),
            key=lambda p: p.id,
        )
        return found[:limit]

    def count(
        self, *, event_id: str, where: ParticipantFilter = ParticipantFilter(), up_to: int = 10_000
    ) -> int:
        return min(up_to, len(self.search(event_id=event_id, where=where, limit=up_to)))

    def feed_rows(self, participant_ids: Collection[str]) -> list[ParticipantFeedRow]:
        return [_feed_row(self._rows[i]) for i in dict.fromkeys(participant_ids) if i in self._rows]

    def stream_feed_rows(self, event_id: str) -> Iterator[ParticipantFeedRow]:
        for p in sorted(self._rows.values(), key=lambda p: p.id):
            if p.event_id == event_id:
                yield _feed_row(p)


def _feed_row(p: Participant) -> ParticipantFeedRow:
    return ParticipantFeedRow(
        id=p.id,
        event_id=p.event_id,
        token=p.token,
        name=p.name,
        status=p.status.value,
        check_in_status=p.check_in_status.value,
        first_checked_in_at=p.first_checked_in_at,
        last_scan_at=p.last_scan_at,
        updated_at=p.updated_at,
    )


class FakePrivacyStore:
    """``ports.PrivacyStore`` over the fakes: erasure blanks the fake participants' personal fields
    (birth dates moved to their band's stand-in), and one person's their email jobs' addresses and
    scans' device data too; erasure requests are kept by id. The fakes keep no operational records to
    prune."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def prune(self, *, before: datetime, limit: int) -> dict[str, int]:
        return {}

    def erase_event(
        self, event_id: str, *, birth_date_bands: Sequence[BirthDateBand], now: datetime
    ) -> dict[str, int]:
        rows: dict[str, Any] = self._db.table("participants")
        erased = 0
        for key, participant in list(rows.items()):
            if getattr(participant, "event_id", None) != event_id:
                continue
            rows[key] = _erased(participant, birth_date_bands, now)
            erased += 1
        consents: dict[str, Any] = self._db.table("participant_consents")
        cleared = 0
        for key, record in list(consents.items()):
            if record.event_id == event_id:  # kept (the proof of lawful processing), guardian cleared
                consents[key] = replace(record, guardian_name=None, guardian_contact=None)
                cleared += 1
        return {"participants": erased, "participant_consents": cleared}

    def erase_participant(
        self, participant_id: str, *, birth_date_bands: Sequence[BirthDateBand], now: datetime
    ) -> dict[str, int]:
        rows: dict[str, Any] = self._db.table("participants")
        participant = rows.get(participant_id)
        if participant is None:
            return {"participants": 0}
        rows[participant_id] = _erased(participant, birth_date_bands, now)
        jobs: dict[str, Any] = self._db.table("email_jobs")
        changed_jobs = 0
        for job_id, job in list(jobs.items()):
            if job.participant_id == participant_id:
                jobs[job_id] = replace(job, to_address="erased@erased.invalid", subject=None, last_error=None)
                changed_jobs += 1
        scans: list[Any] = self._db.tables.setdefault("scans", [])
        changed_scans = 0
        for index, scan in enumerate(scans):
            if scan.participant_id == participant_id:
                scans[index] = scan._replace(device={}, location={}, metadata={})
                changed_scans += 1
        return {"participants": 1, "email_jobs": changed_jobs, "scans": changed_scans}

    def scans_of(self, participant_id: str) -> list[PersonScan]:
        gates: dict[str, Gate] = self._db.table("gates")
        found = [s for s in self._db.tables.get("scans", []) if s.participant_id == participant_id]
        found.sort(key=lambda s: (s.occurred_at, s.id))
        return [
            PersonScan(
                occurred_at=s.occurred_at,
                gate_id=s.gate_id,
                gate_name=gates[s.gate_id].name if s.gate_id in gates else None,
                method=s.method,
                direction=s.direction,
                result=s.result,
                code=s.code,
            )
            for s in found
        ]

    @property
    def _requests(self) -> dict[str, ErasureRequest]:
        rows: dict[str, ErasureRequest] = self._db.table("erasure_requests")
        return rows

    def add_erasure_request(self, request: ErasureRequest) -> None:
        if request.id in self._requests:
            raise KeyError(f"erasure request {request.id} exists")
        self._requests[request.id] = request

    def get_erasure_request(self, request_id: str, *, for_update: bool = False) -> ErasureRequest | None:
        return self._requests.get(request_id)

    def open_erasure_request(self, participant_id: str) -> ErasureRequest | None:
        found = sorted(
            (r for r in self._requests.values() if r.participant_id == participant_id and r.is_open),
            key=lambda r: r.id,
        )
        return found[0] if found else None

    def find_erasure_requests(
        self,
        event_id: str | None,
        *,
        status: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[ErasureRequest]:
        found = sorted(
            (
                r
                for r in self._requests.values()
                if (event_id is None or r.event_id == event_id)
                and (status is None or r.status.value == status)
                and (after_id is None or r.id > after_id)
            ),
            key=lambda r: r.id,
        )
        return found[:limit]

    def decide_erasure_request(self, request: ErasureRequest) -> None:
        stored = self._requests[request.id]
        self._requests[request.id] = replace(
            stored,
            status=request.status,
            decided_at=request.decided_at,
            decided_by=request.decided_by,
            decision_note=request.decision_note,
        )


def _erased(participant: Any, birth_date_bands: Sequence[BirthDateBand], now: datetime) -> Any:
    born = participant.birth_date
    for band in birth_date_bands if born is not None else ():
        if (band.after is None or born > band.after) and (band.up_to is None or born <= band.up_to):
            born = band.stand_in
            break
    return replace(
        participant,
        name="",
        email=erased_email(participant.id),
        phone=None,
        birth_date=born,
        organization=None,
        gender=None,
        custom_fields={},
        token=None,
        email_error=None,
        updated_at=now,
    )


class FakeUnitOfWork:
    """``ports.UnitOfWork`` over a ``FakeDatabase``: commit keeps what the transaction did, leaving
    without commit puts the database back as it was, messages included."""

    def __init__(self, db: FakeDatabase, clock: FakeClock, *, readonly: bool = False) -> None:
        self.db = db
        self._clock = clock
        self.readonly = readonly
        self._before: FakeDatabase | None = None
        self._committed = False
        self._after_commit: list[Callable[[], Any]] = []
        self.emitted: list[Envelope] = []

    # the repositories, made fresh on each ``__enter__`` over the shared state
    @property
    def clock(self) -> FakeClock:
        return self._clock

    def __enter__(self) -> Self:
        self._before = copy.deepcopy(self.db)
        self._committed = False
        self.events = FakeEvents(self.db)
        self.gates = FakeGates(self.db)
        self.participants = FakeParticipantStore(self.db)
        self.api_keys = FakeApiKeys(self.db)
        self.audit = FakeAuditLog(self.db, self._clock)
        self.idempotency = FakeIdempotencyStore(self.db)
        self.tickets = FakeTicketStore(self.db)
        self.mail = FakeEmailQueue(self.db)
        self.mail_templates = FakeMailTemplateStore(self.db)
        self.rate_limits = FakeRateLimits(self.db)
        self.messages = FakeMessageStore(self.db)
        self.statistics = FakeStatistics(self.db)
        self.imports = FakeImportStore(self.db)
        self.integrations = FakeIntegrationStore(self.db)
        self.outbound = FakeOutboundStore(self.db)
        self.sagas = FakeSagaStore(self.db)
        self.alerts = FakeAlertStore(self.db)
        self.crowd = FakeCrowdAlarms(self.db)
        self.privacy = FakePrivacyStore(self.db)
        self.consent = FakeConsentStore(self.db)
        self.participant_export = FakeParticipantExport(self.db)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._committed:
            self._restore()
        elif exc_type is None:
            for callback in self._after_commit:
                callback()

    def _restore(self) -> None:
        assert self._before is not None
        self.db.tables = self._before.tables
        self.db.outbox = self._before.outbox

    def commit(self) -> None:
        if self.readonly and self.emitted:
            raise RuntimeError("a read-only transaction emitted messages")
        self._committed = True
        self._before = copy.deepcopy(self.db)

    def rollback(self) -> None:
        self._restore()

    def emit(self, message: Message) -> Envelope:
        return self.emit_all([message])[0]

    def emit_all(self, messages: Sequence[Message], *, occurred_at: datetime | None = None) -> list[Envelope]:
        at = occurred_at or self._clock.now()
        envelopes = [Envelope.wrap(message, at) for message in messages]
        self.db.outbox.extend(envelopes)
        self.emitted.extend(envelopes)
        return envelopes

    def after_commit(self, callback: Callable[[], Any]) -> None:
        self._after_commit.append(callback)

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        saved = copy.deepcopy(self.db)
        callbacks, emitted = len(self._after_commit), len(self.emitted)
        try:
            yield
        except BaseException:
            self.db.tables, self.db.outbox = saved.tables, saved.outbox
            del self._after_commit[callbacks:]
            del self.emitted[emitted:]
            raise


class FakeUnitOfWorkFactory:
    """``ports.UnitOfWorkFactory`` whose transactions share one ``FakeDatabase``."""

    def __init__(self, clock: FakeClock | None = None, db: FakeDatabase | None = None) -> None:
        self.clock = clock or FakeClock()
        self.db = db or FakeDatabase()

    def __call__(self, *, readonly: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db, self.clock, readonly=readonly)
