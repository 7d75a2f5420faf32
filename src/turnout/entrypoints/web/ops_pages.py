"""The console's pages. Integrations and operations: setup forms, test delivery, delivery retry, sagas,
alerts.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
