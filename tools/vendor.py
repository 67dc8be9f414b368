"""`make vendor`: refreshes the scripts the service serves from npm packages, so its pages work
with no internet: Swagger UI and ReDoc for /docs and /redoc, htmx for the web app.

Each package is fetched at the version pinned in `PINNED`, as the tarball the registry's
metadata names, and refused unless its SHA-512 matches the metadata's `integrity`. The chosen
files, with the package's licence, land in `<its folder>/<name>-<version>/` (the version in the
folder name keeps every asset URL immutable): `offlinetube_api/api/docs_assets/` for the docs
pages, `offlinetube_api/web/static/vendor/` for the web app. `VENDORED.json` in each folder
records name, version, licence, tarball, integrity and each file's SHA-256, which
`tests/api/test_docs_pages.py` and `tests/web/test_vendored.py` check. Python's standard library
only: no Node, no npm.

To upgrade, change a version in `PINNED`, run `make vendor`, run the tests, commit the folder."""

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGISTRY = "https://registry.npmjs.org"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / "offlinetube_api"
DOCS_ASSETS_DIR = PACKAGE_DIR / "api" / "docs_assets"
WEB_ASSETS_DIR = PACKAGE_DIR / "web" / "static" / "vendor"
MANIFEST_NAME = "VENDORED.json"
TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class Pin:
    name: str
    version: str
    files: tuple[str, ...]  # paths inside the tarball's `package/`, each copied flat
    folder: Path = DOCS_ASSETS_DIR  # where its `<name>-<version>/` and manifest entry go


PINNED = (
    # FastAPI's own /docs page loads swagger-ui-dist@5 from a CDN: the same major version here.
    Pin(
        "swagger-ui-dist",
        "5.35.0",
        (
            "swagger-ui-bundle.js",
            "swagger-ui.css",
            "favicon-32x32.png",
            "LICENSE",
            "NOTICE",
            "swagger-ui-bundle.js.LICENSE.txt",
        ),
    ),
    # And redoc@2 for /redoc: the major version FastAPI's page is written for.
    Pin(
        "redoc",
        "2.5.4",
        ("bundles/redoc.standalone.js", "LICENSE", "bundles/redoc.standalone.js.LICENSE.txt"),
    ),
    # The web app's forms, buttons and fragments: the 2.0 line its markup is written for.
    Pin("htmx.org", "2.0.11", ("dist/htmx.min.js", "LICENSE"), WEB_ASSETS_DIR),
)


class IntegrityMismatch(Exception):
    """The tarball's digest is not the one the registry's metadata names."""


def sri_digest(data: bytes, algorithm: str = "sha256") -> str:
    """Subresource Integrity form, as npm writes it: `sha256-<base64 of the digest>`."""
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def folder_name(name: str, version: str) -> str:
    return f"{name}-{version}"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        body: bytes = response.read()
        return body


def _verified_tarball(metadata: dict[str, Any]) -> bytes:
    dist = metadata["dist"]
    tarball = _get(dist["tarball"])
    expected = dist["integrity"]
    actual = sri_digest(tarball, expected.split("-", 1)[0])
    if actual != expected:
        raise IntegrityMismatch(f"{dist['tarball']}: {actual}, the registry says {expected}")
    return tarball


def _extract(tarball: bytes, pin: Pin, into: Path) -> dict[str, str]:
    """Copies `pin.files` into `into`, flat; their SHA-256 by file name."""
    digests: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for path in pin.files:
            member = archive.extractfile(f"package/{path}")
            if member is None:
                raise FileNotFoundError(f"{pin.name}@{pin.version} has no file {path}")
            data = member.read()
            target = into / Path(path).name
            target.write_bytes(data)
            digests[target.name] = sri_digest(data)
    return digests


def vendor(pin: Pin) -> dict[str, Any]:
    """Fetches, checks and unpacks one package; its manifest entry."""
    metadata = json.loads(_get(f"{REGISTRY}/{pin.name}/{pin.version}"))
    tarball = _verified_tarball(metadata)
    for old in pin.folder.glob(f"{pin.name}-*"):
        shutil.rmtree(old)
    into = pin.folder / folder_name(pin.name, pin.version)
    into.mkdir(parents=True)
    return {
        "version": pin.version,
        "license": metadata["license"],
        "tarball": metadata["dist"]["tarball"],
        "integrity": metadata["dist"]["integrity"],
        "files": _extract(tarball, pin, into),
    }


def main() -> int:
    manifests: dict[Path, dict[str, Any]] = {}
    try:
        for pin in PINNED:
            manifests.setdefault(pin.folder, {})[pin.name] = vendor(pin)
    except (OSError, IntegrityMismatch) as error:
        print(f"make vendor: {error}", file=sys.stderr)
        return 1
    for folder, manifest in manifests.items():
        (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        for name, entry in manifest.items():
            print(f"{name} {entry['version']}: {len(entry['files'])} files, {entry['integrity']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
