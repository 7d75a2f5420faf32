"""axe-core on every page, on a desktop and a phone: no serious or critical violation.

The pages are every GET page route of the app (as ``tests/e2e/test_korean_pages.py`` finds them:
not under ``/api``, not in the OpenAPI schema) but FastAPI's own (Swagger, ReDoc) and files (images,
downloads, htmx fragments: found by their answer), plus the variants ``PAGES`` there lists (signed
out, another key, a missing id: the error page), over a seeded event (participants, gates, scans,
mail sent and refused, an import with refused rows, deliveries, a saga, an open alert). Signed in
with the key ``PAGES`` names (else the admin key).
Every violation found (minor and moderate too) is written to ``test-results/<test>/axe.json``, with
a screenshot of each page that has one. On the phone, a page that scrolls sideways fails too.
SQLite only: the database changes no page's markup (the journey runs on both).
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
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import LOCALE_OF, OpenContext, Server, Shot
from tests.browser.support import (
    AXE,
    World,
    axe_violations,
    describe,
    failing,
    seed_world,
    sign_in,
    wired,
    words,
)
from tests.e2e.test_korean_pages import PAGES
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
    others = routes - {route_of(path) for path, _ in listed} - set(NOT_OURS)
    return listed + [(route, "admin") for route in sorted(others) if not A_FILE.search(route)]


#: page routes that are FastAPI's, not Turnout's (and load their scripts from a CDN)
NOT_OURS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
A_FILE = re.compile(r"\.(png|svg|csv|xlsx|json|txt)$")


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
    pages: dict[str | None, Page] = {}
    found: dict[str, list[dict[str, Any]]] = {}
    unchecked: list[str] = []
    too_wide: list[str] = []
    for route, key in pages_to_check(server):
        if route in CHECKED_ELSEWHERE:
            continue
        if any(not values.get(name) for name in PLACEHOLDER.findall(route)):
            unchecked.append(f"{route}: no value for its placeholders")
            continue
        if key not in pages:
            pages[key] = signed_in_page(open_context(device), world, key, locale)
        page = pages[key]
        try:
            response = page.goto(PLACEHOLDER.sub(lambda m: values[m.group(1)], route))
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                continue  # a download, not a page
            raise
        assert response is not None, route
        if not response.headers.get("content-type", "").startswith("text/html"):
            unchecked.append(f"{route}: not HTML ({response.headers.get('content-type')})")
            continue
        if not response.text().lstrip()[:15].lower().startswith("<!doctype html"):
            continue  # a fragment that htmx puts into a page: checked in its page
        where = f"{route} [{key or 'signed out'}] {response.status}"
        found[where] = axe_violations(page)
        if device == "phone" and page.evaluate(WIDER_THAN_SCREEN):
            too_wide.append(where)
        if found[where] or where in too_wide:  # the pages with something to look at
            shot(page, slug(route, key))
    # a refused sign-in: the form again, with its error
    page = pages[None] if None in pages else open_context(device).new_page()
    say = words(locale)
    page.goto("/")
    page.get_by_label(say("web.signin.key")).fill("trn_nope_nope")
    page.get_by_role("button", name=say("web.signin.submit")).click()
    found["POST /signin (refused)"] = axe_violations(page)

    (results_dir / "axe.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    bad = {where: failing(violations) for where, violations in found.items() if failing(violations)}
    report = "\n".join(f"{where}:\n{describe(violations)}" for where, violations in bad.items())
    assert not unchecked, f"pages not checked: {unchecked}"
    assert len(found) >= 10, sorted(found)
    assert not bad, f"serious or critical axe violations on {len(bad)} of {len(found)} pages:\n{report}"
    assert not too_wide, f"pages wider than a 390 px phone (the page scrolls sideways): {too_wide}"


#: the document scrolls sideways (a wide table belongs in a .table-wrap, which scrolls by itself)
WIDER_THAN_SCREEN = "() => document.documentElement.scrollWidth > window.innerWidth + 1"
#: page routes this test cannot reach by a GET with the seeded event, and where they are checked
CHECKED_ELSEWHERE = {
    "/events/{event_id}/import/uploads/{upload_id}": "test_journey: the preview of the file it uploads",
}


def signed_in_page(context: BrowserContext, world: World, key: str | None, locale: str) -> Page:
    # axe-core in every document of this context as an init script (the DevTools protocol adds it,
    # so the pages' CSP does not refuse it; compiled once, faster than evaluating it on each page)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    if key is not None:
        sign_in(page, world.keys[key], locale)
    return page
