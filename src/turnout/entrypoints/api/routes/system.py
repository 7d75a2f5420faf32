"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from turnout import __version__
from turnout.adapters.metrics import render as render_metrics
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.api.json_body import JsonRoute

router = APIRouter(tags=["system"], route_class=JsonRoute)

_HEALTH = b'{"status":"ok","version":"' + __version__.encode() + b'"}'


@router.get("/health")
async def health() -> Response:
    """Liveness: the process answers (no database work, no thread hop; the benchmark's ceiling)."""
    return Response(_HEALTH, media_type="application/json")


@router.get("/health/ready")
def ready(turnout: TurnoutDep) -> dict[str, str]:
    """Readiness: the database takes a query."""
    database = turnout.check_database()
    return {"status": "ok", "version": __version__, "database": database}


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    body, content_type = render_metrics()  # every process of the deployment under ``turnout serve``
    return Response(body, media_type=content_type)
