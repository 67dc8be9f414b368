"""API keys with scopes, signed media URLs for tags that cannot send headers, and a service
that will not sit open on a network by accident."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from offlinetube_api.security.keys import Scope
from offlinetube_api.security.signing import MediaSigner
from tests.fixtures.keys import create_key, revoke_key, signing_secret_of
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.service_process import free_port
from tests.fixtures.site import FixtureSite

Keys = dict[Scope, dict[str, str]]


@pytest.fixture
def locked(make_service: ServiceFactory, site: FixtureSite) -> tuple[RunningService, Keys, str]:
    """A service with a finished download, then a key of each scope (so auth is on)."""
    service = make_service()
    task = service.download_and_wait(
        site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"))
    )
    keys = {
        scope: {"Authorization": f"Bearer {create_key(service.settings, scope)}"} for scope in Scope
    }
    wait_for_auth(service)
    return service, keys, task["id"]


def wait_for_auth(service: RunningService) -> None:
    """Keys made outside the service count within a second."""
    give_up = time.monotonic() + 5
    while service.client.get("/api/downloads").status_code != 401:
        assert time.monotonic() < give_up, "auth did not turn on after a key was created"
        time.sleep(0.05)


def _status(service: RunningService, method: str, path: str, **kwargs: Any) -> int:
    return service.client.request(method, path, **kwargs).status_code


def test_without_a_key_nothing_but_health_answers(
    locked: tuple[RunningService, Keys, str],
) -> None:
    service, _, task_id = locked
    filename = f"video__{task_id}.mp4"

    for method, path in [
        ("GET", "/api/downloads"),
        ("GET", f"/api/downloads/{task_id}"),
        ("POST", "/api/download"),
        ("POST", f"/api/downloads/{task_id}/cancel"),
        ("DELETE", f"/api/downloads/{task_id}/remove"),
        ("GET", f"/api/stream/{filename}"),
        ("GET", f"/api/thumbnails/{task_id}"),
        ("GET", f"/api/downloads/{task_id}/events"),
    ]:
        response = service.client.request(method, path, json={"url": "https://example.com/v"})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
    assert _status(service, "GET", "/api/health") == 200
    assert (service.settings.downloads_dir / filename).is_file()


def test_scopes_read_download_admin(
    locked: tuple[RunningService, Keys, str], site: FixtureSite
) -> None:
    service, keys, task_id = locked
    post = {"json": {"url": site.url("/plain"), "force": True}}

    assert _status(service, "GET", "/api/downloads", headers=keys[Scope.READ]) == 200
    assert _status(service, "POST", "/api/download", headers=keys[Scope.READ], **post) == 403
    assert _status(service, "POST", "/api/download", headers=keys[Scope.DOWNLOAD], **post) == 202
    remove = f"/api/downloads/{task_id}/remove"
    assert _status(service, "DELETE", remove, headers=keys[Scope.DOWNLOAD]) == 403
    assert _status(service, "DELETE", remove, headers=keys[Scope.ADMIN]) == 200


def test_x_api_key_header_works_and_bad_or_revoked_keys_do_not(
    locked: tuple[RunningService, Keys, str],
) -> None:
    service, keys, _ = locked
    text = keys[Scope.READ]["Authorization"].removeprefix("Bearer ")

    assert _status(service, "GET", "/api/downloads", headers={"X-API-Key": text}) == 200
    assert _status(service, "GET", "/api/downloads", headers={"X-API-Key": text + "x"}) == 401
    assert _status(service, "GET", "/api/downloads", headers={"X-API-Key": "otk_nope_nope"}) == 401
    revoke_key(service.settings, text.split("_")[1])
    assert _status(service, "GET", "/api/downloads", headers={"X-API-Key": text}) == 401


def test_listing_hands_out_signed_media_urls_that_work_without_a_header(
    locked: tuple[RunningService, Keys, str],
) -> None:
    service, keys, task_id = locked

    task = service.client.get(f"/api/downloads/{task_id}", headers=keys[Scope.READ]).json()

    for url, media_type in ((task["thumbnail"], "image/jpeg"), (task["stream_url"], "video/mp4")):
        query = parse_qs(urlsplit(url).query)
        assert set(query) == {"exp", "sig"}
        assert int(query["exp"][0]) > time.time()
        response = service.client.get(url)
        assert (response.status_code, response.headers["content-type"]) == (200, media_type)


def test_tampered_or_expired_signature_is_403(locked: tuple[RunningService, Keys, str]) -> None:
    service, keys, task_id = locked
    thumbnail = service.client.get(f"/api/downloads/{task_id}", headers=keys[Scope.READ]).json()[
        "thumbnail"
    ]
    other = thumbnail.replace(task_id, "00000000-0000-4000-8000-000000000000")
    secret = signing_secret_of(service.settings)
    expired = MediaSigner(secret, ttl_s=60).sign(
        f"/api/thumbnails/{task_id}", now=time.time() - 3600
    )

    assert _status(service, "GET", thumbnail[:-2] + "xx") == 403
    assert _status(service, "GET", other) == 403
    assert service.client.get(expired).json()["detail"].endswith("this link has expired")


def test_signed_link_to_a_missing_thumbnail_keeps_the_spanish_404(
    locked: tuple[RunningService, Keys, str],
) -> None:
    service, _, _ = locked
    secret = signing_secret_of(service.settings)
    missing = MediaSigner(secret, ttl_s=60).sign(
        "/api/thumbnails/00000000-0000-4000-8000-000000000000"
    )

    response = service.client.get(missing)

    assert (response.status_code, response.json()) == (404, {"detail": "Miniatura no encontrada"})


def test_open_service_hands_out_plain_urls(service: RunningService, site: FixtureSite) -> None:
    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))

    assert task["stream_url"] == f"/api/stream/video__{task['id']}.mp4"


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"OFFLINETUBE_DATA_DIR": str(tmp_path / "data")} | env
    return subprocess.run(
        [sys.executable, "-m", "offlinetube_api", *args],
        capture_output=True, text=True, timeout=60, env=environment, cwd=tmp_path,
    )  # fmt: skip


def test_keys_command_creates_lists_and_revokes(tmp_path: Path) -> None:
    created = _cli(
        tmp_path, "keys", "create", "--scope", "download", "--name", "laptop", "--create"
    )

    assert created.returncode == 0, created.stderr
    text = created.stdout.strip()
    key_id = text.split("_")[1]
    listing = _cli(tmp_path, "keys", "list").stdout
    assert key_id in listing and "laptop" in listing and "download" in listing
    assert text.split("_", 2)[2] not in listing, "the secret is shown once only"
    assert _cli(tmp_path, "keys", "revoke", key_id).returncode == 0
    assert "revoked" in _cli(tmp_path, "keys", "list").stdout
    assert _cli(tmp_path, "keys", "revoke", key_id).returncode != 0


def test_refuses_to_listen_on_a_network_address_with_no_key(tmp_path: Path) -> None:
    # A port of its own: 8001, the default, may be a service this machine runs (`make run`).
    refused = _cli(tmp_path, "serve", OFFLINETUBE_HOST="0.0.0.0", OFFLINETUBE_PORT=str(free_port()))

    assert refused.returncode != 0
    assert "OFFLINETUBE_AUTH=off" in refused.stderr
    assert "keys create" in refused.stderr


@pytest.mark.parametrize(
    ("origins", "credentials"), [("*", None), ("http://localhost:3000", "true")]
)
def test_credentials_are_allowed_only_with_named_origins(
    make_service: Callable[..., RunningService], origins: str, credentials: str | None
) -> None:
    service = make_service(cors_origins=origins)

    response = service.client.get("/api/health", headers={"Origin": "http://localhost:3000"})

    assert response.headers.get("access-control-allow-credentials") == credentials


# -- several replicas on one PostgreSQL database ----------------------------------------------


def test_a_key_made_with_the_command_line_works_on_every_replica_until_revoked(
    make_replica: ServiceFactory, tmp_path: Path
) -> None:
    # Keys required even once none is active, so that a revoked key is seen refused.
    replicas = [make_replica(auth="on"), make_replica(auth="on")]
    database = replicas[0].settings.database_url
    assert database is not None
    command = {"OFFLINETUBE_DATABASE_URL": database.get_secret_value()}
    made = _cli(tmp_path, "keys", "create", "--scope", "read", "--name", "everywhere", **command)
    assert made.returncode == 0, made.stderr
    key = {"Authorization": f"Bearer {made.stdout.strip()}"}

    for replica in replicas:
        assert _status(replica, "GET", "/api/downloads") == 401
        assert _status(replica, "GET", "/api/downloads", headers=key) == 200
    revoked = _cli(tmp_path, "keys", "revoke", made.stdout.split("_")[1], "--force", **command)
    assert revoked.returncode == 0, revoked.stderr

    # No waiting: every replica checks a presented key against the database.
    assert [_status(replica, "GET", "/api/downloads", headers=key) for replica in replicas] == [
        401,
        401,
    ]


def test_a_link_signed_by_one_replica_opens_on_another(
    make_replica: ServiceFactory, site: FixtureSite
) -> None:
    signer, other = make_replica(), make_replica()
    admin = {"Authorization": f"Bearer {create_key(signer.settings, Scope.ADMIN)}"}
    wait_for_auth(signer)
    wait_for_auth(other)
    page = site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"))
    posted = signer.client.post("/api/download", json={"url": page}, headers=admin).json()
    signer.client.headers.update(admin)
    task = signer.wait_for_status(posted["id"], "completed", "failed")
    assert task["status"] == "completed", task["error"]

    for url in (task["stream_url"], task["thumbnail"]):
        assert set(parse_qs(urlsplit(url).query)) == {"exp", "sig"}
        assert _status(other, "GET", url) == 200, url
    assert _status(other, "GET", task["stream_url"][:-2] + "xx") == 403
