"""The console's pages. Mail: the template editor per language with a preview, the sent-mail log,
failed mails with retry.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
