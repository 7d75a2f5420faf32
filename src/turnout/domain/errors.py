"""Typed refusals. Every refusal carries a stable ``code`` that the API returns and tests assert.

Messages are not built here: ``turnout.i18n`` renders a code and its params in Korean or English.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field (or CSV cell)."""

    field: str
    code: str
    params: dict[str, Any] = dc_field(default_factory=dict)
    value: Any = None
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "code": self.code}
        if self.row is not None:
            out["row"] = self.row
        if self.value is not None:
            out["value"] = self.value
        if self.params:
            out["params"] = self.params
        return out


class DomainError(Exception):
    """Base class of every refusal; ``code`` is stable, ``params`` fill the message."""

    code: str = "error"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        if code is not None:
            self.code = code
        self.params = params
        super().__init__(f"{self.code} {params}" if params else self.code)


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class ValidationFailed(DomainError):
    """Input refused field by field; ``errors`` lists every field at once."""

    code = "validation_failed"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(fields=[e.field for e in errors])


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class CsrfRefused(Forbidden):
    """A cookie-authenticated browser request without the session's CSRF token, or sent from
    another site (``Origin``)."""

    code = "csrf_failed"


class OriginRefused(Forbidden):
    code = "origin_refused"
