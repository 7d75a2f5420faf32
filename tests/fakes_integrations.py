"""Fakes of the integration and outbound-delivery stores (``ports.IntegrationStore``,
``ports.OutboundStore``) over a ``FakeDatabase``; the store contract suite runs the same checks on
them and on the SQL stores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from turnout.domain.ids import sequential_ids
from turnout.domain.integrations import (
    HALF_OPEN,
    OPEN,
    Breaker,
    BreakerPolicy,
    DeliveryStatus,
    Integration,
    barrier_key,
)
from turnout.ports import DeliveryAttemptRecord, DeliveryRecord, DeliveryResult, DueDelivery, OutboundMessage

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase


class FakeIntegrationStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[tuple[str, str], Integration]:
        rows: dict[tuple[str, str], Integration] = self._db.table("integrations")
        return rows

    def get(self, event_id: str, system: str) -> Integration | None:
        return self._rows.get((event_id, system))

    def list_for_event(self, event_id: str) -> list[Integration]:
        return sorted(
            (i for i in self._rows.values() if i.event_id == event_id), key=lambda i: i.system.value
        )

    def put(self, integration: Integration) -> None:
        key = (integration.event_id, integration.system.value)
        before = self._rows.get(key)
        if before is not None:
            integration = replace(integration, created_at=before.created_at)
        self._rows[key] = integration

    def delete(self, event_id: str, system: str) -> bool:
        return self._rows.pop((event_id, system), None) is not None

    def disable(self, event_id: str, system: str, *, reason: str, now: datetime) -> bool:
        found = self._rows.get((event_id, system))
        if found is None or not found.enabled:
            return False
        self._rows[(event_id, system)] = replace(
            found, enabled=False, disabled_reason=reason[:200], updated_at=now
        )
        return True

    def enabled_for(self, event_id: str) -> list[Integration]:
        return [i for i in self.list_for_event(event_id) if i.enabled]


@dataclass
class FakeDelivery:
    """A stored outbound delivery as the fake keeps it."""

    seq: int
    id: str
    message: OutboundMessage
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any]
    lease_until: datetime | None = None
    leased_by: str | None = None
    retry_until: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    attempt_log: list[DeliveryAttemptRecord] = field(default_factory=list)


class FakeOutboundStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> list[FakeDelivery]:
        rows: list[FakeDelivery] = self._db.tables.setdefault("outbound_deliveries", [])
        return rows

    def last_enqueued_at(self, event_id: str, system: str, message_type: str) -> datetime | None:
        wanted = (event_id, system, message_type)
        found = [
            r.created_at
            for r in self._rows
            if (r.message.event_id, r.message.system, r.message.type) == wanted
        ]
        return found[-1] if found else None

    def enqueue(self, messages: Sequence[OutboundMessage], *, now: datetime) -> list[str]:
        ids = sequential_ids(len(messages))
        rows = self._rows
        for delivery_id, message in zip(ids, messages, strict=True):
            rows.append(
                FakeDelivery(
                    len(rows) + 1,
                    delivery_id,
                    message,
                    DeliveryStatus.PENDING,
                    0,
                    now,
                    now,
                    now,
                    {},
                    retry_until=message.retry_until,
                )
            )
        return ids

    # --- sending ---------------------------------------------------------------------------------

    @property
    def _breakers(self) -> dict[tuple[str, str], tuple[Breaker, datetime | None]]:
        """endpoint -> its breaker and, when half-open, its probe's lease."""
        found: dict[tuple[str, str], tuple[Breaker, datetime | None]] = self._db.table("delivery_endpoints")
        return found

    def _integration(self, event_id: str, system: str) -> Integration | None:
        rows: dict[tuple[str, str], Integration] = self._db.table("integrations")
        return rows.get((event_id, system))

    def _blocked(self, row: FakeDelivery) -> bool:
        """An earlier unfinished delivery of its key, or an earlier unfinished barrier of its event
        and system, or (for a barrier) any earlier unfinished delivery of its event and system."""
        m = row.message
        barrier = barrier_key(m.event_id)
        for other in self._rows:
            o = other.message
            if not (
                other.seq < row.seq
                and (o.event_id, o.system) == (m.event_id, m.system)
                and other.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
            ):
                continue
            if m.ordering_key == barrier or o.ordering_key == barrier:
                return True
            if m.ordering_key is not None and o.ordering_key == m.ordering_key:
                return True
        return False

    def due(self, *, now: datetime, limit: int, breaker: BreakerPolicy) -> list[DueDelivery]:
        expired = [
            r
            for r in self._rows
            if r.status == DeliveryStatus.SENDING and r.lease_until and r.lease_until < now
        ]
        pending = sorted(
            (r for r in self._rows if r.status == DeliveryStatus.PENDING and r.next_attempt_at <= now),
            key=lambda r: (r.next_attempt_at, r.seq),
        )
        found: list[DueDelivery] = []
        probes: set[tuple[str, str]] = set()
        for row in expired + pending:
            if len(found) >= limit:
                break
            m = row.message
            integration = self._integration(m.event_id, m.system)
            if integration is None or not integration.enabled or self._blocked(row):
                continue
            endpoint = (m.event_id, m.system)
            probing = self._probe_needed(endpoint, now, breaker)
            if probing is None:
                continue  # open and cooling down, or a probe is out
            if probing:
                if endpoint in probes:
                    continue
                probes.add(endpoint)
            found.append(
                DueDelivery(
                    id=row.id,
                    seq=row.seq,
                    event_id=m.event_id,
                    system=m.system,
                    type=m.type,
                    payload_json=json.dumps(m.payload, ensure_ascii=False),
                    attempts=row.attempts,
                    created_at=row.created_at,
                    retry_until=row.retry_until,
                    url=integration.url,
                    secret_sealed=integration.secret_sealed,
                    probe=probing,
                )
            )
        return found

    def _probe_needed(self, endpoint: tuple[str, str], now: datetime, breaker: BreakerPolicy) -> bool | None:
        """False: closed; True: a probe may go; None: nothing may go."""
        state, probe_until = self._breakers.get(endpoint, (Breaker(), None))
        if state.state == OPEN:
            assert state.opened_at is not None
            return None if state.opened_at > now - timedelta(seconds=breaker.cooldown_seconds) else True
        if state.state == HALF_OPEN:
            return None if probe_until is not None and probe_until > now else True
        return False

    def lease(
        self,
        deliveries: Sequence[DueDelivery],
        *,
        now: datetime,
        lease_seconds: float,
        worker: str,
        breaker: BreakerPolicy,
    ) -> list[DueDelivery]:
        lease_until = now + timedelta(seconds=lease_seconds)
        by_id = {r.id: r for r in self._rows}
        won: list[DueDelivery] = []
        for d in deliveries:
            endpoint = (d.event_id, d.system)
            if d.probe:
                if not self._probe_needed(endpoint, now, breaker):
                    continue
                state, _ = self._breakers[endpoint]
                self._breakers[endpoint] = (Breaker(HALF_OPEN, state.failures, state.opened_at), lease_until)
            row = by_id[d.id]
            still_due = (row.status == DeliveryStatus.PENDING and row.next_attempt_at <= now) or (
                row.status == DeliveryStatus.SENDING and row.lease_until is not None and row.lease_until < now
            )
            if not still_due:
                continue
            row.status, row.lease_until, row.leased_by, row.updated_at = (
                DeliveryStatus.SENDING,
                lease_until,
                worker,
                now,
            )
            won.append(d)
        return won

    def record(
        self, results: Sequence[DeliveryResult], *, worker: str, breaker: BreakerPolicy
    ) -> list[DeliveryResult]:
        by_id = {r.id: r for r in self._rows}
        kept: list[DeliveryResult] = []
        for result in sorted(results, key=lambda r: r.finished_at):
            row = by_id.get(result.delivery_id)
            if row is None or row.leased_by != worker or row.status != DeliveryStatus.SENDING:
                continue
            kept.append(result)
            row.status = {
                "delivered": DeliveryStatus.DELIVERED,
                "failed": DeliveryStatus.PENDING,
                "dead": DeliveryStatus.DEAD,
            }[result.outcome]
            row.attempts = result.attempt
            row.next_attempt_at = result.next_attempt_at or result.finished_at
            row.lease_until = row.leased_by = None
            row.last_status_code, row.last_error = result.status_code, result.error
            row.updated_at = result.finished_at
            row.delivered_at = result.finished_at if result.outcome == "delivered" else None
            row.attempt_log.append(
                DeliveryAttemptRecord(
                    attempt=result.attempt,
                    started_at=result.started_at,
                    finished_at=result.finished_at,
                    outcome=result.outcome,
                    status_code=result.status_code,
                    latency_ms=result.latency_ms,
                    error=result.error,
                )
            )
            if result.endpoint_ok is not None:
                endpoint = (result.event_id, result.system)
                state, _ = self._breakers.get(endpoint, (Breaker(), None))
                self._breakers[endpoint] = (
                    state.after(ok=result.endpoint_ok, at=result.finished_at, policy=breaker),
                    None,
                )
        return kept

    def oldest_due(self, *, now: datetime) -> datetime | None:
        due = [
            r.next_attempt_at
            for r in self._rows
            if r.status == DeliveryStatus.PENDING
            and r.next_attempt_at <= now
            and (i := self._integration(r.message.event_id, r.message.system)) is not None
            and i.enabled
        ]
        return min(due, default=None)

    # --- reading and retrying ----------------------------------------------------------------------

    def _record(self, row: FakeDelivery, *, with_payload: bool, with_attempts: bool = True) -> DeliveryRecord:
        m = row.message
        return DeliveryRecord(
            id=row.id,
            seq=row.seq,
            event_id=m.event_id,
            system=m.system,
            type=m.type,
            ordering_key=m.ordering_key,
            status=row.status.value,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            created_at=row.created_at,
            updated_at=row.updated_at,
            delivered_at=row.delivered_at,
            payload=m.payload if with_payload else None,
            attempt_log=tuple(row.attempt_log) if with_attempts else (),
        )

    def get(self, delivery_id: str, *, with_attempts: bool = True) -> DeliveryRecord | None:
        for row in self._rows:
            if row.id == delivery_id:
                return self._record(row, with_payload=True, with_attempts=with_attempts)
        return None

    def find_many(self, delivery_ids: Sequence[str]) -> dict[str, DeliveryRecord]:
        wanted = set(delivery_ids)
        return {
            row.id: self._record(row, with_payload=False, with_attempts=False)
            for row in self._rows
            if row.id in wanted
        }

    def list_for_event(
        self,
        event_id: str,
        *,
        system: str | None = None,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[DeliveryRecord]:
        rows = [
            r
            for r in reversed(self._rows)
            if r.message.event_id == event_id
            and (system is None or r.message.system == system)
            and (status is None or r.status.value == status)
            and (before_seq is None or r.seq < before_seq)
        ]
        return [self._record(r, with_payload=False) for r in rows[:limit]]

    def later_of_its_key(self, delivery_id: str) -> str | None:
        this = next((r for r in self._rows if r.id == delivery_id), None)
        if this is None or this.message.ordering_key is None:
            return None
        later = [
            r.id
            for r in self._rows
            if r.seq > this.seq
            and (r.message.event_id, r.message.system, r.message.ordering_key)
            == (this.message.event_id, this.message.system, this.message.ordering_key)
        ]
        return later[-1] if later else None

    def retry(self, delivery_id: str, *, now: datetime, retry_until: datetime) -> bool:
        for row in self._rows:
            if row.id == delivery_id and row.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
                row.status, row.next_attempt_at, row.retry_until = DeliveryStatus.PENDING, now, retry_until
                row.updated_at, row.delivered_at = now, None
                return True
        return False

    def give_up(self, delivery_id: str, *, now: datetime, reason: str) -> bool:
        for row in self._rows:
            if row.id == delivery_id and row.status is DeliveryStatus.PENDING:
                row.status, row.last_error, row.updated_at = DeliveryStatus.DEAD, reason, now
                return True
        return False

    def counts(self, event_id: str) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for r in self._rows:
            if r.message.event_id == event_id:
                per = found.setdefault(r.message.system, {})
                per[r.status.value] = per.get(r.status.value, 0) + 1
        return found
