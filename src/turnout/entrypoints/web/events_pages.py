"""The console's pages. Events: the list, create and edit, lifecycle, and the event's own page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
