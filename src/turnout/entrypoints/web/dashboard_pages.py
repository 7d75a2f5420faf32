"""The console's dashboard: live tiles and charts (``/events/{id}/dashboard``), the projector view
(``?view=projector`` or ``/events/{id}/dashboard/projector``: large figures on a dark screen, no
menus) and crowd safety's gauges.

The page is rendered with this process's last statistics snapshot when there is a recent one
(``Statistics.peek``: an open dashboard or live stream keeps it fresh; readable without
JavaScript), else with placeholders: the page never reads the statistics itself, so it answers in
milliseconds whatever the event's size. Then ``static/dashboard.js`` follows the live stream
(``/api/v1/events/{id}/stats/live``, the same snapshot on every change) and moves the tiles, the
gauges and the uPlot charts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from turnout.domain.access import Permission
from turnout.domain.admission import DENIAL_CODES
from turnout.domain.crowd import AMBER_AT, RED_AT, CrowdLevel
from turnout.domain.events import ScanMethod
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.pages import console_page
from turnout.entrypoints.web.templating import format_local
from turnout.i18n import translate
from turnout.ports import EmailStatus

router = APIRouter(include_in_schema=False)

#: the tiles, in order (``attendance_rate`` is shown as a percentage)
TILES = ("registered", "checked_in", "inside", "denied", "cancelled", "scans", "attendance_rate")
#: the projector's figures
PROJECTOR_TILES = ("inside", "checked_in", "registered", "denied")


@router.get("/events/{event_id}/dashboard")
def dashboard(event_id: str, request: Request, turnout: TurnoutDep, view: str | None = None) -> Response:
    return _dashboard(event_id, request, turnout, projector=view == "projector")


@router.get("/events/{event_id}/dashboard/projector")
def projector(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    return _dashboard(event_id, request, turnout, projector=True)


def _dashboard(event_id: str, request: Request, turnout: TurnoutDep, *, projector: bool) -> Response:
    page = console_page(request, turnout, Permission.STATS_READ, event_id=event_id)
    assert page.event is not None
    numbers = turnout.statistics.peek(event_id=event_id)
    strings = dashboard_strings(page.locale)
    zone = page.event.timezone
    with turnout.uow(readonly=True) as uow:
        gate_names = {gate.id: gate.name for gate in uow.gates.list_for_event(event_id)}
    config = {
        "live_url": f"/api/v1/events/{event_id}/stats/live",
        "locale": page.locale,
        "timezone": zone,
        "projector": projector,
        "thresholds": {"amber": AMBER_AT, "red": RED_AT},
        "strings": strings,
        "gate_names": gate_names,
    }
    return page.render(
        "dashboard_projector.html" if projector else "dashboard.html",
        numbers=numbers,
        projector=projector,
        tiles=PROJECTOR_TILES if projector else TILES,
        crowd=[crowd_view(reading, strings) for reading in numbers["crowd"]] if numbers else [],
        tables=tables(numbers, strings, zone) if numbers else None,
        dashboard_config=config,
        dashboard_strings=strings,  # the old name, for templates that still use it
    )


def crowd_view(reading: dict[str, Any], strings: dict[str, Any]) -> dict[str, Any]:
    """A crowd reading as the gauge shows it (the same words ``dashboard.js`` uses live)."""
    level = reading["level"]
    ratio = reading["ratio"]
    area = (
        strings["gate_area"].replace("{name}", reading["name"]) if reading["name"] else strings["event_area"]
    )
    percent = None if ratio is None else round(100 * ratio, 1)
    if ratio is None:
        figure = strings["no_capacity"].replace("{inside}", str(reading["inside"]))
    else:
        figure = (
            strings["figure"]
            .replace("{inside}", str(reading["inside"]))
            .replace("{capacity}", str(reading["capacity"]))
            .replace("{percent}", f"{percent:.1f}")
        )
    return {
        **reading,
        "area_name": area,
        "percent": percent,
        "width": 0 if ratio is None else min(100.0, round(100 * ratio, 1)),
        "figure": figure,
        "level_text": strings["levels"].get(level or "", ""),
    }


def tables(numbers: dict[str, Any], strings: dict[str, Any], zone: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each chart's figures as rows (label, value…): the accessible table under the chart, and what
    a reader without JavaScript sees."""

    def at(moment: str) -> str:
        return format_local(datetime.fromisoformat(moment), zone, date=False)

    gates = numbers["by_gate"]
    return {
        "arrivals": [(at(row["at"]), row["admitted"]) for row in numbers["arrivals"]],
        "inside": [(at(row["at"]), row["inside"]) for row in numbers["inside_over_time"]],
        "by_gate": [
            (
                gate.get("name") or gate_id,
                gate.get("admitted", 0),
                gate.get("exited", 0),
                gate.get("denied", 0),
            )
            for gate_id, gate in gates.items()
        ],
        "by_method": [
            (strings["methods"].get(method, method), counts.get("admitted", 0), counts.get("denied", 0))
            for method, counts in numbers["by_method"].items()
        ],
        "denied": [
            (strings["denied_codes"].get(code, strings["denied_codes"]["denied"]), count)
            for code, count in sorted(numbers["denied_by_code"].items(), key=lambda item: -item[1])
        ],
    }


def dashboard_strings(locale: str) -> dict[str, Any]:
    """Every text the dashboard's script shows, from the catalogue (the page passes it as JSON)."""

    def t(code: str) -> str:
        return translate(code, locale)

    return {
        "denied": t("web.stat.denied"),
        "live_on": t("web.live.on"),
        "reconnecting": t("web.live.reconnecting"),
        "no_data": t("web.dash.no_data"),
        "methods": {m.value: t(f"web.method.{m.value}") for m in ScanMethod},
        "emails": {status: t(f"web.email_status.{status}") for status in ("none", *EmailStatus.ALL)},
        "denied_codes": {
            **{code: t(code) for code in DENIAL_CODES},
            "denied": t("web.dash.denied_other"),
        },
        "series": {
            "admitted": t("web.dash.admitted"),
            "exited": t("web.dash.exited"),
            "denied": t("web.dash.denied"),
            "inside": t("web.dash.inside_series"),
            "capacity": t("web.dash.capacity_series"),
        },
        "event_area": t("web.crowd.event_area"),
        "gate_area": translate("web.crowd.gate_area", locale, {"name": "{name}"}),
        "figure": translate(
            "web.crowd.figure",
            locale,
            {"inside": "{inside}", "capacity": "{capacity}", "percent": "{percent}"},
        ),
        "no_capacity": translate("web.crowd.no_capacity", locale, {"inside": "{inside}"}),
        "levels": {level.value: t(f"web.crowd.level.{level.value}") for level in CrowdLevel},
    }
