"""Liveness and metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from turnout import __version__
from turnout.adapters.metrics import REGISTRY
from turnout.entrypoints.api.deps import TurnoutDep

router = APIRouter(tags=["system"])


@router.get("/health")
def health(turnout: TurnoutDep) -> dict[str, str]:
    """Liveness: the process answers and the database takes a query."""
    with turnout.uow(readonly=True) as uow:
        uow.conn.execute(sa.text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": turnout.dialect}


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
