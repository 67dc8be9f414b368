"""Sessions of the web app: a person signs in once with an API key and the browser keeps a
signed cookie naming that key, instead of the key itself.

The cookie's value is `itsdangerous`'s timestamped signature (HMAC-SHA1 of a key derived from
the installation's signing secret with a salt of its own, so a media link's signature is never
a session's) over a small JSON object: the key's id and scope, and the session's CSRF token.
Nothing in it is secret but the token, which only this origin's pages ever see (the cookie is
HttpOnly). Whether the key is still active is the caller's question, asked on every request."""

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from offlinetube_api.security.keys import ApiKey, Scope

_SALT = "offlinetube-web-session"


@dataclass(frozen=True, slots=True)
class WebSession:
    """`csrf_token`: what every state-changing request of this session must carry."""

    key_id: str
    scope: Scope
    csrf_token: str

    def accepts(self, csrf_token: str | None) -> bool:
        """True when `csrf_token` is this session's, compared in constant time."""
        return csrf_token is not None and hmac.compare_digest(
            self.csrf_token.encode(), csrf_token.encode()
        )


class SessionSigner:
    """Issues and reads session cookies; `ttl_s`: seconds a session lasts from sign-in."""

    def __init__(self, secret: bytes, *, ttl_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.ttl_s = ttl_s

    def issue(self, key: ApiKey) -> str:
        """The cookie value of a new session of `key`, with a new CSRF token."""
        token = secrets.token_urlsafe(32)
        return str(self._serializer.dumps({"key": key.id, "scope": key.scope.value, "csrf": token}))

    def read(self, cookie: str) -> WebSession | None:
        """The session `cookie` holds; None when it is forged, altered, malformed or older than
        `ttl_s`."""
        try:
            payload: Any = self._serializer.loads(cookie, max_age=self.ttl_s)
            return WebSession(
                key_id=str(payload["key"]),
                scope=Scope(payload["scope"]),
                csrf_token=str(payload["csrf"]),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
