"""Every path that writes facts stores the Fact class's own serialisation.

One scenario drives each writing path through the API (event created and its status changed, a gate
created, registration, a single scan, a bulk upload, an import with new and updated participants,
a reissue and a cancellation), then reads the outbox back. For every stored message:

* its type is a known Fact class, and its version and key are the class's;
* its payload is exactly ``Fact(**payload).data()`` (no field missing, none extra, none renamed,
  values in the class's JSON form);
* for the high-volume paths (scans, bulk uploads, imports) the payload is also the Fact that the
  stored rows describe (built here from the ``scans`` and ``participants`` rows), so a path that
  wrote a payload by hand could not drift from the class.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.fakes import FakeClock
from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.bootstrap import Turnout
from turnout.messages.base import Fact, fact_types
from turnout.messages.facts import AttendanceRecorded, ParticipantRegistered

EVERY_PATH = {
    "event.created",
    "event.status.changed",
    "gate.created",
    "participant.registered",
    "participant.updated",
    "attendance.recorded",
    "ticket.reissued",
    "participant.cancelled",
}


def _stored_messages(turnout: Turnout) -> list[Any]:
    with turnout.engine.connect() as conn:
        return list(conn.execute(sa.select(t.outbox).order_by(t.outbox.c.seq)))


def _register(client: TestClient, event_id: str, name: str, email: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/events/{event_id}/participants",
        json={
            "name": name,
            "email": email,
            "phone": "010-1234-5678",
            "birth_date": "1990-03-04",
            "consents": {"required": True, "optional": True},
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _drive_every_path(client: TestClient, turnout: Turnout, clock: FakeClock) -> None:
    response = client.post(
        "/api/v1/events",
        json={
            "name": "사실 검사",
            "starts_at": "2026-05-01T09:00:00+09:00",
            "ends_at": "2026-05-01T18:00:00+09:00",
            "min_age": 0,  # no age rule: the imported files have no birth dates
        },
    )
    assert response.status_code == 201, response.text
    event_id = response.json()["id"]
    response = client.post(f"/api/v1/events/{event_id}/gates", json={"name": "정문", "direction": "both"})
    assert response.status_code == 201, response.text
    gate_id = response.json()["id"]
    for status in ("open", "live"):
        assert client.post(f"/api/v1/events/{event_id}/status", json={"status": status}).status_code == 200

    first = _register(client, event_id, "홍길동", "hong@example.com")
    second = _register(client, event_id, "김철수", "kim@example.com")
    third = _register(client, event_id, "이영희", "lee@example.com")

    clock.set(datetime.fromisoformat("2026-05-01T10:00:00+09:00"))
    scan = client.post(
        f"/api/v1/events/{event_id}/attendance",
        json={"token": first["token"], "gate_id": gate_id, "method": "qr", "nonce": "scan-1"},
    )
    assert scan.json()["result"] == "admitted", scan.text
    entry = datetime.fromisoformat("2026-05-01T09:30:00+09:00")
    bulk = client.post(
        f"/api/v1/events/{event_id}/attendance/bulk",
        json={
            "records": [
                {
                    "token": second["token"],
                    "gate_id": gate_id,
                    "method": "qr",
                    "direction": "in",
                    "timestamp": entry.isoformat(),
                    "nonce": "bulk-1",
                },
                {
                    "participant_id": third["id"],
                    "gate_id": gate_id,
                    "method": "manual",
                    "direction": "in",
                    "timestamp": (entry + timedelta(minutes=1)).isoformat(),
                    "nonce": "bulk-2",
                },
                {
                    "token": second["token"],
                    "gate_id": gate_id,
                    "method": "qr",
                    "direction": "out",
                    "timestamp": (entry + timedelta(minutes=20)).isoformat(),
                    "nonce": "bulk-3",
                },
            ]
        },
    )
    assert bulk.json()["successful"] == 3, bulk.text

    csv_new = "이름,이메일,전화번호\n박민수,park@example.com,010-2222-3333\n최지우,choi@example.com,\n"
    csv_update = "이름,이메일,전화번호\n홍길동,hong@example.com,010-9999-8888\n"
    for content, on_duplicate in ((csv_new, "skip"), (csv_update, "update")):
        response = client.post(
            f"/api/v1/events/{event_id}/imports",
            files={"file": ("people.csv", content.encode(), "text/csv")},
            data={"on_duplicate": on_duplicate, "consent_basis": "collected_elsewhere"},
        )
        assert response.status_code == 202, response.text
        assert turnout.importer.run_pending() == 1

    assert client.post(f"/api/v1/participants/{second['id']}/reissue-ticket").status_code == 200
    assert client.post(f"/api/v1/participants/{third['id']}/cancel").status_code == 200


def _attendance_fact_from_rows(turnout: Turnout, attendance_id: str) -> dict[str, Any]:
    with turnout.engine.connect() as conn:
        row = conn.execute(sa.select(scans).where(scans.c.id == attendance_id)).one()
    return AttendanceRecorded(
        event_id=row.event_id,
        attendance_id=row.id,
        participant_id=row.participant_id,
        gate_id=row.gate_id,
        method=row.method,
        direction=row.direction,
        result=row.result,
        occurred_at=row.occurred_at.isoformat(),
        stay_seconds=row.stay_seconds,
    ).data()


def _registered_fact_from_rows(turnout: Turnout, participant_id: str) -> dict[str, Any]:
    with turnout.engine.connect() as conn:
        row = conn.execute(sa.select(t.participants).where(t.participants.c.id == participant_id)).one()
    return ParticipantRegistered(
        event_id=row.event_id, participant_id=row.id, source=row.source, import_id=row.import_id
    ).data()


def _same_moment(stored: dict[str, Any], expected: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payloads with ``occurred_at`` as instants: the fact says the time in the zone it was given
    in, the table gives it back in UTC."""
    return (
        {**stored, "occurred_at": datetime.fromisoformat(stored["occurred_at"])},
        {**expected, "occurred_at": datetime.fromisoformat(expected["occurred_at"])},
    )


def test_every_stored_payload_is_its_fact_class_serialisation_when_each_path_writes(
    client: TestClient, turnout: Turnout, clock: FakeClock
) -> None:
    _drive_every_path(client, turnout, clock)
    stored = _stored_messages(turnout)
    classes = fact_types()

    assert {row.type for row in stored} >= EVERY_PATH
    for row in stored:
        cls: type[Fact] = classes[row.type]
        fact = cls(**row.data)
        assert (row.version, row.key) == (cls.VERSION, fact.key), row.type
        assert row.data == fact.data(), row.type

    by_source: dict[str, int] = {}
    for row in stored:
        if row.type == "attendance.recorded":
            payload, described = _same_moment(
                row.data, _attendance_fact_from_rows(turnout, row.data["attendance_id"])
            )
            assert payload == described
        elif row.type == "participant.registered":
            assert row.data == _registered_fact_from_rows(turnout, row.data["participant_id"])
            by_source[row.data["source"]] = by_source.get(row.data["source"], 0) + 1
    assert sum(1 for row in stored if row.type == "attendance.recorded") == 4  # one scan, three bulk
    assert by_source == {"api": 3, "import": 2}
