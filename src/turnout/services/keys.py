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
from dataclasses import dataclass, replace
from datetime import timedelta

import anyio.to_thread

from turnout.domain.access import Permission, Principal, Role, authorize, validate_scope
from turnout.domain.errors import FieldError, NotFound, Unauthenticated, ValidationFailed
from turnout.ports import KeyInfo, UnitOfWork, UnitOfWorkFactory
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


#: a key's name, at most (as the ``api_keys`` table holds it)
KEY_NAME_MAX = 200


def list_event_keys(uow: UnitOfWork, *, event_id: str) -> list[KeyInfo]:
    """The event's staff and gate keys, revoked ones too, oldest first (never their secrets)."""
    get_event(uow, event_id=event_id)
    return uow.api_keys.list_for_event(event_id)


def create_gate_key(
    uow: UnitOfWork, *, principal: Principal, event_id: str, gate_id: str, name: str
) -> IssuedKey:
    """A gate key for one of the event's gates, made by a key that manages the event (an admin, or
    the event's staff). The key is in the answer only: it is stored hashed."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    name = name.strip()
    errors: list[FieldError] = []
    if not name:
        errors.append(FieldError("name", "missing_field"))
    elif len(name) > KEY_NAME_MAX:
        errors.append(FieldError("name", "too_long", params={"max": KEY_NAME_MAX, "unit": "characters"}))
    if not gate_id:
        errors.append(FieldError("gate_id", "missing_field"))
    if errors:
        raise ValidationFailed(errors)
    return create_key(
        uow, actor=principal.actor, name=name, role=Role.GATE, event_id=event_id, gate_id=gate_id
    )


def get_event_key(uow: UnitOfWork, *, event_id: str, key_id: str) -> KeyInfo:
    """One of the event's keys (``key_not_found`` for a key of another event, or none)."""
    found = uow.api_keys.describe(key_id)
    if found is None or found.event_id != event_id:
        raise NotFound("key_not_found", key_id=key_id)
    return found


def revoke_key(uow: UnitOfWork, *, principal: Principal, event_id: str, key_id: str) -> KeyInfo:
    """Revoke one of the event's keys: a gate key by any key that manages the event, a staff key by
    an admin only (``keys.manage``). Revoking a revoked key changes nothing. The caller commits and
    then tells the authenticator to ``forget`` the key, so it stops at once in this process."""
    found = get_event_key(uow, event_id=event_id, key_id=key_id)
    needed = Permission.EVENT_MANAGE if found.role is Role.GATE else Permission.KEYS_MANAGE
    authorize(principal, needed, event_id=event_id)
    if found.revoked_at is not None:
        return found
    now = uow.clock.now()
    uow.api_keys.revoke(key_id, now=now)
    uow.audit.record(
        actor=principal.actor,
        action="key.revoked",
        subject_type="api_key",
        subject_id=key_id,
        event_id=event_id,
        data={"name": found.name, "role": found.role.value, "gate_id": found.gate_id},
    )
    return replace(found, revoked_at=now)


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


UNKNOWN_LIMIT = 10_000  # unknown ids remembered at most (a flood of random ids cannot grow memory)


class KeyAuthenticator:
    """Checks bearer keys and console sessions; remembers good ones for ``ttl`` seconds to spare the
    database on hot paths (a revoked key stops working within ``ttl``), and unknown key ids (and
    session ids) for ``unknown_ttl`` seconds, so a flood of made-up keys reads the database once per
    id at most, not once per request.

    ``authenticate`` may read the database: call it from a thread (FastAPI's plain dependencies run
    in the thread pool); in ``async`` code use ``authenticate_async``, which answers from the cache
    on the event loop and reads the database in a worker thread.

    Safe to share between threads: the caches are plain dicts whose single ``get``, assignment and
    ``pop`` are atomic; two threads missing the same key both read it and store the same answer."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        ttl: float = 5.0,
        *,
        unknown_ttl: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory = uow_factory
        self._ttl = ttl
        self._unknown_ttl = unknown_ttl
        self._monotonic = monotonic
        self._cache: dict[str, _KnownKey] = {}
        self._unknown: dict[str, float] = {}  # key id (or "session:" + hash) -> until (monotonic)

    def _cached(self, key: str | None) -> Principal | None:
        """The answer from the caches alone: the principal, ``Unauthenticated``, or None when the
        database must be asked."""
        if not key:
            raise Unauthenticated()
        parsed = parse_key(key)
        if parsed is None:
            raise Unauthenticated()
        key_id, secret = parsed
        now = self._monotonic()
        if self._unknown.get(key_id, 0.0) > now:
            raise Unauthenticated()
        known = self._cache.get(key_id)
        if known is None or known.expires < now:
            return None
        if not hmac.compare_digest(known.secret_hash, _hash(secret)):
            raise Unauthenticated()
        return known.principal

    def _remember_unknown(self, name: str, now: float) -> None:
        if len(self._unknown) >= UNKNOWN_LIMIT:
            for stale in [k for k, until in list(self._unknown.items()) if until <= now]:
                self._unknown.pop(stale, None)
            if len(self._unknown) >= UNKNOWN_LIMIT:
                self._unknown.clear()
        self._unknown[name] = now + self._unknown_ttl

    def authenticate(self, key: str | None) -> Principal:
        cached = self._cached(key)
        if cached is not None:
            return cached
        assert key is not None
        parsed = parse_key(key)
        assert parsed is not None
        key_id, secret = parsed
        now = self._monotonic()
        with self._uow_factory(readonly=True) as uow:
            found = uow.api_keys.find(key_id)
        if found is None:
            self._remember_unknown(key_id, now)
            raise Unauthenticated()
        stored_hash, principal = found
        self._cache[key_id] = _KnownKey(expires=now + self._ttl, secret_hash=stored_hash, principal=principal)
        if not hmac.compare_digest(stored_hash, _hash(secret)):
            raise Unauthenticated()
        return principal

    async def authenticate_async(self, key: str | None) -> Principal:
        """``authenticate`` without blocking the event loop: a cache answer at once, else the
        database read in a worker thread."""
        cached = self._cached(key)
        if cached is not None:
            return cached
        return await anyio.to_thread.run_sync(self.authenticate, key)

    def authenticate_session(self, token: str | None) -> Principal:
        """The principal of a console session's id (from its cookie): a session that exists, has not
        expired and whose key is not revoked. May read the database (call it from a thread)."""
        if not token or len(token) > 200:
            raise Unauthenticated()
        id_hash = _hash(token)
        name = f"session:{id_hash}"
        now = self._monotonic()
        if self._unknown.get(name, 0.0) > now:
            raise Unauthenticated()
        known = self._cache.get(name)
        if known is not None and known.expires >= now:
            return known.principal
        with self._uow_factory(readonly=True) as uow:
            found = uow.api_keys.find_session(id_hash, now=uow.clock.now())
        if found is None:
            self._remember_unknown(name, now)
            raise Unauthenticated()
        _expires_at, principal = found
        self._cache[name] = _KnownKey(expires=now + self._ttl, secret_hash=id_hash, principal=principal)
        return principal

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)
        self._unknown.pop(key_id, None)

    def forget_session(self, token: str) -> None:
        name = f"session:{_hash(token)}"
        self._cache.pop(name, None)
        self._unknown.pop(name, None)


# --- console sessions -------------------------------------------------------------------------------


def start_session(uow: UnitOfWork, *, principal: Principal, lifetime: timedelta) -> str:
    """A new console session for the key: a random id (returned once, for the cookie), stored as its
    SHA-256 with its expiry. Expired sessions are swept now and then. The caller commits."""
    token = secrets.token_urlsafe(32)
    now = uow.clock.now()
    uow.api_keys.add_session(
        id_hash=_hash(token), key_id=principal.key_id, now=now, expires_at=now + lifetime
    )
    if secrets.randbelow(50) == 0:
        uow.api_keys.delete_expired_sessions(now=now)
    return token


def end_session(uow: UnitOfWork, *, token: str) -> None:
    """Sign-out: the session is deleted. The caller commits."""
    uow.api_keys.delete_session(_hash(token))


def csrf_token(secret_key: str, session_token: str) -> str:
    """The CSRF token of a console session: an HMAC of its id under the site's secret key (bound to
    the session, nothing to store)."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret_key: str, session_token: str, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(csrf_token(secret_key, session_token), candidate or "")
