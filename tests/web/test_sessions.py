"""Signing in to the web app over plain HTTP while keys are required: the session cookie's
attributes, the CSRF token every form post of a session carries, scopes refused in words, the
API deaf to the cookie, and a session ended by sign-out, by its key's revocation or by time."""

import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from itsdangerous import TimestampSigner

from offlinetube_api.security.keys import Scope
from offlinetube_api.security.sessions import SessionSigner
from offlinetube_api.web.access import CSRF_REFUSED
from offlinetube_api.web.session_cookie import SESSION_COOKIE
from tests.fixtures.keys import active_keys, create_key, revoke_key, signing_secret_of
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

# The revocation test runs on both stores (the key table differs); the rest reads no store
# in a way of its own.
pytestmark = pytest.mark.stores("sqlite")

SIGN_IN = "/sign-in?next=%2F"


@pytest.fixture
def locked(make_service: ServiceFactory) -> RunningService:
    return make_service(auth="on")


SignIn = Callable[[RunningService, str], httpx.Client]


@pytest.fixture
def sign_in() -> Iterator[SignIn]:
    """Signs in with a key: a client of its own, holding the session's cookie."""
    clients: list[httpx.Client] = []

    def signed_in(service: RunningService, key: str) -> httpx.Client:
        client = httpx.Client(base_url=service.base_url, timeout=10)
        clients.append(client)
        response = client.post("/sign-in", data={"key": key, "next": "/"})
        assert (response.status_code, response.headers["location"]) == (303, "/")
        return client

    yield signed_in
    for client in clients:
        client.close()


def csrf_token(client: httpx.Client, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'"X-CSRF-Token": *"([^"]+)"', page.text)
    assert found, "no CSRF token in the page"
    return found.group(1)


def test_a_key_starts_a_session_in_a_strict_httponly_expiring_cookie(
    locked: RunningService,
) -> None:
    assert locked.client.get("/").status_code == 303
    assert locked.client.get("/").headers["location"] == SIGN_IN
    refused = locked.client.post("/sign-in", data={"key": "otk_nothing_here"})
    key = create_key(locked.settings, Scope.DOWNLOAD)

    response = locked.client.post("/sign-in", data={"key": key, "next": "https://evil.test/"})

    assert refused.status_code == 401
    assert "This key is not valid, or it has been revoked." in refused.text
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "Max-Age=43200", "Path=/", "SameSite=strict"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http here
    assert key not in cookie
    assert locked.client.get("/").status_code == 200


def test_the_cookie_is_secure_when_the_request_came_over_https(
    make_service: ServiceFactory,
) -> None:
    service = make_service(auth="on", forwarded_allow_ips="127.0.0.1")
    key = create_key(service.settings, Scope.READ)

    response = service.client.post(
        "/sign-in", data={"key": key}, headers={"X-Forwarded-Proto": "https"}
    )

    assert "Secure" in response.headers["set-cookie"]


def test_a_form_post_of_a_session_needs_its_csrf_token(
    locked: RunningService, site: FixtureSite, sign_in: SignIn
) -> None:
    client = sign_in(locked, create_key(locked.settings, Scope.DOWNLOAD))
    token = csrf_token(client)
    form = {"url": site.page_url(video=site.url("/media/clip.mp4"))}

    missing = client.post("/app/downloads", data=form)
    wrong = client.post("/app/downloads", data=form | {"csrf_token": token[:-2]})
    in_field = client.post("/app/downloads", data=form | {"csrf_token": token})
    in_header = client.post("/app/downloads", data=form, headers={"X-CSRF-Token": token})

    for refused in (missing, wrong):
        assert refused.status_code == 403
        assert CSRF_REFUSED.replace("'", "&#39;") in refused.text
    assert (in_field.status_code, in_header.status_code) == (303, 303)


def test_the_api_never_takes_the_cookie_for_a_key(
    locked: RunningService, site: FixtureSite, sign_in: SignIn
) -> None:
    client = sign_in(locked, create_key(locked.settings, Scope.ADMIN))
    token = csrf_token(client)

    listing = client.get("/api/downloads", headers={"X-CSRF-Token": token})
    started = client.post(
        "/api/download",
        json={"url": site.page_url(video=site.url("/media/clip.mp4"))},
        headers={"X-CSRF-Token": token},
    )

    assert (listing.status_code, started.status_code) == (401, 401)
    assert client.get("/").status_code == 200  # the session itself works


def test_a_read_key_sees_the_library_but_may_not_add(
    locked: RunningService, site: FixtureSite, sign_in: SignIn
) -> None:
    client = sign_in(locked, create_key(locked.settings, Scope.READ))
    token = csrf_token(client)

    added = client.post(
        "/app/downloads",
        data={"url": site.page_url(video=site.url("/media/clip.mp4")), "csrf_token": token},
    )

    assert client.get("/library").status_code == 200
    assert added.status_code == 403
    refusal = "You are signed in with a key of the read scope; to add downloads you need one"
    assert f"{refusal} of the download scope" in added.text


def test_signing_out_ends_the_session(locked: RunningService, sign_in: SignIn) -> None:
    client = sign_in(locked, create_key(locked.settings, Scope.READ))
    token = csrf_token(client)

    assert client.post("/sign-out").status_code == 403  # a sign-out needs the token too
    signed_out = client.post("/sign-out", data={"csrf_token": token})

    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/sign-in")
    assert "Max-Age=0" in signed_out.headers["set-cookie"]
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/").headers["location"] == SIGN_IN


@pytest.mark.stores("sqlite", "postgresql")
def test_revoking_the_key_ends_its_session_at_once(locked: RunningService, sign_in: SignIn) -> None:
    client = sign_in(locked, create_key(locked.settings, Scope.READ, name="phone"))
    assert client.get("/").status_code == 200
    (key,) = [key for key in active_keys(locked.settings) if key.name == "phone"]

    assert revoke_key(locked.settings, key.id)

    assert client.get("/").headers["location"] == SIGN_IN


def test_a_session_ends_after_its_time(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service(auth="on", session_ttl_seconds=3600)
    key = create_key(service.settings, Scope.READ)
    (made,) = active_keys(service.settings)
    signer = SessionSigner(signing_secret_of(service.settings), ttl_s=3600)
    fresh = signer.issue(made)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _: int(time.time()) - 3601)
    stale = signer.issue(made)
    monkeypatch.undo()

    def status(cookie: str) -> int:
        return service.client.get("/", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}).status_code

    assert key.startswith("otk_")
    assert status(fresh) == 200
    assert status(stale) == 303
