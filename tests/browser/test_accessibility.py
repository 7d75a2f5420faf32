"""axe-core on every page, on a desktop and a phone: no serious or critical violation.

The pages are every GET page route of the app (as ``tests/e2e/test_korean_pages.py`` finds them:
not under ``/api``, not in the OpenAPI schema) less its ``EXCLUDED`` (images, downloads, Swagger),
plus the variants its ``PAGES`` lists (signed out, another key, a missing id: the error page), over a
seeded event (participants, gates, scans, mail sent and refused, an import with refused rows,
deliveries, a saga, an open alert). Signed in with the key ``PAGES`` names (else the admin key).
Every violation found (minor and moderate too) is written to ``test-results/<test>/axe.json`` and
each page's screenshot kept beside it. SQLite only: the database changes no page's markup (the
journey runs on both).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import LOCALE_OF, OpenContext, Server, Shot
from tests.browser.support import World, axe_violations, describe, failing, seed_world, sign_in, wired, words
from tests.e2e.test_korean_pages import EXCLUDED, PAGES
from turnout.entrypoints.api.app import create_app

PLACEHOLDER = re.compile(r"\{(\w+)(?::\w+)?\}")


def page_routes(app: FastAPI) -> set[str]:
    """Every GET page route: not under /api, not in the OpenAPI schema (included routers walked)."""

    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
        for route in routes:
            if hasattr(route, "original_router"):
                router = route.original_router
                yield from walk(router.routes, prefix + router.prefix)
            else:
                yield prefix, route

    found = {
        prefix + route.path
        for prefix, route in walk(app.routes)
        if "GET" in (getattr(route, "methods", None) or ())
        and getattr(route, "include_in_schema", True) is False
        and not (prefix + route.path).startswith("/api/")
    }
    assert {"/", "/scan", "/t/{token}"} <= found, found
    return found


def pages_to_check(server: Server) -> list[tuple[str, str | None]]:
    """(route, key role or None) for every page: PAGES' variants, then each other route as admin."""
    with wired(server) as turnout:
        routes = page_routes(create_app(turnout))
    listed = [(path, key) for path, key, _status in PAGES if route_of(path) in routes]  # in this build
    others = routes - {route_of(path) for path, _ in listed} - set(EXCLUDED)
    return listed + [(route, "admin") for route in sorted(others)]


def route_of(path: str) -> str:
    """A PAGES path's route (``{missing}`` is an id that is not there)."""
    return path.replace("{missing}", "{event_id}" if path.startswith("/events") else "{token}")


def slug(path: str, key: str | None) -> str:
    return (re.sub(r"[^\w]+", "-", path).strip("-") or "root") + f"--{key or 'signed-out'}"


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    return seed_world(server)


@pytest.mark.browser
def test_axe_reports_serious_and_critical_violations_when_a_page_has_them(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content('<html lang="en"><body><main><img src="x.png"><button></button></main></body></html>')
    impacts = {violation["id"]: violation["impact"] for violation in axe_violations(page)}
    page.close()
    assert impacts["image-alt"] == "critical"
    assert impacts["button-name"] == "critical"
    assert failing([{"id": "x", "impact": "moderate"}, {"id": "y", "impact": "serious"}]) == [
        {"id": "y", "impact": "serious"}
    ]


@pytest.mark.browser
@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_every_page_has_no_serious_or_critical_axe_violation(
    server: Server, world: World, open_context: OpenContext, device: str, shot: Shot, results_dir: Path
) -> None:
    locale = LOCALE_OF[device]
    values = world.fill()
    contexts: dict[str | None, Page] = {}
    found: dict[str, list[dict[str, Any]]] = {}
    unfilled: list[str] = []
    for route, key in pages_to_check(server):
        names = PLACEHOLDER.findall(route)
        if any(not values.get(name) for name in names):
            unfilled.append(route)
            continue
        path = PLACEHOLDER.sub(lambda m: values[m.group(1)], route)
        page = contexts.get(key) or signed_in_page(open_context(device), world, key, locale)
        contexts[key] = page
        response = page.goto(path)
        assert response is not None, path
        if not response.headers.get("content-type", "").startswith("text/html"):
            unfilled.append(f"{route}: not HTML ({response.headers.get('content-type')})")
            continue
        where = f"{route} [{key or 'signed out'}] {response.status}"
        found[where] = axe_violations(page)
        shot(page, slug(route, key))
    # a refused sign-in (the form again, with its error)
    page = contexts[None] if None in contexts else open_context(device).new_page()
    say = words(locale)
    page.goto("/")
    page.get_by_label(say("web.signin.key")).fill("trn_nope_nope")
    page.get_by_role("button", name=say("web.signin.submit")).click()
    found["POST /signin (refused)"] = axe_violations(page)
    (results_dir / "axe.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    bad = {where: failing(violations) for where, violations in found.items() if failing(violations)}
    report = "\n".join(f"{where}:\n{describe(violations)}" for where, violations in bad.items())
    assert not unfilled, f"pages not checked (add a value for their placeholders): {unfilled}"
    assert len(found) >= 10, sorted(found)
    assert not bad, f"serious or critical axe violations on {len(bad)} of {len(found)} pages:\n{report}"


def signed_in_page(context: BrowserContext, world: World, key: str | None, locale: str) -> Page:
    page = context.new_page()
    if key is not None:
        sign_in(page, world.keys[key], locale)
    return page
