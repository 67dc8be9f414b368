"""The System page over plain HTTP: the service's health for anyone who may see the pages, and
key management for an admin session only, with the command line's refusal to revoke the last
admin key."""

import re

import httpx
import pytest

from offlinetube_api.security.keys import Scope
from tests.fixtures.keys import active_keys, create_key
from tests.fixtures.service import RunningService, ServiceFactory

pytestmark = pytest.mark.stores("sqlite")


def admin_session(service: RunningService, key: str) -> tuple[httpx.Client, str]:
    """A client holding an admin session, and the session's CSRF token."""
    client = httpx.Client(base_url=service.base_url, timeout=10)
    assert client.post("/sign-in", data={"key": key}).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/system").text)
    assert token
    return client, token.group(1)


def test_the_system_page_shows_health_and_hides_keys_without_an_admin(
    service: RunningService,
) -> None:
    health = service.client.get("/api/health").json()

    page = service.client.get("/system")
    create = service.client.post("/app/keys", data={"name": "x", "scope": "read"})

    assert page.status_code == 200
    for fact in (health["version"], health["yt_dlp_version"], health["ffmpeg"]["path"]):
        assert fact in page.text
    assert health["js_runtime"]["name"] in page.text
    assert "not required" in page.text
    assert 'action="/app/keys"' not in page.text
    assert create.status_code == 403
    assert "Managing API keys needs a sign-in with an admin key." in create.text
    assert active_keys(service.settings) == []


def test_an_admin_session_manages_keys_but_keeps_the_last_admin_key(
    make_service: ServiceFactory,
) -> None:
    service = make_service(auth="on")
    (admin,) = [create_key(service.settings, Scope.ADMIN, name="me")]
    client, token = admin_session(service, admin)
    admin_id = admin.split("_")[1]

    nameless = client.post("/app/keys", data={"name": " ", "scope": "read", "csrf_token": token})
    made = client.post("/app/keys", data={"name": "tv", "scope": "read", "csrf_token": token})
    last = client.post(f"/app/keys/{admin_id}/revoke", data={"csrf_token": token})
    unknown = client.post("/app/keys/nope/revoke", data={"csrf_token": token})
    forged = client.post("/app/keys", data={"name": "tv", "scope": "admin"})

    assert nameless.status_code == 422
    assert "Give the key a name (1 to 100 characters)" in nameless.text
    assert (made.status_code, made.headers["cache-control"]) == (201, "no-store")
    assert re.search(r'<output id="new-key" class="secret">otk_\w+_[\w-]+</output>', made.text)
    assert last.status_code == 409
    assert f"Not revoked: {admin_id} is the last active admin key" in last.text
    assert unknown.status_code == 404
    assert forged.status_code == 403
    assert sorted(key.name for key in active_keys(service.settings)) == ["me", "tv"]
    client.close()
