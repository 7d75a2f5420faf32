"""The vendored browser packages: pinned in package.json, locked, copied whole with their licences,
hashed in the manifest (docs/assets.md). No npm and no network: the committed files are checked."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import HTTPException

from turnout.entrypoints.web import assets
from turnout.entrypoints.web.assets import UnknownAsset, asset_integrity, asset_url, vendored_path

ROOT = Path(__file__).resolve().parents[2]
TEST_VENDOR = ROOT / "tests" / "vendor"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


PACKAGE = read_json(ROOT / "package.json")
LOCK = read_json(ROOT / "package-lock.json")
# (the packages package.json names, the folder they are vendored to): the served ones and the
# browser tests' own (axe-core), which is not served
VENDORED = [("dependencies", assets.VENDOR), ("devDependencies", TEST_VENDOR)]


def locked(package: str) -> str:
    version: str = LOCK["packages"][f"node_modules/{package}"]["version"]
    return version


def test_package_json_pins_exact_versions_that_the_lock_holds() -> None:
    assert PACKAGE["private"] is True
    assert "scripts" not in PACKAGE  # nothing runs from npm at install or run time
    for kind, _ in VENDORED:
        for package, wanted in PACKAGE[kind].items():
            assert wanted[0].isdigit(), (package, wanted)
            assert not any(mark in wanted for mark in "^~<>*x |"), (package, wanted)
            assert locked(package) == wanted, package
    assert LOCK["packages"][""]["dependencies"] == PACKAGE["dependencies"]


@pytest.mark.parametrize(("kind", "folder"), VENDORED)
def test_the_manifest_lists_exactly_the_packages_at_their_locked_versions(kind: str, folder: Path) -> None:
    manifest = read_json(folder / "manifest.json")["packages"]
    assert sorted(manifest) == sorted(PACKAGE[kind])
    for package, entry in manifest.items():
        assert entry["version"] == locked(package), package
        assert entry["files"], package


@pytest.mark.parametrize(("kind", "folder"), VENDORED)
def test_every_vendored_file_is_there_with_its_hash_and_licence(kind: str, folder: Path) -> None:
    for package, entry in read_json(folder / "manifest.json")["packages"].items():
        for name, integrity in entry["files"].items():
            path = folder / package / name
            assert path.is_file(), path
            assert sri(path) == integrity, f"{path} changed since make assets"
        licence = folder / package / entry["license"]
        assert licence.is_file(), package
        assert (
            "permission" in licence.read_text(encoding="utf-8").lower()
            or "license" in licence.read_text(encoding="utf-8").lower()
        ), package
        on_disk = {path.name for path in (folder / package).iterdir()}
        assert on_disk == {*entry["files"], entry["license"]}, package  # nothing unlisted, nothing stale


def test_the_served_manifest_is_the_one_the_helpers_read() -> None:
    assert assets.manifest() == read_json(assets.MANIFEST)["packages"]


def test_asset_url_carries_the_version_and_integrity_is_the_manifest_hash() -> None:
    version = locked("htmx.org")
    assert asset_url("htmx.org", "htmx.min.js") == f"/static/vendor/htmx.org@{version}/htmx.min.js"
    assert asset_integrity("htmx.org", "htmx.min.js") == sri(assets.VENDOR / "htmx.org" / "htmx.min.js")
    scoped = asset_url("@noble/ed25519", "index.js")
    assert scoped == f"/static/vendor/@noble/ed25519@{locked('@noble/ed25519')}/index.js"


def test_an_unvendored_package_or_file_is_a_loud_error() -> None:
    with pytest.raises(UnknownAsset):
        asset_url("left-pad", "index.js")
    with pytest.raises(UnknownAsset):
        asset_url("htmx.org", "htmx.js")
    with pytest.raises(UnknownAsset):
        asset_integrity("htmx.org", "LICENSE")  # a licence is linked, never loaded as a script


def test_a_versioned_path_maps_to_the_package_folder_and_another_version_is_not_found() -> None:
    version = locked("@noble/hashes")
    assert vendored_path(["@noble", f"hashes@{version}", "sha2.js"]) == "vendor/@noble/hashes/sha2.js"
    assert vendored_path([f"uplot@{locked('uplot')}", "LICENSE"]) == "vendor/uplot/LICENSE"
    assert vendored_path(["uplot", "uPlot.min.css"]) is None  # no version: a plain static path
    for parts in (
        ["uplot@0.0.1", "uPlot.min.css"],
        [f"uplot@{locked('uplot')}", "manifest.json"],
        [f"nothing@{locked('uplot')}", "uPlot.min.css"],
        ["@noble", "hashes@0.1.0", "sha2.js"],
    ):
        with pytest.raises(HTTPException) as refused:
            vendored_path(parts)
        assert refused.value.status_code == 404, parts


def test_the_noble_modules_import_only_each_other() -> None:
    """@noble/ed25519 and @noble/hashes' sha2 are served as plain ES modules: no bare import
    (``from "@noble/…"``) a browser could not resolve without a bundler or an import map."""
    import re

    for package in ("@noble/ed25519", "@noble/hashes"):
        folder = assets.VENDOR / package
        for name in assets.manifest()[package]["files"]:
            source = re.sub(r"/\*.*?\*/", "", (folder / name).read_text(encoding="utf-8"), flags=re.S)
            for target in re.findall(
                r"^\s*(?:import|export)[^'\"\n]*from\s*['\"]([^'\"]+)['\"]", source, re.M
            ):
                assert target.startswith("./"), (package, name, target)
                assert (folder / target[2:]).is_file(), (package, name, target)
