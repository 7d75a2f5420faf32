#!/usr/bin/env python3
"""Copy the browser assets Turnout serves itself from ``node_modules`` into the package.

Run by ``make assets`` after ``npm ci``; stdlib only. For each package of ``package.json``'s
``dependencies`` it copies the files listed in ``FILES`` (and the package's licence) to
``src/turnout/entrypoints/web/static/vendor/<package>/<file>`` and writes
``static/vendor/manifest.json``: each package's exact version (from ``package-lock.json``), its
files and each file's SRI hash (``sha384-<base64>``). The devDependencies the browser tests need
(axe-core) go the same way to ``tests/vendor/`` (not served, not in the wheel).

The copies are committed, so ``make run`` and CI need no npm and no network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
SERVED = ROOT / "src" / "turnout" / "entrypoints" / "web" / "static" / "vendor"
TEST_ONLY = ROOT / "tests" / "vendor"

#: package -> files (relative to the package's folder in node_modules) to vendor; the vendored
#: name is the file's base name. @noble/hashes: sha2.js and the modules it imports (relative
#: imports, so the four files side by side are a working ES module set).
FILES: dict[str, list[str]] = {
    "htmx.org": ["dist/htmx.min.js"],
    "uplot": ["dist/uPlot.iife.min.js", "dist/uPlot.min.css"],
    "jsqr": ["dist/jsQR.js"],
    "@noble/ed25519": ["index.js"],
    "@noble/hashes": ["sha2.js", "_md.js", "_u64.js", "utils.js"],
    "axe-core": ["axe.min.js"],
}
LICENSES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE")


def sri(path: Path) -> str:
    """The Subresource Integrity form of a file's SHA-384: ``sha384-<base64>``."""
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def locked_version(lock: dict[str, object], package: str) -> str:
    packages = lock["packages"]
    assert isinstance(packages, dict)
    entry = packages.get(f"node_modules/{package}")
    if not isinstance(entry, dict) or "version" not in entry:
        raise SystemExit(f"{package} is not in package-lock.json: run npm ci")
    return str(entry["version"])


def vendor(packages: list[str], lock: dict[str, object], target: Path) -> dict[str, object]:
    if target.exists():
        shutil.rmtree(target)
    manifest: dict[str, object] = {}
    for package in sorted(packages):
        if package not in FILES:
            raise SystemExit(f"{package}: say in FILES (scripts/vendor_assets.py) which files to vendor")
        source = NODE_MODULES / package
        version = locked_version(lock, package)
        installed = json.loads((source / "package.json").read_text(encoding="utf-8"))["version"]
        if installed != version:
            raise SystemExit(f"{package}: node_modules has {installed}, the lock {version}: run npm ci")
        folder = target / package
        folder.mkdir(parents=True)
        licence = next((name for name in LICENSES if (source / name).is_file()), None)
        if licence is None:
            raise SystemExit(f"{package}: no LICENSE file in node_modules/{package}")
        shutil.copyfile(source / licence, folder / "LICENSE")
        files: dict[str, str] = {}
        for relative in FILES[package]:
            name = Path(relative).name
            shutil.copyfile(source / relative, folder / name)
            files[name] = sri(folder / name)
        manifest[package] = {"version": version, "license": "LICENSE", "files": files}
    target.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"packages": manifest}, indent=2, sort_keys=True) + "\n"
    (target / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


def main() -> int:
    spec = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    served = vendor(list(spec.get("dependencies", {})), lock, SERVED)
    tests = vendor(list(spec.get("devDependencies", {})), lock, TEST_ONLY)
    for package, entry in {**served, **tests}.items():
        assert isinstance(entry, dict)
        print(f"{package}@{entry['version']}: {', '.join(entry['files'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
