"""The console's pages. Gates and gate keys: list, create, edit; make a key (shown once, with a scanner
sign-in QR); revoke.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
