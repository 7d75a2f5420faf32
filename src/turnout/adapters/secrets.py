"""Integration secrets sealed at rest (Fernet, with a key derived from ``TURNOUT_SECRET_KEY`` by HKDF
under its own label), like the ticket keys: a copy of the database alone does not reveal them."""

from __future__ import annotations

from cryptography.fernet import Fernet

from turnout.adapters.signing import derived_fernet

_SALT = b"turnout-integration-secrets"


class FernetSealer:
    """``ports.Sealer``: ``seal`` gives a Fernet token (a fresh IV each time), ``open`` the secret back."""

    def __init__(self, secret_key: str) -> None:
        self._fernet: Fernet = derived_fernet(secret_key, salt=_SALT, info=b"integration-secret v1")

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret; raises ``cryptography.fernet.InvalidToken`` if ``sealed`` was sealed under
        another ``TURNOUT_SECRET_KEY`` or altered."""
        return self._fernet.decrypt(sealed.encode()).decode()
