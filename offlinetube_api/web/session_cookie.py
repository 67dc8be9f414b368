"""The web app's session on each request: the cookie read and its key checked active, the cookie
set at sign-in and cleared at sign-out.

Only the web app's own routes read the cookie. The API (`/api/*`) never does: API clients send a
key in a header on every request (see api/auth.py), and a cookie would let any page a signed-in
person visits drive the API through their browser."""

from typing import Annotated

from fastapi import Depends, Request, Response

from offlinetube_api.security.keys import ApiKey, KeyStore
from offlinetube_api.security.sessions import SessionSigner, WebSession

SESSION_COOKIE = "offlinetube_session"


class WebSessions:
    def __init__(self, signer: SessionSigner, keys: KeyStore) -> None:
        self._signer = signer
        self._keys = keys

    async def current(self, request: Request) -> WebSession | None:
        """The session the request's cookie holds, while its key is active: the key is read
        from the database on every request, as a key sent in a header is, so a key revoked on
        any host ends its sessions at once. Read once per request (kept on `request.state`).
        Raises StoreUnavailable when the database fails."""
        if not hasattr(request.state, "web_session"):
            request.state.web_session = await self._read(request)
        session: WebSession | None = request.state.web_session
        return session

    async def _read(self, request: Request) -> WebSession | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        session = self._signer.read(cookie) if cookie else None
        if session is None or await self._keys.find_active(session.key_id) is None:
            return None
        return session

    async def verify(self, presented: str) -> ApiKey | None:
        """The active key `presented` (a key's full text) is, or None."""
        return await self._keys.verify(presented)

    def start(self, response: Response, request: Request, key: ApiKey) -> None:
        """Sets the cookie of a new session of `key` on `response`."""
        response.set_cookie(
            SESSION_COOKIE,
            self._signer.issue(key),
            max_age=self._signer.ttl_s,
            path="/",
            secure=_over_https(request),
            httponly=True,
            samesite="strict",
        )

    def end(self, response: Response, request: Request) -> None:
        """Tells the browser to drop the session's cookie."""
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=_over_https(request), httponly=True, samesite="strict"
        )


def _over_https(request: Request) -> bool:
    """Behind a TLS proxy named in OFFLINETUBE_FORWARDED_ALLOW_IPS, uvicorn has already made
    the scheme the proxy's `X-Forwarded-Proto`."""
    return request.url.scheme == "https"


async def get_web_sessions(request: Request) -> WebSessions:
    sessions: WebSessions = request.app.state.web_sessions
    return sessions


WebSessionsDep = Annotated[WebSessions, Depends(get_web_sessions)]
