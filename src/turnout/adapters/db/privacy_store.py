"""``ports.PrivacyStore`` over SQLAlchemy Core: retention pruning and a closed event's erasure.

Pruning deletes in bounded batches (``limit`` rows per table per call), so each transaction is
short; the caller repeats until nothing is left. Erasure is one transaction per event.
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
from turnout.adapters.db.tables_sagas import saga_steps, sagas
from turnout.domain.privacy import ERASED_EMAIL_DOMAIN, BirthDateBand

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
        passed = self.conn.execute(sa.select(sa.func.min(relay_cursors.c.position))).scalar()
        of_event = sa.select(t.outbox.c.id).where(t.outbox.c.key == event_id)
        deliveries = self.conn.execute(
            sa.delete(message_deliveries).where(
                message_deliveries.c.message_id.in_(of_event),
                message_deliveries.c.status.in_(FINISHED_MESSAGES),
            )
        ).rowcount
        outbox = 0
        if passed is not None:
            waiting = sa.select(message_deliveries.c.message_id).where(
                message_deliveries.c.status == "pending"
            )
            outbox = self.conn.execute(
                sa.delete(t.outbox).where(
                    t.outbox.c.key == event_id, t.outbox.c.seq <= passed, t.outbox.c.id.not_in(waiting)
                )
            ).rowcount
        return {"outbox": int(outbox), "message_deliveries": int(deliveries)}
