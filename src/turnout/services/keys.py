"""API keys: random, shown once, stored hashed, compared in constant time.

A key reads ``trn_<key id>_<secret>``. The key id finds the row; the SHA-256 of the secret is
compared with ``hmac.compare_digest``. The secret has 256 bits of entropy, so a fast hash is
enough (no password stretching is needed for random keys).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from turnout.domain.access import Principal, Role, validate_scope
from turnout.domain.errors import Unauthenticated
from turnout.ports import UnitOfWork, UnitOfWorkFactory
from turnout.services.events import get_event
from turnout.services.gates import get_gate

PREFIX = "trn"


@dataclass(frozen=True)
class IssuedKey:
    key: str
    principal: Principal


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    uow: UnitOfWork,
    *,
    actor: str,
    name: str,
    role: Role,
    event_id: str | None = None,
    gate_id: str | None = None,
) -> IssuedKey:
    validate_scope(role, event_id, gate_id)
    if event_id:
        get_event(uow, event_id=event_id)
    if gate_id:
        get_gate(uow, gate_id=gate_id, event_id=event_id)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    uow.api_keys.add(
        key_id=key_id,
        secret_hash=_hash(secret),
        name=name,
        role=role,
        event_id=event_id,
        gate_id=gate_id,
        now=uow.clock.now(),
    )
    uow.audit.record(
        actor=actor,
        action="key.created",
        subject_type="api_key",
        subject_id=key_id,
        event_id=event_id,
        data={"name": name, "role": role.value, "gate_id": gate_id},
    )
    principal = Principal(key_id=key_id, name=name, role=role, event_id=event_id, gate_id=gate_id)
    return IssuedKey(key=f"{PREFIX}_{key_id}_{secret}", principal=principal)


def parse_key(key: str) -> tuple[str, str] | None:
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


@dataclass(frozen=True, slots=True)
class _KnownKey:
    expires: float  # on the ``monotonic`` clock
    secret_hash: str
    principal: Principal


class KeyAuthenticator:
    """Checks bearer keys; remembers good ones for ``ttl`` seconds to spare the database on hot paths
    (a revoked key stops working within ``ttl``).

    Safe to share between threads: the cache is a plain dict whose single ``get``, assignment and
    ``pop`` are atomic; two threads missing the same key both read it and store the same answer."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        ttl: float = 5.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory = uow_factory
        self._ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[str, _KnownKey] = {}

    def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise Unauthenticated()
        parsed = parse_key(key)
        if parsed is None:
            raise Unauthenticated()
        key_id, secret = parsed
        digest = _hash(secret)
        now = self._monotonic()
        known = self._cache.get(key_id)
        if known is None or known.expires < now:
            with self._uow_factory(readonly=True) as uow:
                found = uow.api_keys.find(key_id)
            if found is None:
                raise Unauthenticated()
            stored_hash, principal = found
            known = _KnownKey(expires=now + self._ttl, secret_hash=stored_hash, principal=principal)
            self._cache[key_id] = known
        if not hmac.compare_digest(known.secret_hash, digest):
            raise Unauthenticated()
        return known.principal

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)
