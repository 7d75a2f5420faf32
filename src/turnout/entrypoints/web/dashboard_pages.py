"""The console's pages. The dashboard: live tiles and charts, the projector view, and crowd safety."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
