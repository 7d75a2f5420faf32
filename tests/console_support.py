"""Driving console pages as a browser does: sign in for a session cookie, read a page's CSRF token,
post its forms (with the ``Origin`` a browser sends)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi.testclient import TestClient

ORIGIN = {"Origin": "http://testserver"}


def sign_in(client: TestClient, key: str, lang: str = "en") -> None:
    """A session for ``key`` on ``client`` (any bearer header the client had is dropped)."""
    client.headers.pop("Authorization", None)
    answer = client.post(f"/signin?lang={lang}", data={"key": key}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found is not None, "the page has no CSRF token"
    return found.group(1)


def post_form(
    client: TestClient, path: str, data: dict[str, str] | list[tuple[str, str]], *, page: str | None = None
) -> object:
    """Post ``data`` to ``path`` with the CSRF token of ``page`` (a path; default: ``path`` itself)."""
    token = csrf_of(client.get(page or path).text)
    items = list(data.items()) if isinstance(data, dict) else list(data)
    # encoded here: httpx takes ``data=`` as a mapping only (a list of pairs, for an input sent
    # more than once, would go out as raw content)
    body = urlencode([*items, ("csrf_token", token)])
    headers = {**ORIGIN, "Content-Type": "application/x-www-form-urlencoded"}
    return client.post(path, content=body, headers=headers, follow_redirects=False)
