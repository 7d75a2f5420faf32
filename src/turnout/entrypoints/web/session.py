"""Web sessions: the signed-in API key, sealed (Fernet, key derived from ``TURNOUT_SECRET_KEY``) in an
HttpOnly, SameSite=Strict cookie. Pages and the API accept it in place of ``Authorization: Bearer``."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "turnout_session"
MAX_AGE_SECONDS = 12 * 3600


class SessionSealer:
    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"turnout-web-session", info=b"v1").derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, api_key: str) -> str:
        return self._fernet.encrypt(api_key.encode()).decode()

    def open(self, cookie: str) -> str | None:
        try:
            return self._fernet.decrypt(cookie.encode(), ttl=MAX_AGE_SECONDS).decode()
        except (InvalidToken, ValueError):
            return None


class SessionMiddleware:
    """Puts the session's API key (if any) on ``request.state.session_key``."""

    def __init__(self, app: ASGIApp, sealer: SessionSealer) -> None:
        self.app = app
        self.sealer = sealer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            for name, value in scope.get("headers", ()):
                if name == b"cookie" and COOKIE.encode() in value:
                    for part in value.decode("latin-1").split(";"):
                        key, _, cookie = part.strip().partition("=")
                        if key == COOKIE and cookie:
                            state["session_key"] = self.sealer.open(cookie)
        await self.app(scope, receive, send)
