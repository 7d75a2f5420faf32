"""The console's pages. Participants: search, filters, paging, a detail page, add by hand, cancel,
resend, reissue, check in by hand, export.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
