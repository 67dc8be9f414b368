"""The vendored scripts and styles (tools/vendor.py, `make vendor`) are the files each folder's
`VENDORED.json` records, from the npm registry, with their licence: the docs pages' in
offlinetube_api/api/docs_assets/, the web app's in offlinetube_api/web/static/vendor/."""

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tools.vendor import MANIFEST_NAME, PINNED, Pin

FOLDERS = sorted({pin.folder for pin in PINNED})


def manifest(folder: Path) -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads((folder / MANIFEST_NAME).read_text())
    return loaded


@pytest.mark.parametrize("pin", PINNED, ids=lambda pin: pin.name)
def test_vendored_files_are_the_ones_the_manifest_records(pin: Pin) -> None:
    entry = manifest(pin.folder)[pin.name]
    folder = pin.folder / f"{pin.name}-{entry['version']}"

    assert entry["version"] == pin.version
    assert {path.name for path in folder.iterdir()} == set(entry["files"])
    assert "LICENSE" in entry["files"]
    for file_name, digest in entry["files"].items():
        sha256 = hashlib.sha256((folder / file_name).read_bytes()).digest()
        assert digest == f"sha256-{base64.b64encode(sha256).decode()}", file_name
    assert entry["integrity"].startswith("sha512-")
    tarball = f"https://registry.npmjs.org/{pin.name}/-/{pin.name}-{entry['version']}.tgz"
    assert entry["tarball"] == tarball


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_vendored_folders_are_one_per_package(folder: Path) -> None:
    folders = {path.name for path in folder.iterdir() if path.is_dir()}

    assert folders == {f"{name}-{entry['version']}" for name, entry in manifest(folder).items()}


def test_the_web_app_has_htmx_2_0() -> None:
    (htmx,) = [pin for pin in PINNED if pin.name == "htmx.org"]

    assert htmx.version.startswith("2.0.")
