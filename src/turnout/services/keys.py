"""API keys: random, shown once, stored hashed, compared in constant time.

A key reads ``trn_<key id>_<secret>``. The key id finds the row; the SHA-256 of the secret is
compared with ``hmac.compare_digest``. The secret has 256 bits of entropy, so a fast hash is
enough (no password stretching is needed for random keys).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from turnout.adapters.db.uow import UnitOfWork
from turnout.domain.access import Principal, Role, validate_scope
from turnout.domain.errors import Unauthenticated
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


class KeyAuthenticator:
    """Checks bearer keys; remembers good ones for ``ttl`` seconds to spare the database on hot paths
    (a revoked key stops working within ``ttl``)."""

    def __init__(self, uow_factory: Callable[..., UnitOfWork], ttl: float = 5.0) -> None:
        self._uow_factory = uow_factory
        self._ttl = ttl
        self._cache: dict[str, tuple[float, str, Principal]] = {}
        self._lock = threading.Lock()

    def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise Unauthenticated()
        parsed = parse_key(key)
        if parsed is None:
            raise Unauthenticated()
        key_id, secret = parsed
        digest = _hash(secret)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is None or cached[0] < now:
            with self._uow_factory(readonly=True) as uow:
                found = uow.api_keys.find(key_id)
            if found is None:
                raise Unauthenticated()
            stored_hash, principal = found
            with self._lock:
                self._cache[key_id] = (now + self._ttl, stored_hash, principal)
        else:
            _, stored_hash, principal = cached
        if not hmac.compare_digest(stored_hash, digest):
            raise Unauthenticated()
        return principal

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._cache.pop(key_id, None)
