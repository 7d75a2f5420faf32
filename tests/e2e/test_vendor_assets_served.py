"""The vendored browser packages are served by Turnout itself, by versioned URL, cached for a year."""

from __future__ import annotations

import base64
import hashlib

import pytest
from fastapi.testclient import TestClient

from turnout.entrypoints.web.assets import IMMUTABLE, asset_integrity, asset_url, manifest
from turnout.entrypoints.web.templating import templates


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Static files do not touch the database: one (SQLite) is enough."""
    return sqlite_url


CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".wasm": "application/wasm",
}


def test_every_vendored_file_is_served_with_its_type_and_a_years_cache(app_client: TestClient) -> None:
    served = 0
    for package, entry in manifest().items():
        for name in entry["files"]:
            url = asset_url(package, name)
            response = app_client.get(url)
            assert response.status_code == 200, url
            suffix = name[name.rfind(".") :]
            assert response.headers["content-type"].split(";")[0] == CONTENT_TYPES[suffix], url
            assert response.headers["cache-control"] == IMMUTABLE, url
            assert response.headers["x-content-type-options"] == "nosniff"
            digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
            assert f"sha384-{digest}" == asset_integrity(package, name), url
            served += 1
        licence = app_client.get(asset_url(package, entry["license"]))
        assert licence.status_code == 200
    assert served >= 5


def test_another_version_of_a_vendored_package_is_not_found(app_client: TestClient) -> None:
    response = app_client.get("/static/vendor/htmx.org@1.0.0/htmx.min.js")
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("cache-control", "")
    assert app_client.get("/static/vendor/@noble/ed25519@0.0.0/index.js").status_code == 404


def test_the_page_scripts_keep_their_usual_caching(app_client: TestClient) -> None:
    response = app_client.get("/static/dashboard.js")
    assert response.status_code == 200
    assert "immutable" not in response.headers.get("cache-control", "")


def test_templates_have_the_asset_helpers() -> None:
    tag = templates.env.from_string(
        "<script src=\"{{ asset_url('htmx.org', 'htmx.min.js') }}\""
        " integrity=\"{{ asset_integrity('htmx.org', 'htmx.min.js') }}\"></script>"
    ).render()
    assert tag == (
        f'<script src="{asset_url("htmx.org", "htmx.min.js")}"'
        f' integrity="{asset_integrity("htmx.org", "htmx.min.js")}"></script>'
    )
