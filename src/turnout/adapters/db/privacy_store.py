"""``ports.PrivacyStore`` over SQLAlchemy Core: retention pruning, a closed event's erasure, one
person's erasure, what is held about a person, and participants' erasure requests.

Pruning deletes in bounded batches (``limit`` rows per table per call), so each transaction is
short; the caller repeats until nothing is left. Erasure is one transaction per event (or person).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.adapters.db.tables_consent import participant_consents
from turnout.adapters.db.tables_intake import import_error_rows, import_errors, import_jobs, registration_rate
from turnout.adapters.db.tables_integrations import delivery_attempts, outbound_deliveries
from turnout.adapters.db.tables_mail import email_attempts, email_jobs, ticket_revocations
from turnout.adapters.db.tables_messaging import message_deliveries, relay_cursors
from turnout.adapters.db.tables_privacy import erasure_requests
from turnout.adapters.db.tables_sagas import saga_steps, sagas
from turnout.domain.privacy import ERASED_EMAIL_DOMAIN, BirthDateBand, ErasureRequest, ErasureStatus
from turnout.ports import PersonScan

ERASED: dict[str, Any] = {"erased": True}
FINISHED_DELIVERIES = ("delivered", "dead")
FINISHED_MESSAGES = ("done", "dead")
FINISHED_EMAILS = ("sent", "dead")
ENDED_IMPORTS = ("done", "failed")


class SqlPrivacyStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # --- retention ----------------------------------------------------------------------------------

    def prune(self, *, before: datetime, limit: int) -> dict[str, int]:
        counts = {
            "outbox": self._prune_outbox(before, limit),
            "message_deliveries": self._delete_keys(
                message_deliveries,
                ("message_id", "handler"),
                sa.and_(
                    message_deliveries.c.status.in_(FINISHED_MESSAGES),
                    message_deliveries.c.updated_at < before,
                ),
                limit,
            ),
        }
        counts.update(self._prune_deliveries(before, limit))
        counts["idempotency_keys"] = self._delete_keys(
            t.idempotency_keys, ("scope", "key"), t.idempotency_keys.c.created_at < before, limit
        )
        finished_jobs = sa.select(email_jobs.c.id).where(email_jobs.c.status.in_(FINISHED_EMAILS))
        counts["email_attempts"] = self._delete_keys(
            email_attempts,
            ("id",),
            sa.and_(email_attempts.c.finished_at < before, email_attempts.c.job_id.in_(finished_jobs)),
            limit,
        )
        ended = sa.select(import_jobs.c.id).where(
            import_jobs.c.status.in_(ENDED_IMPORTS), import_jobs.c.finished_at < before
        )
        counts["import_error_rows"] = self._delete_keys(
            import_error_rows, ("import_id", "row"), import_error_rows.c.import_id.in_(ended), limit
        )
        counts["import_errors"] = self._delete_keys(
            import_errors, ("id",), import_errors.c.import_id.in_(ended), limit
        )
        counts["registration_rate"] = self._delete_keys(
            registration_rate, ("client",), registration_rate.c.window_start < before, limit
        )
        return counts

    def _prune_outbox(self, before: datetime, limit: int) -> int:
        passed = self.conn.execute(sa.select(sa.func.min(relay_cursors.c.position))).scalar()
        if passed is None:  # no relay has run: nothing is known to be handled
            return 0
        waiting = sa.select(message_deliveries.c.message_id).where(message_deliveries.c.status == "pending")
        return self._delete_keys(
            t.outbox,
            ("seq",),
            sa.and_(
                t.outbox.c.seq <= passed,
                t.outbox.c.occurred_at < before,
                t.outbox.c.id.not_in(waiting),
            ),
            limit,
        )

    def _prune_deliveries(self, before: datetime, limit: int) -> dict[str, int]:
        awaited = (
            sa.select(saga_steps.c.delivery_id)
            .join(sagas, sagas.c.id == saga_steps.c.saga_id)
            .where(saga_steps.c.delivery_id.is_not(None), sagas.c.finished_at.is_(None))
        )
        ids = list(
            self.conn.execute(
                sa.select(outbound_deliveries.c.id)
                .where(
                    outbound_deliveries.c.status.in_(FINISHED_DELIVERIES),
                    outbound_deliveries.c.updated_at < before,
                    outbound_deliveries.c.id.not_in(awaited),
                )
                .order_by(outbound_deliveries.c.seq)
                .limit(limit)
            ).scalars()
        )
        if not ids:
            return {"outbound_deliveries": 0, "delivery_attempts": 0}
        attempts = self.conn.execute(
            sa.delete(delivery_attempts).where(delivery_attempts.c.delivery_id.in_(ids))
        ).rowcount
        deleted = self.conn.execute(
            sa.delete(outbound_deliveries).where(outbound_deliveries.c.id.in_(ids))
        ).rowcount
        return {"outbound_deliveries": deleted, "delivery_attempts": attempts}

    def _delete_keys(self, table: sa.Table, key: tuple[str, ...], where: Any, limit: int) -> int:
        """Delete at most ``limit`` rows matching ``where``, chosen by their key columns."""
        columns = [table.c[name] for name in key]
        rows = self.conn.execute(sa.select(*columns).where(where).limit(limit)).all()
        if not rows:
            return 0
        if len(columns) == 1:
            match: Any = columns[0].in_([row[0] for row in rows])
        else:
            match = sa.tuple_(*columns).in_([tuple(row) for row in rows])
        return int(self.conn.execute(sa.delete(table).where(match)).rowcount)

    # --- erasure ------------------------------------------------------------------------------------

    def erase_event(
        self, event_id: str, *, birth_date_bands: Sequence[BirthDateBand], now: datetime
    ) -> dict[str, int]:
        p = t.participants
        counts: dict[str, int] = {}
        for band in birth_date_bands:
            where = [p.c.event_id == event_id, p.c.birth_date.is_not(None)]
            if band.after is not None:
                where.append(p.c.birth_date > band.after)
            if band.up_to is not None:
                where.append(p.c.birth_date <= band.up_to)
            self.conn.execute(sa.update(p).where(*where).values(birth_date=band.stand_in))
        counts["participants"] = self.conn.execute(
            sa.update(p)
            .where(p.c.event_id == event_id)
            .values(
                name="",
                email=p.c.id.concat(ERASED_EMAIL_DOMAIN),  # as ``domain.privacy.erased_email``
                phone=None,
                organization=None,
                gender=None,
                custom_fields={},
                token=None,
                email_error=None,
                updated_at=now,
            )
        ).rowcount
        # the consent records stay (the proof the data was processed lawfully), without the guardian
        counts["participant_consents"] = self.conn.execute(
            sa.update(participant_consents)
            .where(participant_consents.c.event_id == event_id)
            .values(guardian_name=None, guardian_contact=None)
        ).rowcount
        counts["email_jobs"] = self.conn.execute(
            sa.update(email_jobs)
            .where(email_jobs.c.event_id == event_id)
            .values(to_address="erased@erased.invalid", subject=None, last_error=None)
        ).rowcount
        counts["email_attempts"] = self.conn.execute(
            sa.update(email_attempts)
            .where(
                email_attempts.c.job_id.in_(
                    sa.select(email_jobs.c.id).where(email_jobs.c.event_id == event_id)
                )
            )
            .values(error=None)
        ).rowcount
        counts["scans"] = self.conn.execute(
            sa.update(scans).where(scans.c.event_id == event_id).values(device={}, location={}, metadata={})
        ).rowcount
        counts["ticket_revocations"] = self.conn.execute(
            sa.update(ticket_revocations)
            .where(ticket_revocations.c.event_id == event_id)
            .values(token=sa.literal("erased:").concat(sa.cast(ticket_revocations.c.id, sa.String)))
        ).rowcount
        counts.update(self._erase_messages(event_id))
        finished = outbound_deliveries.c.status.in_(FINISHED_DELIVERIES)
        of_event = outbound_deliveries.c.event_id == event_id
        counts["delivery_attempts"] = self.conn.execute(
            sa.update(delivery_attempts)
            .where(
                delivery_attempts.c.delivery_id.in_(
                    sa.select(outbound_deliveries.c.id).where(of_event, finished)
                )
            )
            .values(error=None)
        ).rowcount
        counts["outbound_deliveries"] = self.conn.execute(
            sa.update(outbound_deliveries).where(of_event, finished).values(payload=ERASED, last_error=None)
        ).rowcount
        counts["audit_log"] = self.conn.execute(
            sa.update(t.audit_log).where(t.audit_log.c.event_id == event_id).values(data=ERASED)
        ).rowcount
        counts["sagas"] = self.conn.execute(
            sa.update(sagas)
            .where(sagas.c.event_id == event_id, sagas.c.finished_at.is_not(None))
            .values(data=ERASED, error=None)
        ).rowcount
        imports = sa.select(import_jobs.c.id).where(import_jobs.c.event_id == event_id)
        counts["import_error_rows"] = self.conn.execute(
            sa.delete(import_error_rows).where(import_error_rows.c.import_id.in_(imports))
        ).rowcount
        counts["import_errors"] = self.conn.execute(
            sa.update(import_errors)
            .where(import_errors.c.import_id.in_(imports))
            .values(value=None, params={})
        ).rowcount
        return {name: int(n) for name, n in counts.items()}

    def _erase_messages(self, event_id: str) -> dict[str, int]:
        """The event's facts (keyed by its id) that every relay cursor has passed are deleted, with
        their finished deliveries; facts still to be handled stay for their handlers."""
        return self._erase_facts(t.outbox.c.key == event_id)

    def _erase_facts(self, *where: sa.ColumnElement[bool]) -> dict[str, int]:
        """The facts matching ``where`` that every relay cursor has passed are deleted, with their
        finished deliveries; facts still to be handled stay for their handlers."""
        deliveries = self.conn.execute(
            sa.delete(message_deliveries).where(
                message_deliveries.c.message_id.in_(sa.select(t.outbox.c.id).where(*where)),
                message_deliveries.c.status.in_(FINISHED_MESSAGES),
            )
        ).rowcount
        passed = self.conn.execute(sa.select(sa.func.min(relay_cursors.c.position))).scalar()
        outbox = 0
        if passed is not None:
            waiting = sa.select(message_deliveries.c.message_id).where(
                message_deliveries.c.status == "pending"
            )
            outbox = self.conn.execute(
                sa.delete(t.outbox).where(*where, t.outbox.c.seq <= passed, t.outbox.c.id.not_in(waiting))
            ).rowcount
        return {"outbox": int(outbox), "message_deliveries": int(deliveries)}

    # --- one person ---------------------------------------------------------------------------------

    def erase_participant(
        self, participant_id: str, *, birth_date_bands: Sequence[BirthDateBand], now: datetime
    ) -> dict[str, int]:
        p = t.participants
        row = self.conn.execute(
            sa.select(p.c.event_id, p.c.birth_date).where(p.c.id == participant_id)
        ).first()
        if row is None:
            return {"participants": 0}
        event_id, born = row
        values: dict[str, Any] = {
            "name": "",
            "email": participant_id + ERASED_EMAIL_DOMAIN,  # as ``domain.privacy.erased_email``
            "phone": None,
            "organization": None,
            "gender": None,
            "custom_fields": {},
            "token": None,
            "email_error": None,
            "updated_at": now,
        }
        if born is not None:
            for band in birth_date_bands:
                if (band.after is None or born > band.after) and (band.up_to is None or born <= band.up_to):
                    values["birth_date"] = band.stand_in
                    break
        counts: dict[str, int] = {}
        counts["participants"] = self.conn.execute(
            sa.update(p).where(p.c.id == participant_id).values(**values)
        ).rowcount
        jobs = sa.select(email_jobs.c.id).where(email_jobs.c.participant_id == participant_id)
        counts["email_jobs"] = self.conn.execute(
            sa.update(email_jobs)
            .where(email_jobs.c.participant_id == participant_id)
            .values(to_address="erased@erased.invalid", subject=None, last_error=None)
        ).rowcount
        counts["email_attempts"] = self.conn.execute(
            sa.update(email_attempts).where(email_attempts.c.job_id.in_(jobs)).values(error=None)
        ).rowcount
        counts["scans"] = self.conn.execute(
            sa.update(scans)
            .where(scans.c.participant_id == participant_id)
            .values(device={}, location={}, metadata={})
        ).rowcount
        counts["ticket_revocations"] = self.conn.execute(
            sa.update(ticket_revocations)
            .where(ticket_revocations.c.participant_id == participant_id)
            .values(token=sa.literal("erased:").concat(sa.cast(ticket_revocations.c.id, sa.String)))
        ).rowcount
        mentions = f"%{participant_id}%"  # ids are random and unique: a copy naming this person
        counts.update(self._erase_person_messages(event_id, mentions))
        about = sa.and_(
            outbound_deliveries.c.event_id == event_id,
            outbound_deliveries.c.status.in_(FINISHED_DELIVERIES),
            sa.cast(outbound_deliveries.c.payload, sa.Text).like(mentions),
        )
        counts["delivery_attempts"] = self.conn.execute(
            sa.update(delivery_attempts)
            .where(delivery_attempts.c.delivery_id.in_(sa.select(outbound_deliveries.c.id).where(about)))
            .values(error=None)
        ).rowcount
        counts["outbound_deliveries"] = self.conn.execute(
            sa.update(outbound_deliveries).where(about).values(payload=ERASED, last_error=None)
        ).rowcount
        counts["audit_log"] = self.conn.execute(
            sa.update(t.audit_log)
            .where(
                t.audit_log.c.event_id == event_id,
                sa.or_(
                    t.audit_log.c.subject_id == participant_id,
                    sa.cast(t.audit_log.c.data, sa.Text).like(mentions),
                ),
            )
            .values(data=ERASED)
        ).rowcount
        counts["sagas"] = self.conn.execute(
            sa.update(sagas)
            .where(
                sagas.c.event_id == event_id,
                sagas.c.finished_at.is_not(None),
                sa.cast(sagas.c.data, sa.Text).like(mentions),
            )
            .values(data=ERASED, error=None)
        ).rowcount
        return {name: int(n) for name, n in counts.items()}

    def _erase_person_messages(self, event_id: str, mentions: str) -> dict[str, int]:
        """The event's facts naming the person that every relay cursor has passed are deleted, with
        their finished deliveries; facts still to be handled stay for their handlers."""
        return self._erase_facts(t.outbox.c.key == event_id, sa.cast(t.outbox.c.data, sa.Text).like(mentions))

    def scans_of(self, participant_id: str) -> list[PersonScan]:
        rows = self.conn.execute(
            sa.select(
                scans.c.occurred_at,
                scans.c.gate_id,
                t.gates.c.name,
                scans.c.method,
                scans.c.direction,
                scans.c.result,
                scans.c.code,
            )
            .select_from(scans.outerjoin(t.gates, t.gates.c.id == scans.c.gate_id))
            .where(scans.c.participant_id == participant_id)
            .order_by(scans.c.occurred_at, scans.c.id)
        ).all()
        return [PersonScan(*row) for row in rows]

    # --- erasure requests ---------------------------------------------------------------------------

    def add_erasure_request(self, request: ErasureRequest) -> None:
        self.conn.execute(sa.insert(erasure_requests).values(**_request_row(request)))

    def get_erasure_request(self, request_id: str, *, for_update: bool = False) -> ErasureRequest | None:
        query = sa.select(erasure_requests).where(erasure_requests.c.id == request_id)
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return _request(row) if row is not None else None

    def open_erasure_request(self, participant_id: str) -> ErasureRequest | None:
        row = (
            self.conn.execute(
                sa.select(erasure_requests)
                .where(
                    erasure_requests.c.participant_id == participant_id,
                    erasure_requests.c.status.in_(
                        [ErasureStatus.REQUESTED.value, ErasureStatus.APPROVED.value]
                    ),
                )
                .order_by(erasure_requests.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
        return _request(row) if row is not None else None

    def find_erasure_requests(
        self,
        event_id: str | None,
        *,
        status: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[ErasureRequest]:
        query = sa.select(erasure_requests)
        if event_id is not None:
            query = query.where(erasure_requests.c.event_id == event_id)
        if status is not None:
            query = query.where(erasure_requests.c.status == status)
        if after_id is not None:
            query = query.where(erasure_requests.c.id > after_id)
        rows = self.conn.execute(query.order_by(erasure_requests.c.id).limit(limit)).mappings().all()
        return [_request(row) for row in rows]

    def decide_erasure_request(self, request: ErasureRequest) -> None:
        self.conn.execute(
            sa.update(erasure_requests)
            .where(erasure_requests.c.id == request.id)
            .values(
                status=request.status.value,
                decided_at=request.decided_at,
                decided_by=request.decided_by,
                decision_note=request.decision_note,
            )
        )


def _request_row(request: ErasureRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "event_id": request.event_id,
        "participant_id": request.participant_id,
        "status": request.status.value,
        "reason": request.reason,
        "requested_at": request.requested_at,
        "decided_at": request.decided_at,
        "decided_by": request.decided_by,
        "decision_note": request.decision_note,
        "alert_id": request.alert_id,
    }


def _request(row: Any) -> ErasureRequest:
    return ErasureRequest(
        id=row["id"],
        event_id=row["event_id"],
        participant_id=row["participant_id"],
        status=ErasureStatus(row["status"]),
        reason=row["reason"],
        requested_at=row["requested_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        decision_note=row["decision_note"],
        alert_id=row["alert_id"],
    )
