"""The web session cookie: what it names, and what is refused (forged, altered, expired)."""

import secrets
import time
from datetime import UTC, datetime

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from offlinetube_api.security.keys import ApiKey, Scope
from offlinetube_api.security.sessions import SessionSigner
from offlinetube_api.security.signing import MediaSigner

SECRET = secrets.token_bytes(32)
KEY = ApiKey("a1b2c3d4e5f6", "phone", Scope.DOWNLOAD, datetime.now(UTC), None)


def test_a_session_names_its_key_and_scope_and_a_token_of_its_own() -> None:
    signer = SessionSigner(SECRET, ttl_s=60)

    first, second = signer.read(signer.issue(KEY)), signer.read(signer.issue(KEY))

    assert first is not None and second is not None
    assert (first.key_id, first.scope) == (KEY.id, Scope.DOWNLOAD)
    assert first.csrf_token != second.csrf_token
    assert first.accepts(first.csrf_token)
    assert not first.accepts(second.csrf_token)
    assert not first.accepts(None)
    assert not first.accepts("é")


def test_an_altered_or_foreign_cookie_is_no_session() -> None:
    signer = SessionSigner(SECRET, ttl_s=60)
    cookie = signer.issue(KEY)
    payload = cookie.partition(".")[0]

    assert signer.read(cookie.replace(payload, payload[:-1] + "A")) is None
    assert SessionSigner(secrets.token_bytes(32), ttl_s=60).read(cookie) is None
    assert signer.read("") is None
    assert signer.read("not.a.cookie") is None
    # The same secret signs media links: a link's signature never makes a session.
    link = MediaSigner(SECRET, ttl_s=60).sign("/api/stream/x")
    assert signer.read(link.rpartition("sig=")[2]) is None


@pytest.mark.parametrize("payload", [["a"], {"key": "x", "scope": "root", "csrf": "t"}, {}])
def test_a_signed_cookie_of_the_wrong_shape_is_no_session(payload: object) -> None:
    signer = SessionSigner(SECRET, ttl_s=60)
    forged = URLSafeTimedSerializer(SECRET, salt="offlinetube-web-session").dumps(payload)

    assert signer.read(forged) is None


def test_a_session_ends_after_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = SessionSigner(SECRET, ttl_s=60)
    cookie = signer.issue(KEY)
    now = int(time.time())

    # The clock itsdangerous reads a signature's age with.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _: now + 59)
    assert signer.read(cookie) is not None
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _: now + 62)
    assert signer.read(cookie) is None
