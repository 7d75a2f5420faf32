"""``SqlIntegrationStore`` and ``SqlOutboundStore``: ``ports.IntegrationStore`` and
``ports.OutboundStore`` over the unit of work's connection (tables: ``tables_integrations.py``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa

from turnout.adapters.db.participant_store import bulk_insert, db_datetime
from turnout.adapters.db.tables_integrations import (
    delivery_attempts,
    delivery_endpoints,
    integrations,
    outbound_deliveries,
)
from turnout.adapters.db.upsert import insert_for
from turnout.domain.ids import sequential_ids
from turnout.domain.integrations import (
    HALF_OPEN,
    OPEN,
    Breaker,
    BreakerPolicy,
    DeliveryStatus,
    Integration,
    IntegrationSystem,
    barrier_key,
)
from turnout.ports import DeliveryAttemptRecord, DeliveryRecord, DeliveryResult, DueDelivery, OutboundMessage

_C = integrations.c  # the integrations table's columns
_D = outbound_deliveries.c
_E = delivery_endpoints.c


def integration_from_row(row: Any) -> Integration:
    return Integration(
        event_id=row.event_id,
        system=IntegrationSystem(row.system),
        url=row.url,
        secret_sealed=row.secret_sealed,
        enabled=bool(row.enabled),
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlIntegrationStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def get(self, event_id: str, system: str) -> Integration | None:
        row = self.conn.execute(
            sa.select(integrations).where(_C.event_id == event_id, _C.system == system)
        ).first()
        return integration_from_row(row) if row else None

    def list_for_event(self, event_id: str) -> list[Integration]:
        rows = self.conn.execute(sa.select(integrations).where(_C.event_id == event_id).order_by(_C.system))
        return [integration_from_row(r) for r in rows]

    def put(self, integration: Integration) -> None:
        values = {
            "url": integration.url,
            "secret_sealed": integration.secret_sealed,
            "enabled": integration.enabled,
            "disabled_reason": integration.disabled_reason,
            "updated_at": integration.updated_at,
        }
        self.conn.execute(
            insert_for(self.conn, integrations)
            .values(
                event_id=integration.event_id,
                system=integration.system.value,
                created_at=integration.created_at,
                **values,
            )
            .on_conflict_do_update(index_elements=["event_id", "system"], set_=values)
        )

    def delete(self, event_id: str, system: str) -> bool:
        result = self.conn.execute(integrations.delete().where(_C.event_id == event_id, _C.system == system))
        return bool(result.rowcount)

    def disable(self, event_id: str, system: str, *, reason: str, now: datetime) -> bool:
        result = self.conn.execute(
            integrations.update()
            .where(
                _C.event_id == event_id,
                _C.system == system,
                _C.enabled.is_(True),
            )
            .values(enabled=False, disabled_reason=reason[:200], updated_at=now)
        )
        return bool(result.rowcount)

    def enabled_for(self, event_id: str) -> list[Integration]:
        rows = self.conn.execute(
            sa.select(integrations).where(_C.event_id == event_id, _C.enabled.is_(True)).order_by(_C.system)
        )
        return [integration_from_row(r) for r in rows]


class SqlOutboundStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def last_enqueued_at(self, event_id: str, system: str, message_type: str) -> datetime | None:
        d = outbound_deliveries.c
        return self.conn.execute(
            sa.select(d.created_at)
            .where(d.event_id == event_id, d.system == system, d.type == message_type)
            .order_by(d.seq.desc())
            .limit(1)
        ).scalar()

    def enqueue(self, messages: Sequence[OutboundMessage], *, now: datetime) -> list[str]:
        if not messages:
            return []
        ids = sequential_ids(len(messages))
        bulk_insert(  # straight through the driver: a handler enqueues one row per fact
            self.conn,
            outbound_deliveries,
            [
                {
                    "id": delivery_id,
                    "event_id": message.event_id,
                    "system": message.system,
                    "type": message.type,
                    "ordering_key": message.ordering_key,
                    "payload": message.payload,
                    "source_message_id": message.source_message_id,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "retry_until": message.retry_until,
                    "created_at": now,
                    "updated_at": now,
                }
                for delivery_id, message in zip(ids, messages, strict=True)
            ],
        )
        return ids

    # --- sending (``ports.DeliveryQueue``) -------------------------------------------------------

    def due(self, *, now: datetime, limit: int, breaker: BreakerPolicy) -> list[DueDelivery]:
        cooled = now - timedelta(seconds=breaker.cooldown_seconds)
        rows = self._candidates(now=now, cooled=cooled, limit=limit)
        kept = self._past_barriers(rows)
        if len(kept) < len(rows) == limit:
            # some wait behind a barrier (sync pages): read further, so that they do not crowd out
            # the deliveries of other events and systems
            kept = self._past_barriers(self._candidates(now=now, cooled=cooled, limit=limit * 4))[:limit]
        rows = kept
        found: list[DueDelivery] = []
        probes: set[tuple[str, str]] = set()
        for row in rows:
            endpoint = (row.event_id, row.system)
            probing = row.ep_state in (OPEN, HALF_OPEN)  # past its cooldown, or its probe's lease ended
            if probing:
                if endpoint in probes:
                    continue  # one probe at a time
                probes.add(endpoint)
            found.append(
                DueDelivery(
                    id=row.id,
                    seq=row.seq,
                    event_id=row.event_id,
                    system=row.system,
                    type=row.type,
                    payload_json=row.payload_json,
                    attempts=row.attempts,
                    created_at=row.created_at,
                    retry_until=row.retry_until,
                    url=row.url,
                    secret_sealed=row.secret_sealed,
                    probe=probing,
                )
            )
        return found

    def lease(
        self,
        deliveries: Sequence[DueDelivery],
        *,
        now: datetime,
        lease_seconds: float,
        worker: str,
        breaker: BreakerPolicy,
    ) -> list[DueDelivery]:
        if not deliveries:
            return []
        lease_until = now + timedelta(seconds=lease_seconds)
        cooled = now - timedelta(seconds=breaker.cooldown_seconds)
        lost_probes: set[str] = set()
        for probe in (d for d in deliveries if d.probe):
            taken = self.conn.execute(  # one probe at a time, whoever else is looking
                delivery_endpoints.update()
                .where(
                    _E.event_id == probe.event_id,
                    _E.system == probe.system,
                    sa.or_(
                        sa.and_(_E.state == OPEN, _E.opened_at <= cooled),
                        sa.and_(
                            _E.state == HALF_OPEN, sa.or_(_E.probe_until.is_(None), _E.probe_until <= now)
                        ),
                    ),
                )
                .values(state=HALF_OPEN, probe_until=lease_until, updated_at=now)
            )
            if not taken.rowcount:
                lost_probes.add(probe.id)
        wanted = [d.id for d in deliveries if d.id not in lost_probes]
        if not wanted:
            return []
        won = set(
            self.conn.execute(  # still due (no other worker leased it since it was read)
                outbound_deliveries.update()
                .where(
                    _D.id.in_(wanted),
                    sa.or_(
                        sa.and_(_D.status == DeliveryStatus.PENDING.value, _D.next_attempt_at <= now),
                        sa.and_(_D.status == DeliveryStatus.SENDING.value, _D.lease_until < now),
                    ),
                )
                .values(
                    status=DeliveryStatus.SENDING.value,
                    lease_until=lease_until,
                    leased_by=worker,
                    updated_at=now,
                )
                .returning(_D.id)
            ).scalars()
        )
        return [d for d in deliveries if d.id in won]

    def _candidates(self, *, now: datetime, cooled: datetime, limit: int) -> list[_Candidate]:
        """Sending ones whose lease ended, then pending ones that are due, each in the order they
        fell due: those to an enabled integration whose circuit lets them go, and each the first
        unfinished one of its ordering key."""
        rows = self._walk("sending", now=now, cooled=cooled, limit=limit)
        if len(rows) < limit:
            rows += self._walk("pending", now=now, cooled=cooled, limit=limit - len(rows))
        return rows

    def _walk(self, status: str, *, now: datetime, cooled: datetime, limit: int) -> list[_Candidate]:
        """Deliveries of ``status`` in the order they fell due, a page at a time through the
        (status, next_attempt_at, seq) index, until ``limit`` of them can go or
        ``_WALK_MOST`` were read. No read sorts or joins the whole queue (PostgreSQL did, for
        every claim, while it had no statistics of a new burst: 56 ms among 20,000), and the
        followers of a delivery that waits for its retry do not crowd out the rest."""
        kept: list[_Candidate] = []
        endpoints: dict[tuple[str, str], tuple[str, str, str | None] | None] = {}
        after: tuple[datetime, int] = (_EPOCH, -1)
        read = 0
        while len(kept) < limit and read < _WALK_MOST:
            page = list(
                self.conn.execute(
                    _due_page_statement(status),
                    {"now": now, "after_at": after[0], "after_seq": after[1], "page": _WALK_PAGE},
                )
            )
            if not page:
                break
            read += len(page)
            after = (page[-1].next_attempt_at, page[-1].seq)
            self._look_up_endpoints({(r.event_id, r.system) for r in page}, endpoints, now, cooled)
            going = [r for r in page if endpoints[(r.event_id, r.system)] is not None]
            firsts = self._firsts_of_keys(going)
            for r in going:
                if r.ordering_key is not None and firsts.get((r.event_id, r.system, r.ordering_key)) != r.seq:
                    continue  # an earlier one of its key is unfinished
                url, secret_sealed, ep_state = endpoints[(r.event_id, r.system)]  # type: ignore[misc]
                kept.append(_Candidate._make((*r[:10], url, secret_sealed, ep_state)))
                if len(kept) == limit:
                    break
            if len(page) < _WALK_PAGE:
                break
        return kept

    def _look_up_endpoints(
        self,
        pairs: set[tuple[str, str]],
        found: dict[tuple[str, str], tuple[str, str, str | None] | None],
        now: datetime,
        cooled: datetime,
    ) -> None:
        """Into ``found``, for each (event, system) of ``pairs`` not there yet: its integration's
        URL, sealed secret and circuit state, or None when it is disabled or its circuit holds."""
        wanted = pairs - found.keys()
        if not wanted:
            return
        found.update(dict.fromkeys(wanted))
        rows = self.conn.execute(
            _endpoints_statement(), {"events": sorted({e for e, _ in wanted}), "now": now, "cooled": cooled}
        )
        for row in rows:
            if (row.event_id, row.system) in wanted:
                found[(row.event_id, row.system)] = (row.url, row.secret_sealed, row.ep_state)

    def _firsts_of_keys(self, rows: Sequence[Any]) -> dict[tuple[str, str, str], int]:
        """For the ordering keys of ``rows``: the seq of each key's first unfinished delivery."""
        keyed = [r for r in rows if r.ordering_key is not None]
        if not keyed:
            return {}
        return {
            (event_id, system, key): int(first)
            for event_id, system, key, first in self.conn.execute(
                _firsts_of_keys_statement(),
                {
                    "events": sorted({r.event_id for r in keyed}),
                    "keys": sorted({r.ordering_key for r in keyed}),
                },
            )
        }

    def _past_barriers(self, rows: list[_Candidate]) -> list[_Candidate]:
        """``rows`` without those behind an unfinished barrier of their event and system, and
        without a barrier that has an earlier unfinished delivery of its event and system
        (``domain.integrations.barrier_key``). For each event and system in ``rows``, its first
        unfinished barrier (through the ordering index: a few rows); only where there is one, the
        first of all its unfinished deliveries (a pass over them, while a sync is being sent)."""
        if not rows:
            return rows
        unfinished = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
        barriers: dict[tuple[str, str], int] = {}
        for event_id, system in sorted({(r.event_id, r.system) for r in rows}):
            first = self.conn.execute(
                _first_barrier_statement(),
                {"event_id": event_id, "system": system, "key": barrier_key(event_id)},
            ).scalar()
            if first is not None:
                barriers[(event_id, system)] = int(first)
        if not barriers:
            return rows
        firsts = {
            (event_id, system): first_any
            for event_id, system, first_any in self.conn.execute(
                sa.select(_D.event_id, _D.system, sa.func.min(_D.seq))
                .where(_D.status.in_(unfinished), sa.tuple_(_D.event_id, _D.system).in_(sorted(barriers)))
                .group_by(_D.event_id, _D.system)
            )
        }
        kept = []
        for row in rows:
            first_barrier = barriers.get((row.event_id, row.system))
            if first_barrier is None:
                kept.append(row)
                continue
            if row.seq > first_barrier:
                continue  # behind a barrier
            if row.ordering_key == barrier_key(row.event_id) and row.seq != firsts.get(
                (row.event_id, row.system), row.seq
            ):
                continue  # a barrier waits for everything before it
            kept.append(row)
        return kept

    def record(
        self, results: Sequence[DeliveryResult], *, worker: str, breaker: BreakerPolicy
    ) -> list[DeliveryResult]:
        if not results:
            return []
        ours = sa.select(_D.id).where(
            _D.id.in_([r.delivery_id for r in results]),
            _D.leased_by == worker,
            _D.status == DeliveryStatus.SENDING.value,
        )
        if self.conn.dialect.name == "postgresql":  # no other worker takes them over meanwhile
            ours = ours.with_for_update()
        still_ours = set(self.conn.execute(ours).scalars())
        results = [r for r in results if r.delivery_id in still_ours]
        if not results:
            return []
        at = functools.partial(db_datetime, self.conn)
        mark = "%s" if self.conn.dialect.name == "postgresql" else "?"
        self.conn.exec_driver_sql(  # straight through the driver: one row per delivery
            f"UPDATE outbound_deliveries SET status = {mark}, attempts = {mark}, next_attempt_at = {mark}, "
            f"lease_until = NULL, leased_by = NULL, last_status_code = {mark}, last_error = {mark}, "
            f"updated_at = {mark}, delivered_at = {mark} "
            f"WHERE id = {mark} AND leased_by = {mark} AND status = 'sending'",
            [
                (
                    _STATUS_AFTER[r.outcome],
                    r.attempt,
                    at(r.next_attempt_at or r.finished_at),
                    r.status_code,
                    r.error,
                    at(r.finished_at),
                    at(r.finished_at) if r.outcome == "delivered" else None,
                    r.delivery_id,
                    worker,
                )
                for r in results
            ],
        )
        bulk_insert(
            self.conn,
            delivery_attempts,
            [
                {
                    "delivery_id": r.delivery_id,
                    "attempt": r.attempt,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "outcome": r.outcome,
                    "status_code": r.status_code,
                    "latency_ms": r.latency_ms,
                    "error": r.error,
                    "worker": worker,
                }
                for r in results
            ],
        )
        self._update_breakers(results, breaker)
        return results

    def _update_breakers(self, results: Sequence[DeliveryResult], policy: BreakerPolicy) -> None:
        touched = {(r.event_id, r.system) for r in results if r.endpoint_ok is not None}
        if not touched:
            return
        current = sa.select(delivery_endpoints).where(sa.tuple_(_E.event_id, _E.system).in_(sorted(touched)))
        if self.conn.dialect.name == "postgresql":  # read, count and write under one lock
            current = current.order_by(_E.event_id, _E.system).with_for_update()
        states = {(row.event_id, row.system): row for row in self.conn.execute(current)}
        breakers: dict[tuple[str, str], Breaker] = {}
        for key in touched:
            row = states.get(key)
            breakers[key] = Breaker(row.state, row.failures, row.opened_at) if row is not None else Breaker()
        for r in sorted(results, key=lambda r: r.finished_at):
            if r.endpoint_ok is None:
                continue
            key = (r.event_id, r.system)
            breakers[key] = breakers[key].after(ok=r.endpoint_ok, at=r.finished_at, policy=policy)
        now = max(r.finished_at for r in results)
        for (event_id, system), b in sorted(breakers.items()):  # one order: no deadlock between workers
            before = states.get((event_id, system))
            if before is None and b == Breaker():
                continue  # a healthy endpoint needs no row
            self._put_endpoint(
                event_id,
                system,
                state=b.state,
                failures=b.failures,
                opened_at=b.opened_at,
                probe_until=None,
                now=now,
            )

    def _put_endpoint(
        self,
        event_id: str,
        system: str,
        *,
        state: str,
        failures: int | None,
        opened_at: datetime | None,
        probe_until: datetime | None,
        now: datetime,
    ) -> None:
        values: dict[str, Any] = {"state": state, "probe_until": probe_until, "updated_at": now}
        if failures is not None:
            values |= {"failures": failures, "opened_at": opened_at}
        self.conn.execute(
            insert_for(self.conn, delivery_endpoints)
            .values(event_id=event_id, system=system, **({"failures": 0} | values))
            .on_conflict_do_update(index_elements=["event_id", "system"], set_=values)
        )

    def oldest_due(self, *, now: datetime) -> datetime | None:
        i = integrations
        found: datetime | None = self.conn.execute(
            sa.select(sa.func.min(_D.next_attempt_at))
            .select_from(
                outbound_deliveries.join(i, sa.and_(i.c.event_id == _D.event_id, i.c.system == _D.system))
            )
            .where(
                _D.status == DeliveryStatus.PENDING.value, _D.next_attempt_at <= now, i.c.enabled.is_(True)
            )
        ).scalar()
        return found

    # --- reading and retrying (``ports.DeliveryLog``) --------------------------------------------

    def get(self, delivery_id: str, *, with_attempts: bool = True) -> DeliveryRecord | None:
        row = self.conn.execute(sa.select(outbound_deliveries).where(_D.id == delivery_id)).first()
        if row is None:
            return None
        records = [_record(row, with_payload=True)]
        return self._with_attempts(records)[0] if with_attempts else records[0]

    def find_many(self, delivery_ids: Sequence[str]) -> dict[str, DeliveryRecord]:
        if not delivery_ids:
            return {}
        rows = self.conn.execute(
            sa.select(*[c for c in outbound_deliveries.c if c.name != "payload"]).where(
                _D.id.in_(list(delivery_ids))
            )
        )
        return {row.id: _record(row, with_payload=False) for row in rows}

    def list_for_event(
        self,
        event_id: str,
        *,
        system: str | None = None,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[DeliveryRecord]:
        query = sa.select(*[c for c in outbound_deliveries.c if c.name != "payload"]).where(
            _D.event_id == event_id
        )
        if system is not None:
            query = query.where(_D.system == system)
        if status is not None:
            query = query.where(_D.status == status)
        if before_seq is not None:
            query = query.where(_D.seq < before_seq)
        rows = self.conn.execute(query.order_by(_D.seq.desc()).limit(limit))
        return self._with_attempts([_record(row, with_payload=False) for row in rows])

    def _with_attempts(self, records: list[DeliveryRecord]) -> list[DeliveryRecord]:
        if not records:
            return records
        log: dict[str, list[DeliveryAttemptRecord]] = {}
        a = delivery_attempts.c
        for row in self.conn.execute(
            sa.select(delivery_attempts).where(a.delivery_id.in_([r.id for r in records])).order_by(a.id)
        ):
            log.setdefault(row.delivery_id, []).append(
                DeliveryAttemptRecord(
                    attempt=row.attempt,
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                    outcome=row.outcome,
                    status_code=row.status_code,
                    latency_ms=row.latency_ms,
                    error=row.error,
                )
            )
        return [replace(r, attempt_log=tuple(log.get(r.id, ()))) for r in records]

    def later_of_its_key(self, delivery_id: str) -> str | None:
        d, later = outbound_deliveries, outbound_deliveries.alias("later")
        found: str | None = self.conn.execute(
            sa.select(later.c.id)
            .select_from(
                d.join(
                    later,
                    sa.and_(
                        later.c.event_id == d.c.event_id,
                        later.c.system == d.c.system,
                        later.c.ordering_key == d.c.ordering_key,
                        later.c.seq > d.c.seq,
                    ),
                )
            )
            .where(d.c.id == delivery_id)
            .order_by(later.c.seq.desc())
            .limit(1)
        ).scalar()
        return found

    def retry(self, delivery_id: str, *, now: datetime, retry_until: datetime) -> bool:
        result = self.conn.execute(
            outbound_deliveries.update()
            .where(
                _D.id == delivery_id,
                _D.status.in_((DeliveryStatus.DELIVERED.value, DeliveryStatus.DEAD.value)),
            )
            .values(
                status=DeliveryStatus.PENDING.value,
                next_attempt_at=now,
                retry_until=retry_until,
                updated_at=now,
                delivered_at=None,
            )
        )
        return bool(result.rowcount)

    def give_up(self, delivery_id: str, *, now: datetime, reason: str) -> bool:
        result = self.conn.execute(
            outbound_deliveries.update()
            .where(_D.id == delivery_id, _D.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.DEAD.value, last_error=reason, updated_at=now)
        )
        return bool(result.rowcount)

    def counts(self, event_id: str) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for system, status, n in self.conn.execute(
            sa.select(_D.system, _D.status, sa.func.count())
            .where(_D.event_id == event_id)
            .group_by(_D.system, _D.status)
        ):
            found.setdefault(system, {})[status] = int(n)
        return found


_STATUS_AFTER = {
    "delivered": DeliveryStatus.DELIVERED.value,
    "failed": DeliveryStatus.PENDING.value,
    "dead": DeliveryStatus.DEAD.value,
}


def _record(row: Any, *, with_payload: bool) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        seq=row.seq,
        event_id=row.event_id,
        system=row.system,
        type=row.type,
        ordering_key=row.ordering_key,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
        payload=row.payload if with_payload else None,
    )


_WALK_PAGE = 256  # deliveries a claim reads at a time
_WALK_MOST = 20_000  # and at most in all (the rest wait for the next claim)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNFINISHED = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)


class _Candidate(NamedTuple):
    """A due delivery with its integration's URL and secret and its circuit's state."""

    id: str
    seq: int
    event_id: str
    system: str
    type: str
    ordering_key: str | None
    payload_json: str
    attempts: int
    created_at: datetime
    retry_until: datetime | None
    url: str
    secret_sealed: str
    ep_state: str | None


@functools.cache
def _due_page_statement(status: str) -> sa.Select[Any]:
    """A page of the claim's read (``status``: ``sending`` ones whose lease ended, or ``pending``
    ones that are due) after (``after_at``, ``after_seq``), in (next_attempt_at, seq) order;
    bound parameters ``now``, ``after_at``, ``after_seq`` and ``page``. Built once (building it
    each time cost more than running it on an idle queue)."""
    now = sa.bindparam("now", type_=_D.next_attempt_at.type)
    if status == DeliveryStatus.SENDING.value:
        where = (_D.status == DeliveryStatus.SENDING.value, _D.lease_until < now)
    else:
        where = (_D.status == DeliveryStatus.PENDING.value, _D.next_attempt_at <= now)
    after = sa.tuple_(
        sa.bindparam("after_at", type_=_D.next_attempt_at.type),
        sa.bindparam("after_seq", type_=sa.BigInteger),
    )
    return (
        sa.select(
            _D.id,
            _D.seq,
            _D.event_id,
            _D.system,
            _D.type,
            _D.ordering_key,
            sa.cast(_D.payload, sa.Text).label("payload_json"),
            _D.attempts,
            _D.created_at,
            _D.retry_until,
            _D.next_attempt_at,
        )
        .where(*where, sa.tuple_(_D.next_attempt_at, _D.seq) > after)
        .order_by(_D.next_attempt_at, _D.seq)
        .limit(sa.bindparam("page", type_=sa.Integer))
    )


@functools.cache
def _endpoints_statement() -> sa.Select[Any]:
    """The enabled integrations of the events ``events`` whose circuit lets a delivery go (closed,
    past its cooldown, or its probe's lease ended), with the circuit's state."""
    now = sa.bindparam("now", type_=_E.probe_until.type)
    cooled = sa.bindparam("cooled", type_=_E.opened_at.type)
    blocked = sa.or_(
        sa.and_(_E.state == OPEN, _E.opened_at > cooled),  # still cooling down
        sa.and_(_E.state == HALF_OPEN, _E.probe_until > now),  # a probe is out
    )
    return (
        sa.select(_C.event_id, _C.system, _C.url, _C.secret_sealed, _E.state.label("ep_state"))
        .select_from(
            integrations.outerjoin(
                delivery_endpoints, sa.and_(_E.event_id == _C.event_id, _E.system == _C.system)
            )
        )
        .where(
            _C.event_id.in_(sa.bindparam("events", expanding=True)),
            _C.enabled.is_(True),
            sa.or_(_E.state.is_(None), ~blocked),
        )
    )


@functools.cache
def _firsts_of_keys_statement() -> sa.Select[Any]:
    """The first unfinished delivery (its seq) of each ordering key ``keys`` of the events
    ``events``, per event and system: one grouped read (through the ordering index, or at worst
    one pass over the unfinished deliveries) rather than a question per due delivery (which
    PostgreSQL, without statistics of a new burst, answered by reading every earlier delivery
    of the system for each one: 46 s for one claim among 20,000)."""
    return (
        sa.select(_D.event_id, _D.system, _D.ordering_key, sa.func.min(_D.seq))
        .where(
            _D.status.in_(_UNFINISHED),
            _D.event_id.in_(sa.bindparam("events", expanding=True)),
            _D.ordering_key.in_(sa.bindparam("keys", expanding=True)),
        )
        .group_by(_D.event_id, _D.system, _D.ordering_key)
    )


@functools.cache
def _first_barrier_statement() -> sa.Select[Any]:
    """The first unfinished barrier of an event's deliveries to a system (bound parameters
    ``event_id``, ``system`` and ``key``, the barrier's ordering key)."""
    unfinished = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
    return sa.select(sa.func.min(_D.seq)).where(
        _D.event_id == sa.bindparam("event_id"),
        _D.system == sa.bindparam("system"),
        _D.ordering_key == sa.bindparam("key"),
        _D.status.in_(unfinished),
    )
