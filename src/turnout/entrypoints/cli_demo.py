"""``turnout demo``: a sample event with participants, gates and check-ins, to look around."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.panel import Panel

from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.domain.admission import Direction
from turnout.domain.events import EventStatus, GateDirection, ScanMethod

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = [
    "민준",
    "서연",
    "도윤",
    "하은",
    "시우",
    "지우",
    "예준",
    "수아",
    "주원",
    "지호",
    "서윤",
    "하준",
    "지민",
    "유진",
]
REGIONS = ["서울", "부산", "대구", "인천", "광주", "대전", "경기", "제주"]
ORGS = ["네이버", "카카오", "삼성전자", "LG CNS", "서울대학교", "KAIST", "스타트업", None]


def build_demo(turnout: Turnout, *, participants: int, seed: int) -> dict[str, Any]:
    from turnout.services.checkin import ScanInput
    from turnout.services.events import change_status, create_event
    from turnout.services.gates import create_gate
    from turnout.services.keys import create_key
    from turnout.services.registration import register_participant

    rng = random.Random(seed)
    now = turnout.clock.now()
    with turnout.uow() as uow:
        event = create_event(
            uow,
            actor="demo",
            name="Turnout 데모 컨퍼런스 2026",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=8),
            venue="코엑스 그랜드볼룸",
            capacity=participants * 2,
        )
        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="demo")
        main_gate = create_gate(
            uow, actor="demo", event_id=event.id, name="정문", direction=GateDirection.BOTH
        )
        east_gate = create_gate(
            uow,
            actor="demo",
            event_id=event.id,
            name="동문",
            direction=GateDirection.IN,
            methods=(ScanMethod.QR, ScanMethod.BLE),
        )
        staff = create_key(uow, actor="demo", name="데모 스태프", role=Role.STAFF, event_id=event.id)
        gate_key = create_key(
            uow, actor="demo", name="정문 스캐너", role=Role.GATE, event_id=event.id, gate_id=main_gate.id
        )
        uow.commit()

    people = []
    for index in range(participants):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        data = {
            "name": name,
            "email": f"demo{index:04d}@example.com",
            "phone": f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            "birth_date": f"{rng.randint(1965, 2008)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "region": rng.choice(REGIONS),
            "organization": rng.choice(ORGS),
            # the sample people agreed to the demo event's notice (required and optional items)
            "consents": {"required": True, "optional": True},
        }
        with turnout.uow() as uow:
            people.append(
                register_participant(
                    uow, tickets=turnout.tickets, event_id=event.id, data=data, source="api", actor="demo"
                )
            )
            uow.commit()

    with turnout.uow() as uow:
        change_status(uow, event_id=event.id, status=EventStatus.LIVE, actor="demo")
        uow.commit()

    checkin = turnout.checkin
    results: dict[str, int] = {}
    for person in people:
        if rng.random() > 0.7:
            continue
        gate = rng.choice([main_gate, east_gate])
        method = ScanMethod.QR if rng.random() < 0.85 else ScanMethod.BLE
        answer = checkin.scan(
            event_id=event.id,
            scan=ScanInput(gate_id=gate.id, method=method, token=person.token, direction=Direction.IN),
            actor="demo",
        )
        results[answer.result.value] = results.get(answer.result.value, 0) + 1
        if rng.random() < 0.15:  # some walk out again, some try twice
            answer = checkin.scan(
                event_id=event.id,
                scan=ScanInput(gate_id=main_gate.id, token=person.token, direction=Direction.OUT),
                actor="demo",
            )
            results[answer.result.value] = results.get(answer.result.value, 0) + 1
        elif rng.random() < 0.1:
            answer = checkin.scan(
                event_id=event.id,
                scan=ScanInput(gate_id=main_gate.id, token=person.token, direction=Direction.IN),
                actor="demo",
            )
            results[answer.result.value] = results.get(answer.result.value, 0) + 1
    base = turnout.settings.base_url
    return {
        "event_id": event.id,
        "participants": len(people),
        "scans": results,
        "staff_key": staff.key,
        "gate_key": gate_key.key,
        "dashboard": f"{base}/events/{event.id}/dashboard",
        "registration": f"{base}/events/{event.id}/register",
        "scanner": f"{base}/scan",
        "ticket_example": f"{base}/t/{people[0].token}" if people else None,
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        participants: Annotated[int, typer.Option(min=1, max=5000)] = 200,
        seed: Annotated[int, typer.Option()] = 2026,
        as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    ) -> None:
        """A sample event with participants, gates and check-ins, to look around."""
        from turnout.entrypoints.cli import cli_locale, column, out, run_service, t
        from turnout.i18n import label

        summary = run_service(
            as_json, lambda turnout: build_demo(turnout, participants=participants, seed=seed)
        )
        if as_json:
            print(json.dumps(summary, ensure_ascii=False))
            return
        locale = cli_locale()
        shown = {
            key: (
                " · ".join(f"{label('scan_result', k, locale)} {v}" for k, v in value.items())
                if isinstance(value, dict)
                else value
            )
            for key, value in summary.items()
        }
        lines = "\n".join(f"{column(key):>15}: {value}" for key, value in shown.items())
        out.print(Panel(lines, title=t("cli.demo.title")))
