"""Test doubles for the delivery path: a reversible ``FakeSealer`` and a ``FakeAddressGuard`` that
refuses the hosts a test names."""

from __future__ import annotations

from urllib.parse import urlsplit

from turnout.domain.errors import FieldError
from turnout.domain.integrations import url_problem


class FakeSealer:
    PREFIX = "sealed:"

    def seal(self, secret: str) -> str:
        return self.PREFIX + secret[::-1]

    def open(self, sealed: str) -> str:
        if not sealed.startswith(self.PREFIX):
            raise ValueError("not sealed by this sealer")
        return sealed[len(self.PREFIX) :][::-1]


class FakeAddressGuard:
    def __init__(self, refused: set[str] | None = None) -> None:
        self.refused = refused or set()

    def problem(self, url: str) -> FieldError | None:
        if (found := url_problem(url)) is not None:
            return found
        if urlsplit(url).hostname in self.refused:
            return FieldError("url", "private_address", value=url)
        return None

    def check(self, url: str) -> tuple[FieldError | None, str | None]:
        return self.problem(url), None
