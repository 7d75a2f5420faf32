"""Integration secrets sealed at rest (Fernet, with a key derived from ``TURNOUT_SECRET_KEY`` by HKDF
under its own label), like the ticket keys: a copy of the database alone does not reveal them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from turnout.adapters.db.tables_integrations import integrations
from turnout.adapters.db.tables_tickets import ticket_keys
from turnout.adapters.signing import KeyVault, derived_fernet
from turnout.domain.errors import DomainError

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


# --- rotation: `turnout secrets rotate` ------------------------------------------------------------


class SecretRotationError(DomainError):
    """``secret_key_unchanged`` (the old and the new key are the same), ``secret_key_mismatch``
    (some sealed secrets open under neither key: the old key given is not the one they were sealed
    with; nothing was changed)."""

    code = "secret_key_mismatch"


@dataclass(frozen=True, slots=True)
class Rotation:
    """What ``reseal_all`` did: secrets sealed again under the new key, and those found sealed
    under it already (a rotation run twice changes nothing the second time)."""

    ticket_keys: int
    integration_secrets: int
    already_new: int


def reseal_all(engine: sa.Engine, *, old_key: str, new_key: str) -> Rotation:
    """Seal every sealed secret again under ``new_key`` — the events' ticket signing keys
    (``ticket_keys.private_key_sealed``) and the integrations' webhook secrets
    (``integrations.secret_sealed``) — in one transaction: all or nothing.

    A secret that opens under ``new_key`` already is left alone; one that opens under neither key
    refuses the whole rotation (``secret_key_mismatch``, with where) and nothing is written. On
    PostgreSQL both tables are locked against writers for the transaction; SQLite's single writer
    does the same."""
    if old_key == new_key:
        raise SecretRotationError("secret_key_unchanged")
    old_vault, new_vault = KeyVault(old_key), KeyVault(new_key)
    old_sealer, new_sealer = FernetSealer(old_key), FernetSealer(new_key)
    resealed_keys = resealed_secrets = already = 0
    unreadable: list[str] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("LOCK TABLE ticket_keys, integrations IN EXCLUSIVE MODE"))
        keys = sa.select(ticket_keys.c.event_id, ticket_keys.c.private_key_sealed)
        for event_id, sealed in conn.execute(keys.order_by(ticket_keys.c.event_id)).all():
            try:
                pair = old_vault.open(sealed)
            except InvalidToken:
                if _opens(new_vault.open, sealed):
                    already += 1
                else:
                    unreadable.append(f"ticket_keys:{event_id}")
                continue
            conn.execute(
                ticket_keys.update()
                .where(ticket_keys.c.event_id == event_id)
                .values(private_key_sealed=new_vault.seal(pair.private))
            )
            resealed_keys += 1
        rows = conn.execute(
            sa.select(integrations.c.event_id, integrations.c.system, integrations.c.secret_sealed)
            .where(integrations.c.secret_sealed != "")
            .order_by(integrations.c.event_id, integrations.c.system)
        ).all()
        for event_id, system, sealed in rows:
            try:
                secret = old_sealer.open(sealed)
            except InvalidToken:
                if _opens(new_sealer.open, sealed):
                    already += 1
                else:
                    unreadable.append(f"integrations:{event_id}/{system}")
                continue
            conn.execute(
                integrations.update()
                .where(integrations.c.event_id == event_id, integrations.c.system == system)
                .values(secret_sealed=new_sealer.seal(secret))
            )
            resealed_secrets += 1
        if unreadable:
            raise SecretRotationError(  # rolls the transaction back
                "secret_key_mismatch", count=len(unreadable), first=unreadable[0]
            )
    return Rotation(ticket_keys=resealed_keys, integration_secrets=resealed_secrets, already_new=already)


def _opens(opener: Callable[[str], object], sealed: str) -> bool:
    try:
        opener(sealed)
    except InvalidToken:
        return False
    return True
