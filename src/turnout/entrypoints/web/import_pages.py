"""The console's pages. Import: upload, preview and mapping, live progress, the summary and the refused
rows.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
